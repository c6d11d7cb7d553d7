-- wrk: POST .../events, one event of an assigned subject per request.
local token = os.getenv("BENCH_TOKEN")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time() + 7)
function request()
    local body = '{"subjectId": "u' .. math.random(1, 100000) .. '", "eventKey": "purchase", "value": 1}'
    return wrk.format("POST", "/api/experiments/bench/events", nil, body)
end
function delay()
    return pause
end
