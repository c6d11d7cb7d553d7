-- wrk: GET .../assignment for a returning subject (u1..u100000 are assigned by bench/setup.sql).
-- BENCH_DELAY_MS paces each connection (the half-peak run); 0 = as fast as possible.
local token = os.getenv("BENCH_TOKEN")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
wrk.headers["Authorization"] = "Bearer " .. token
math.randomseed(os.time())
function request()
    return wrk.format("GET", "/api/experiments/bench/assignment?subjectId=u" .. math.random(1, 100000))
end
function delay()
    return pause
end
