#!/usr/bin/env bash
# make bench-http: abx-http under wrk against pgbench over TCP running the same SQL function, on
# one cluster in one run (docs/benchmarks.md, "HTTP gateway").
#   GET /api/experiments/bench/assignment (returning subjects) and POST .../events (one event):
#   wrk and pgbench each with BENCH_CONNECTIONS (32) connections for BENCH_SECONDS (10); then wrk
#   paced to half of its peak rate for the p99 there. Results in build/bench/http.md.
#   Also: the gateway's peak RSS growth for a 10 MB body.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
seconds="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-32}"
out="build/bench"; logs="$out/http-logs"
source bench/lib.sh
bench_prepare_gateway "$logs"

envfile="$(bash scripts/cluster.sh start bench-http --fresh)"
trap 'bash scripts/gateway.sh stop bench-http; bash scripts/cluster.sh stop bench-http' EXIT
source "$envfile"; export PGHOST PGPORT PGUSER
export PGDATABASE=abx_bench
psql -X -q -d postgres -c "CREATE DATABASE abx_bench" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -f bench/setup.sql >"$logs/setup.log" 2>&1 || { cat "$logs/setup.log"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_http_service') THEN
    CREATE ROLE bench_http_service LOGIN PASSWORD 'bench';
  END IF;
END $$;
GRANT abx_service TO bench_http_service;
SQL
gw_env="$(bash scripts/gateway.sh start bench-http "pool_size = ${BENCH_POOL:-8}" "threads = ${BENCH_THREADS:-2}" "rate_limit_api = 0")"
source "$gw_env"
export BENCH_TOKEN="$("$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --role abx_service --ttl 86400)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$ABX_GATEWAY_PID/stat"; }
wrk_run() {  # wrk_run NAME SCRIPT CONNECTIONS DELAY_MS → "rps p50_ms p99_ms non2xx"
    BENCH_DELAY_MS="$4" wrk -t2 -c"$3" -d"${seconds}s" --latency -s "bench/http/$2" "$ABX_GATEWAY_URL" \
        >"$logs/$1.log" 2>&1
    python3 - "$logs/$1.log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s+" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f} {non2xx.group(1) if non2xx else 0}")
PY
}
pgbench_tps() {  # pgbench_tps NAME SCRIPT → tps
    PGPASSWORD=bench "$PG_BIN/pgbench" -h 127.0.0.1 -U bench_http_service -n -M prepared -c "$conns" -j 2 \
        -T "$seconds" -f "bench/http/$2" abx_bench >"$logs/$1.log" 2>&1
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$logs/$1.log" | head -n1
}

results="$out/http.md"
{
    echo "| route | wrk req/s | p50 ms | p99 ms | gateway CPU | pgbench tps (same function, TCP) | ratio | p99 ms at half peak |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$results"
for bench in assignment events; do
    say "$bench: pgbench"
    tps="$(pgbench_tps "${bench}_pgbench" "${bench}_pgbench.sql")"
    say "$bench: wrk at full speed ($conns connections)"
    ticks_before=$(cpu_ticks)
    read -r rps p50 p99 bad <<<"$(wrk_run "${bench}_wrk" "$bench.lua" "$conns" 0)"
    gateway_cpu=$(python3 -c "print(f'{($(cpu_ticks) - $ticks_before) / $(getconf CLK_TCK) / $seconds * 100:.0f}')")
    [ "$bad" = 0 ] || { echo "wrk saw $bad non-2xx answers: see $logs/${bench}_wrk.log"; exit 1; }
    # Half of the peak: each of $conns connections waits conns*1000/(rps/2) ms between requests,
    # less about 1 ms for the request itself (its latency when the gateway is not saturated).
    delay=$(python3 -c "print(max(0, round($conns * 1000 / ($rps / 2) - 1)))")
    say "$bench: wrk paced to half of the peak (delay ${delay} ms per connection)"
    read -r half_rps _ half_p99 _ <<<"$(wrk_run "${bench}_wrk_half" "$bench.lua" "$conns" "$delay")"
    ratio=$(python3 -c "print(f'{$rps / $tps:.2f}')")
    printf '| %s | %s | %s | %s | %s %% | %s | %s | %s (at %s req/s) |\n' "$bench" "$rps" "$p50" "$p99" \
        "$gateway_cpu" "$(printf '%.0f' "$tps")" "$ratio" "$half_p99" "$half_rps" >>"$results"
done
cat "$results"
echo "logs: $logs/"
