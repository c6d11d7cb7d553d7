#!/usr/bin/env bash
# make bench-ui: the ops page's files from abx-http under wrk, against the gateway's own cheapest
# answer (GET /health: no database, no file), in one run on one gateway (docs/benchmarks.md,
# "The ops page's files"). Also what a first page load and a reload transfer.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
seconds="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-32}"
out="build/bench"; logs="$out/ui-logs"
source bench/lib.sh
bench_prepare_gateway "$logs"
envfile="$(bash scripts/cluster.sh start bench-ui --fresh)"
trap 'bash scripts/gateway.sh stop bench-ui; bash scripts/cluster.sh stop bench-ui' EXIT
source "$envfile"; export PGHOST PGPORT PGUSER
psql -X -q -d postgres -c "CREATE EXTENSION abx" >/dev/null
source "$(bash scripts/gateway.sh start bench-ui "threads = ${BENCH_THREADS:-2}" "rate_limit_public = 0")"
rps() { wrk -t2 -c"$conns" -d"${seconds}s" "$ABX_GATEWAY_URL$1" | sed -n 's/^Requests\/sec: *//p'; }
{
    echo "| path | bytes | requests/s | ratio to /health |"
    echo "| --- | ---: | ---: | ---: |"
    base="$(rps /health)"
    echo "| /health | $(curl -s "$ABX_GATEWAY_URL/health" | wc -c) | $base | 1.00 |"
    for p in /ui/ /ui/app.css /ui/js/pages/create.js /ui/vendor/chart.min.js; do
        r="$(rps "$p")"
        printf '| %s | %s | %s | %.2f |\n' "$p" "$(curl -s "$ABX_GATEWAY_URL$p" | wc -c)" "$r" "$(awk -v a="$r" -v b="$base" 'BEGIN { print a / b }')"
    done
    # A first load: the page and every file it names (modules import each other); a reload: 304s.
    files="/ui/ /ui/app.css /ui/favicon.svg /ui/vendor/chart.min.js $(cd src/ui && find js -name '*.js' | sed 's|^|/ui/|' | tr '\n' ' ')"
    total=0; n=0; unchanged=0
    for f in $files; do
        total=$((total + $(curl -s "$ABX_GATEWAY_URL$f" | wc -c))); n=$((n + 1))
        etag="$(curl -sI "$ABX_GATEWAY_URL$f" | sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^\r]*\).*/\1/p')"
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$ABX_GATEWAY_URL$f")" = 304 ] &&
            unchanged=$((unchanged + 1))
    done
    echo
    echo "First load: $n files, $total bytes. A reload: $unchanged of $n conditional requests answered 304 (no body)."
} | tee "$out/ui.md"
