#!/usr/bin/env bash
# ALTER EXTENSION abx UPDATE from the released 0.1.0 and from the released 0.3.0: the updated schema
# is the same as a fresh install's, data written under 0.1.0 still assigns (sticky), tracks and
# aggregates, data written under 0.3.0 is served by 0.4.0's HTTP routes, 0.4.0 updates to 0.5.0
# (the outward parts) with its experiments and undelivered notifications kept, and 0.5.0 to 0.6.0.
# The 0.1.0 data is written with the current library: assignments and events through abx.assign and
# abx.track (their 0.1.0 definitions), the experiment as rows (the current library's mutating
# functions need the 0.2.0 audit log); the 0.1.0 library itself is not rebuilt here.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start upgrade --fresh)"
trap 'bash scripts/cluster.sh stop upgrade' EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
q() { local db="$1"; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
createdb old_db; createdb fresh_db
q old_db >/dev/null <<'SQL'
CREATE EXTENSION abx VERSION '0.1.0';
SET abx.pinned_now = '2026-05-01 10:00:00+00';
-- The experiment as 0.1.0's create_experiment and start left it (rows written directly: this
-- library's mutating functions append to the 0.2.0 audit log, which 0.1.0 does not have).
INSERT INTO abx.experiments (code, name, salt, metrics, status, created_at, updated_at, started_at)
VALUES ('up', 'up', 'up', '{"primary": {"key": "conv", "kind": "rate", "event": "buy"}}', 'running',
        abx.now(), abx.now(), abx.now());
INSERT INTO abx.variants (experiment_id, key, name, weight, is_control, position)
SELECT id, v.key, v.key, 1, v.key = 'a', v.pos FROM abx.experiments, (VALUES ('a', 0), ('b', 1)) v(key, pos);
SELECT abx.ensure_partitions();
SELECT count(*) FROM generate_series(1, 300) i, LATERAL abx.assign('up', 'u' || i);
SELECT count(*) FROM generate_series(1, 300, 4) i, LATERAL abx.track('up', 'u' || i, 'buy');
SELECT count(*) FROM generate_series(2, 300, 4) i, LATERAL abx.track('up', 'u' || i, 'buy');
SQL
before="$(q old_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 300) i, LATERAL abx.assignment('up', 'u' || i) a")"
q old_db -c "ALTER EXTENSION abx UPDATE"
q fresh_db -c "CREATE EXTENSION abx"
check "updated to the default version" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" abx.control)" "$(q old_db -c "SELECT extversion FROM pg_extension WHERE extname = 'abx'")"

# The extension's objects, described: members, columns, indexes, triggers, function definitions.
schema='
SELECT string_agg(d, E'\''\n'\'' ORDER BY d) FROM (
  SELECT pg_describe_object(classid, objid, 0) AS d FROM pg_depend
   WHERE refclassid = '\''pg_extension'\''::regclass AND deptype = '\''e'\''
     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = '\''abx'\'')
  UNION ALL
  SELECT format('\''%s.%s %s %s %s'\'', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE n.nspname = '\''abx'\'' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname !~ '\''^events_p[0-9]'\''
  UNION ALL
  SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = '\''abx'\''::regnamespace AND c.relname !~ '\''^events_p[0-9]'\''
  UNION ALL
  SELECT format('\''%s %s %s'\'', tgrelid::regclass, tgname, tgenabled) FROM pg_trigger
   WHERE NOT tgisinternal AND tgrelid::regclass::text !~ '\''^abx.events_p[0-9]'\''
  UNION ALL
  SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = '\''abx'\''::regnamespace
  UNION ALL
  SELECT format('\''config %s %s'\'', c::regclass, cond) FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, cond)
   WHERE e.extname = '\''abx'\''
) s'
check "updated schema equals a fresh install" "$(q fresh_db -c "$schema")" "$(q old_db -c "$schema")"
check "every daily partition has its aggregation index" \
    "$(q old_db -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'abx.events'::regclass")" \
    "$(q old_db -c "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid WHERE i.inhparent = 'abx.events'::regclass")"
after="$(q old_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 300) i, LATERAL abx.assign('up', 'u' || i) a")"
check "old assignments stay sticky" "$before" "$after"
check "old data tracks" "stored" "$(q old_db -c "SELECT status FROM abx.track('up', 'u3', 'buy')")"
check "old data aggregates (every 0.1.0 event and the new one)" "ok 151" \
    "$(q old_db -c "SELECT status || ' ' || events FROM abx.aggregate('up')")"
check "results count every converted subject once (150 under 0.1.0, u3 after)" "151" \
    "$(q old_db -c "SELECT sum(mean * n)::int FROM abx.results('up') WHERE metric = 'conv'")"
check "an old experiment changes, audited" "paused true" \
    "$(q old_db -c "SELECT abx.pause('up')->>'status' || ' ' || (SELECT ok FROM abx.verify_audit())::text")"

