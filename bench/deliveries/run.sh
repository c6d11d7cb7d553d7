#!/usr/bin/env bash
# make bench-deliveries: abx-http's deliverer against the receiver's own capacity, on one machine in
# one run (docs/benchmarks.md, "Deliveries").
#   A backlog of BENCH_EVENTS (2000) status changes over BENCH_EXPERIMENTS (200) experiments, one
#   webhook target, is written while no gateway delivers; then abx-http starts with deliver = on
#   and the time until none is pending gives deliveries/s, for deliver_batch 16 and 64. The same
#   receiver (tests/gateway/delivery_sinks.py, Python's ThreadingHTTPServer appending each POST to
#   a file) is driven by wrk with as many connections and a body of the same size: the ratio is
#   how close the deliverer comes to what the receiver can take. Results in build/bench/deliveries.md.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
events="${BENCH_EVENTS:-2000}"
experiments="${BENCH_EXPERIMENTS:-200}"
out="build/bench"; logs="$out/deliveries-logs"
source bench/lib.sh
bench_prepare_gateway "$logs"

envfile="$(bash scripts/cluster.sh start bench-deliveries --fresh)"
receiver_pid=""
trap 'bash scripts/gateway.sh stop bench-deliveries; bash scripts/cluster.sh stop bench-deliveries; [ -n "$receiver_pid" ] && kill $receiver_pid 2>/dev/null || true' EXIT
source "$envfile"; export PGHOST PGPORT PGUSER
export PGDATABASE=abx_bench_deliveries
psql -X -q -d postgres -c "CREATE DATABASE $PGDATABASE" >/dev/null
psql -X -q -c "CREATE EXTENSION abx" >/dev/null
port="$(free_port)"
start_receiver() {
    rm -f "$logs/received.log"
    python3 tests/gateway/delivery_sinks.py http "$port" "$logs/received.log" >"$logs/receiver.out" 2>&1 &
    receiver_pid=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done  # a GET: not logged
}
stop_receiver() { kill "$receiver_pid" 2>/dev/null || true; wait "$receiver_pid" 2>/dev/null || true; receiver_pid=""; }

backlog() {  # a fresh backlog of $events status changes on $experiments experiments
    psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT abx.delete_delivery_target(t ->> 'name') FROM jsonb_array_elements(abx.delivery_targets()) t;
SELECT abx.create_delivery_target(jsonb_build_object('name', 'bench', 'kind', 'webhook',
    'url', 'http://127.0.0.1:$port/abx', 'secret', 'bench-secret-0123456789'));
DO \$\$
DECLARE n int := 0;
BEGIN
    FOR i IN 1 .. $experiments LOOP
        IF NOT EXISTS (SELECT FROM abx.experiments WHERE code = 'bench-' || i) THEN
            PERFORM abx.create_experiment(jsonb_build_object('code', 'bench-' || i, 'variants',
                jsonb_build_array(jsonb_build_object('key', 'a', 'is_control', true), jsonb_build_object('key', 'b'))));
            PERFORM abx.start('bench-' || i);
        END IF;
    END LOOP;
    WHILE n < $events LOOP
        FOR i IN 1 .. $experiments LOOP
            EXIT WHEN n >= $events;
            IF n / $experiments % 2 = 0 THEN PERFORM abx.pause('bench-' || i); ELSE PERFORM abx.resume('bench-' || i); END IF;
            n := n + 1;
        END LOOP;
    END LOOP;
END \$\$;
SQL
}
pending() { psql -X -At -c "SELECT count(*) FROM abx.deliveries WHERE status = 'pending'"; }

run_deliverer() {  # run_deliverer BATCH → deliveries per second
    backlog
    local want; want="$(pending)"
    start_receiver
    local t0; t0="$(date +%s.%N)"
    bash scripts/gateway.sh start bench-deliveries deliver=on outbound_allow_private=on "deliver_batch=$1" \
        deliver_poll_ms=200 >/dev/null
    while [ "$(pending)" != 0 ]; do sleep 0.05; done
    local t1; t1="$(date +%s.%N)"
    bash scripts/gateway.sh stop bench-deliveries
    local got; got="$(wc -l <"$logs/received.log")"
    cp "$logs/received.log" "$logs/received-batch-$1.log"
    stop_receiver
    python3 -c "import sys; w, g, t = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3]); print(f'{w} {g} {t:.2f} {w / t:.0f}')" \
        "$want" "$got" "$t0" "$t1"
}
receiver_capacity() {  # receiver_capacity CONNECTIONS → requests per second under wrk
    start_receiver
    wrk -t2 -c"$1" -d10s -s bench/deliveries/post.lua "http://127.0.0.1:$port/abx" >"$logs/wrk-$1.log" 2>&1
    stop_receiver
    sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$logs/wrk-$1.log" | cut -d. -f1
}

{
    echo "| deliver_batch | deliveries | received | seconds | deliveries/s | receiver under wrk (same connections), req/s | ratio |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for batch in 16 64; do
        read -r want got secs rate <<<"$(run_deliverer "$batch")"
        cap="$(receiver_capacity "$batch")"
        ratio="$(python3 -c "print(f'{$rate / $cap:.2f}')")"
        echo "| $batch | $want | $got | $secs | $rate | $cap | **$ratio** |"
    done
} | tee "$out/deliveries.md"
echo "(make bench-deliveries; $events status changes over $experiments experiments, one webhook target)" | tee -a "$out/deliveries.md"
