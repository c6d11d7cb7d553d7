#!/usr/bin/env bash
# pg_dump / pg_restore of a database using abx into a fresh cluster: the restore is clean (no
# error), identity sequences continue, assignments stay sticky, and aggregation counts the events
# of both clusters exactly once (the first run after the restore rebuilds). The same operations on
# the source give the reference results.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
work="$(abx_state_dir)/restore-test"
rm -rf "$work"; mkdir -p "$work"; [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$work"
src_env="$(bash scripts/cluster.sh start restore-src --fresh)"
dst_env="$(bash scripts/cluster.sh start restore-dst --fresh)"
trap 'bash scripts/cluster.sh stop restore-src; bash scripts/cluster.sh stop restore-dst' EXIT
on() { (source "$1"; shift; PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" "$@"); }
q() { local env="$1"; shift; on "$env" psql -X -q -At -v ON_ERROR_STOP=1 -d abx_restore "$@"; }
fails=0
check() {  # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}

on "$src_env" createdb abx_restore
q "$src_env" >/dev/null <<'SQL'
CREATE EXTENSION abx;
SET abx.pinned_now = '2026-04-01 10:00:00+00';
SELECT abx.create_organization('acme');
SELECT abx.create_experiment('{"code": "btn", "salt": "btn", "variants": [{"key": "a"}, {"key": "b"}],
  "metrics": {"primary": {"key": "conv", "kind": "rate", "event": "buy"},
              "secondary": [{"key": "revenue", "kind": "sum", "event": "buy"}]}}');
SELECT abx.create_experiment('{"code": "btn", "salt": "btn-acme", "variants": [{"key": "x"}, {"key": "y"}],
  "metrics": {"primary": {"key": "conv", "kind": "rate", "event": "buy"}}}', 'acme');
SELECT abx.start('btn'); SELECT abx.start('btn', 'acme');
SELECT count(*) FROM generate_series(1, 400) i, LATERAL abx.assign('btn', 'u' || i);
SELECT count(*) FROM generate_series(1, 200) i, LATERAL abx.assign('btn', 'u' || i, '{}', 'acme');
-- Events on three days (daily partitions and the default one), some aggregated before the dump.
SELECT count(*) FROM generate_series(1, 400, 3) i, LATERAL abx.track('btn', 'u' || i, 'buy', i % 7, '2026-03-31 12:00:00+00');
SELECT count(*) FROM abx.aggregate();
SELECT count(*) FROM generate_series(2, 400, 5) i, LATERAL abx.track('btn', 'u' || i, 'buy', i % 5, '2026-04-01 08:00:00+00');
SELECT count(*) FROM generate_series(1, 200, 4) i, LATERAL abx.track('btn', 'u' || i, 'buy', 1, organization => 'acme');
SELECT count(*) FROM generate_series(1, 50) i, LATERAL abx.track('btn', 'u' || i, 'view', 1, '2020-01-01 00:00:00+00');
SQL
on "$src_env" pg_dump -Fc -d abx_restore -f "$work/abx.dump"
looks="SELECT (SELECT count(*) FROM abx.result_looks) || ' ' || (SELECT count(*) FROM abx.bandit_looks)"
looks_dumped="$(q "$src_env" -c "$looks")"
on "$dst_env" createdb abx_restore
restore_out="$(on "$dst_env" pg_restore -d abx_restore "$work/abx.dump" 2>&1)"; restore_rc=$?
check "pg_restore exits 0" 0 "$restore_rc"
check "pg_restore prints no error" "" "$restore_out"

check "the source had looks to dump (4 variant x metric rows of btn, 2 of acme's)" "6 0" "$looks_dumped"
check "the looks come back (results over time)" "$looks_dumped" "$(q "$dst_env" -c "$looks")"

# The same work on both sides after the dump; then both aggregate and must agree.
after='
SET abx.pinned_now = '\''2026-04-01 11:00:00+00'\'';
SELECT count(*) FROM generate_series(1, 400, 2) i, LATERAL abx.track('\''btn'\'', '\''u'\'' || i, '\''buy'\'', 3);
SELECT count(*) FROM generate_series(401, 450) i, LATERAL abx.assign('\''btn'\'', '\''u'\'' || i);
SELECT count(*) FROM generate_series(401, 450, 2) i, LATERAL abx.track('\''btn'\'', '\''u'\'' || i, '\''buy'\'', 2);
SELECT count(*) FROM generate_series(3, 200, 4) i, LATERAL abx.track('\''btn'\'', '\''u'\'' || i, '\''buy'\'', 1, organization => '\''acme'\'');'
q "$src_env" -c "$after" >/dev/null
q "$dst_env" -c "$after" >/dev/null

sticky="SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 450) i, LATERAL abx.assignment('btn', 'u' || i) a"
check "assignments are sticky after the restore" "$(q "$src_env" -c "$sticky")" "$(q "$dst_env" -c "$sticky")"
check "first aggregation after the restore rebuilds" "rebuilt,rebuilt" \
    "$(q "$dst_env" -c "SELECT string_agg(status, ',' ORDER BY organization_key NULLS FIRST) FROM abx.aggregate()")"
q "$src_env" -c "SELECT count(*) FROM abx.aggregate()" >/dev/null
check "the next run is a normal one" "ok,ok" \
    "$(q "$dst_env" -c "SELECT string_agg(status, ',' ORDER BY organization_key NULLS FIRST) FROM abx.aggregate()")"
q "$src_env" -c "SELECT count(*) FROM abx.aggregate()" >/dev/null
results="SELECT string_agg(concat_ws(' ', variant, metric, n, round(mean::numeric, 10), round(p_value::numeric, 10)), '; ' ORDER BY variant, metric) FROM abx.results('btn')"
check "results agree with the source (global)" "$(q "$src_env" -c "$results")" "$(q "$dst_env" -c "$results")"
results_acme="SELECT string_agg(concat_ws(' ', variant, metric, n, round(mean::numeric, 10)), '; ' ORDER BY variant, metric) FROM abx.results('btn', 'acme')"
check "results agree with the source (organization)" "$(q "$src_env" -c "$results_acme")" "$(q "$dst_env" -c "$results_acme")"
timeline="SELECT string_agg(concat_ws(' ', l->>'run', l->>'variant', l->>'metric', l->>'n', round((l->>'mean')::numeric, 10)), '; ') FROM jsonb_array_elements(abx.timeline('btn')->'looks') l"
check "the timelines agree with the source, look for look" "$(q "$src_env" -c "$timeline")" "$(q "$dst_env" -c "$timeline")"
totals="SELECT sum(events_total) FROM abx.aggregation_state"
check "every event counted once" "$(q "$src_env" -c "$totals")" "$(q "$dst_env" -c "$totals")"
check "events in the tables match the aggregated total" "$(q "$dst_env" -c "SELECT count(*) FROM abx.events")" "$(q "$dst_env" -c "$totals")"
# Identity sequences were dumped: new rows get new ids.
check "a new organization after the restore" "t" "$(q "$dst_env" -c "SELECT abx.create_organization('initech') > 0")"
check "a new experiment after the restore" "draft" \
    "$(q "$dst_env" -c "SELECT abx.create_experiment('{\"code\": \"new\", \"variants\": [{\"key\": \"a\"}, {\"key\": \"b\"}]}')->>'status'")"
# Daily partitions came back as partitions, each with its aggregation index.
check "partitions restored with their index" "$(q "$src_env" -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'abx.events'::regclass")" \
    "$(q "$dst_env" -c "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid WHERE i.inhparent = 'abx.events'::regclass")"
check "the audit chain verifies after the restore" "t" "$(q "$dst_env" -c "SELECT ok FROM abx.verify_audit()")"
check "the restored audit log is the source's" "$(q "$src_env" -c "SELECT max(seq) FROM abx.audit_log WHERE action = 'experiment.start'")" \
    "$(q "$dst_env" -c "SELECT max(seq) FROM abx.audit_log WHERE action = 'experiment.start'")"
echo "dump_restore: $fails failed"
[ "$fails" = 0 ]
