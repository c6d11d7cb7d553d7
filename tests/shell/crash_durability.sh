#!/usr/bin/env bash
# Acknowledged events survive a crash (docs/operations.md, "Durability"): with
# synchronous_commit = on (what abx requires), every abx.track a client saw acknowledged before
# `pg_ctl stop -m immediate` (no shutdown checkpoint, crash recovery at the next start) is there
# after the restart. Test clusters run with synchronous_commit = off; this one is set to on.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start crash --fresh)"
trap 'bash scripts/cluster.sh stop crash' EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
data="$(abx_state_dir)/crash/data"
work="$(abx_state_dir)/crash"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d crashdb "$@"; }
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
psql -X -q -d postgres -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
createdb crashdb
q >/dev/null <<'SQL'
CREATE EXTENSION abx;
SELECT abx.create_experiment('{"code": "dur", "salt": "dur", "variants": [{"key": "a"}, {"key": "b"}]}');
SELECT abx.start('dur');
SELECT count(*) FROM generate_series(1, 50) i, abx.assign('dur', 'u' || i);
SQL
check "synchronous_commit is on" "on" "$(q -c "SHOW synchronous_commit")"
# A client tracking one event per transaction, printing each idempotency key once acknowledged.
ack="$work/acknowledged"
: >"$ack"
(
    for i in $(seq 1 100000); do
        if psql -X -q -At -d crashdb -c "SELECT abx.track('dur', 'u' || ($i % 50 + 1), 'buy', idempotency_key => 'e$i')" >/dev/null 2>&1; then
            echo "e$i" >>"$ack"
        else
            break
        fi
    done
) &
client=$!
sleep 4
as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate stop >/dev/null
wait "$client" 2>/dev/null
acknowledged=$(wc -l <"$ack")
bash scripts/cluster.sh start crash >/dev/null
check "the client saw events acknowledged before the crash (${acknowledged})" "t" "$([ "$acknowledged" -gt 20 ] && echo t || echo f)"
stored="$(q -c "SELECT count(*) FROM abx.events WHERE idempotency_key IN (SELECT unnest(string_to_array('$(paste -sd, "$ack")', ',')))")"
check "every acknowledged event is there after crash recovery" "$acknowledged" "$stored"
check "no event is stored twice" "0" "$(q -c "SELECT count(*) FROM (SELECT idempotency_key FROM abx.events GROUP BY 1 HAVING count(*) > 1) d")"
echo "crash_durability: $fails failed"
[ "$fails" -eq 0 ]
