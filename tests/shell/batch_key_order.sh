#!/usr/bin/env bash
# Two clients send batches whose idempotency keys are the same fresh keys in opposite orders, at
# the same time, many times. Keys are claimed in one global order, so the batches wait for each
# other and never deadlock; every key is stored exactly once.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start batch-order --fresh)"
trap 'bash scripts/cluster.sh stop batch-order' EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
rounds="${BATCH_ORDER_ROUNDS:-60}"
createdb abx_order
psql -X -q -d abx_order -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION abx;
SELECT abx.create_experiment('{"code": "keys", "variants": [{"key": "a"}, {"key": "b"}]}');
SELECT abx.start('keys');
SELECT abx.assign('keys', 's1');
SQL
# A barrier per round: a controller session holds advisory lock r; both clients queue on it and
# are released together into round r, so their batches run at the same time.
client() {  # client ORDER: one batch of 400 keys per round, in ORDER (ASC or DESC)
    for r in $(seq 1 "$rounds"); do
        echo "SELECT pg_advisory_lock_shared($r); SELECT pg_advisory_unlock_shared($r);"
        echo "SELECT count(*) FROM abx.track_batch((SELECT jsonb_agg(jsonb_build_object('experiment', 'keys', 'subject', 's1', 'event', 'e', 'idempotency_key', 'r$r-' || g) ORDER BY g $1) FROM generate_series(1, 400) g));"
    done | psql -X -q -At -d abx_order 2>&1 | grep -vE '^(400|t|)$' || true
}
waiting() {
    psql -X -At -d abx_order -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted"
}
ctl="$PGHOST/ctl.fifo"; rm -f "$ctl"; mkfifo "$ctl"
psql -X -q -At -d abx_order <"$ctl" >/dev/null &
exec 3>"$ctl"
echo "SELECT pg_advisory_lock(1);" >&3
sleep 0.2
client ASC >"$PGHOST/asc.log" &
client DESC >"$PGHOST/desc.log" &
for r in $(seq 1 "$rounds"); do
    for _ in $(seq 1 500); do [ "$(waiting "$r")" = 2 ] && break; sleep 0.01; done
    echo "SELECT pg_advisory_lock($((r + 1))); SELECT pg_advisory_unlock($r);" >&3
done
wait %2 %3 2>/dev/null || true
exec 3>&-
wait
errors="$(cat "$PGHOST/asc.log" "$PGHOST/desc.log")"
stored="$(psql -X -At -d abx_order -c "SELECT count(*) FROM abx.events")"
fails=0
if [ -z "$errors" ]; then echo "ok - no deadlock in $rounds rounds of opposite-order batches"; else
    echo "not ok - errors: $(echo "$errors" | sort | uniq -c | head -5)"; fails=$((fails + 1)); fi
if [ "$stored" = "$((rounds * 400))" ]; then echo "ok - every key stored once ($stored events)"; else
    echo "not ok - expected $((rounds * 400)) events, got $stored"; fails=$((fails + 1)); fi
echo "batch_key_order: $fails failed"
[ "$fails" = 0 ]