# 0.3.0 -> 0.4.0 (the SQL of abx-http's routes).
createdb v3_db
q v3_db >/dev/null <<'SQL'
CREATE EXTENSION abx VERSION '0.3.0';
SET abx.pinned_now = '2026-05-01 10:00:00+00';
SELECT abx.create_experiment('{"code": "v3", "salt": "v3", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}');
SELECT abx.start('v3');
SELECT count(*) FROM generate_series(1, 50) i, LATERAL abx.assign('v3', 'u' || i);
SQL
before3="$(q v3_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 50) i, LATERAL abx.assignment('v3', 'u' || i) a")"
check "0.3.0 has no HTTP routes" "0" "$(q v3_db -c "SELECT count(*) FROM pg_proc WHERE proname LIKE 'http\_%'")"
q v3_db -c "ALTER EXTENSION abx UPDATE"
check "0.3.0 updated to the default version" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" abx.control)" \
    "$(q v3_db -c "SELECT extversion FROM pg_extension WHERE extname = 'abx'")"
check "0.3.0 updated schema equals a fresh install" "$(q fresh_db -c "$schema")" "$(q v3_db -c "$schema")"
after3="$(q v3_db -c "SELECT string_agg(r ->> 'variantKey', ',' ORDER BY i) FROM generate_series(1, 50) i,
    LATERAL abx.http_assignment('{\"code\": \"v3\"}', jsonb_build_object('subjectId', 'u' || i), 'null') r")"
check "0.3.0 assignments stay sticky through the HTTP route" "$before3" "$after3"
check "a 0.3.0 experiment tracks through the HTTP route" "1" \
    "$(q v3_db -c "SELECT abx.http_events('{\"code\": \"v3\"}', '{\"subjectId\": \"u1\"}', '{\"eventKey\": \"buy\"}') ->> 'stored'")"
check "the gateway's role reaches the readiness probe" "t" \
    "$(q v3_db -c "SET ROLE abx_gateway; SELECT abx.http_readiness('{}', '{}', 'null') ? 'checks'")"
check "the gateway's role reaches no working route" "42501" \
    "$(q v3_db -c "SET ROLE abx_gateway; DO \$\$ BEGIN PERFORM abx.http_winner('{\"code\": \"v3\"}', '{}', 'null');
        EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*NOTICE: *//p')"

# 0.4.0 -> 0.5.0 (WebSocket feed, webhooks, notifications, SLO guardrails).
createdb v4_db
q v4_db >/dev/null <<'SQL'
CREATE EXTENSION abx VERSION '0.4.0';
SET abx.pinned_now = '2026-05-01 10:00:00+00';
SELECT abx.create_experiment('{"code": "v4", "salt": "v4", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}');
SELECT abx.start('v4');
SELECT count(*) FROM generate_series(1, 50) i, LATERAL abx.assign('v4', 'u' || i);
SQL
before4="$(q v4_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 50) i, LATERAL abx.assignment('v4', 'u' || i) a")"
outbox4="$(q v4_db -c "SELECT count(*) FROM abx.outbox")"
check "0.4.0 left notifications undelivered (nothing delivered them)" "t" \
    "$(q v4_db -c "SELECT count(*) > 0 FROM abx.outbox WHERE delivered_at IS NULL")"
q v4_db -c "ALTER EXTENSION abx UPDATE"
check "0.4.0 updated to the default version" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" abx.control)" \
    "$(q v4_db -c "SELECT extversion FROM pg_extension WHERE extname = 'abx'")"
check "0.4.0 updated schema equals a fresh install" "$(q fresh_db -c "$schema")" "$(q v4_db -c "$schema")"
check "0.4.0 assignments stay sticky" "$before4" \
    "$(q v4_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 50) i, LATERAL abx.assign('v4', 'u' || i) a")"
check "0.4.0 notifications are kept, settled (no target existed to deliver them to)" "$outbox4 0" \
    "$(q v4_db -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE delivered_at IS NULL) FROM abx.outbox")"
# 0.5.0 -> 0.6.0 (the ops page's routes).
createdb v5_db
q v5_db >/dev/null <<'SQL'
CREATE EXTENSION abx VERSION '0.5.0';
SET abx.pinned_now = '2026-05-01 10:00:00+00';
SELECT abx.create_experiment('{"code": "v5", "salt": "v5", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}');
SELECT abx.start('v5');
SELECT count(*) FROM generate_series(1, 50) i, LATERAL abx.assign('v5', 'u' || i);
SQL
before5="$(q v5_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 50) i, LATERAL abx.assignment('v5', 'u' || i) a")"
q v5_db -c "ALTER EXTENSION abx UPDATE"
check "0.5.0 updated to the default version" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" abx.control)" \
    "$(q v5_db -c "SELECT extversion FROM pg_extension WHERE extname = 'abx'")"
check "0.5.0 updated schema equals a fresh install" "$(q fresh_db -c "$schema")" "$(q v5_db -c "$schema")"
check "0.5.0 assignments stay sticky" "$before5" \
    "$(q v5_db -c "SELECT string_agg(a.variant, ',' ORDER BY i) FROM generate_series(1, 50) i, LATERAL abx.assign('v5', 'u' || i) a")"
check "0.5.0 audit chain still verifies" "t" "$(q v5_db -c "SELECT ok FROM abx.verify_audit()")"
echo "upgrade: $fails failed"
[ "$fails" = 0 ]
