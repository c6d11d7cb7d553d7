#!/usr/bin/env bash
# Aggregation and analysis benchmarks (make bench-analysis), on a throwaway cluster:
#   1. abx.aggregate() over N events from scratch vs a plain GROUP BY over the same table
#   2. an incremental run over 10,000 new events on top of those N
#   3. abx.results() for 10 variants x 10 metrics, and abx.running_results over 1,000 experiments
#   4. bandit assignment vs plain hashed assignment (pgbench, new subjects)
# BENCH_EVENTS (default 10,000,000) sets N. Figures go to build/bench/aggregation.md.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
events="${BENCH_EVENTS:-10000000}"
out="build/bench"
mkdir -p "$out"
report="$out/aggregation.md"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    make -j"$(nproc)" >/dev/null 2>&1 && $SUDO make install >/dev/null 2>&1 || { echo "build failed"; exit 1; }
fi
envfile="$(bash scripts/cluster.sh start bench-aggregation --fresh)"
trap 'bash scripts/cluster.sh stop bench-aggregation' EXIT
source "$envfile"
export PGHOST PGPORT PGUSER PGDATABASE=abx_bench_aggregation
psql -X -q -d postgres -c "ALTER SYSTEM SET work_mem = '256MB'" -c "ALTER SYSTEM SET max_wal_size = '8GB'" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE abx_bench_aggregation"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# Milliseconds of one statement, measured by the server's clock around it.
timed() {
    q -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN PERFORM count(*) FROM ($1) x; RAISE NOTICE 'ms=%', round(extract(epoch FROM clock_timestamp() - t0) * 1000); END \$\$" 2>&1 | sed -n 's/.*ms=\([0-9]*\).*/\1/p'
}

say "fixture: $events events over 1,000,000 subjects"
t0=$SECONDS
q -v events="$events" -f bench/aggregation/setup.sql >/dev/null
echo "fixture ready in $((SECONDS - t0)) s"
q -c "CHECKPOINT"
q -c "SELECT count(*) FROM abx.events" >/dev/null  # warm the cache

say "1. from scratch: plain GROUP BY vs abx.aggregate()"
group_by_sql="SELECT experiment_id, variant_id, event_key, date_bin('1 hour', ts, 'epoch'), count(*), sum(value), sum(value * value), min(value), max(value) FROM abx.events GROUP BY 1, 2, 3, 4"
subject_sql="SELECT experiment_id, organization_id, subject, variant_id, event_key, count(*), sum(value) FROM abx.events GROUP BY 1, 2, 3, 4, 5"
gb1=$(timed "$group_by_sql"); gb2=$(timed "$group_by_sql")
gb=$(( gb1 < gb2 ? gb1 : gb2 ))
sb1=$(timed "$subject_sql"); sb2=$(timed "$subject_sql")
sb=$(( sb1 < sb2 ? sb1 : sb2 ))
t=$(date +%s%3N); q -c "SELECT events FROM abx.aggregate('agg')" >/dev/null; agg=$(( $(date +%s%3N) - t ))
echo "plain bucket GROUP BY: $gb ms; plain per-subject GROUP BY: $sb ms; abx.aggregate from scratch: $agg ms"

say "2. incremental: 10,000 new events on top"
q -c "INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
      SELECT experiment_id, 0, subject, variant_id, 'purchase', 25, now() FROM abx.assignments
       WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'agg') LIMIT 10000"
t=$(date +%s%3N); inc_events=$(q -c "SELECT events FROM abx.aggregate('agg')"); inc=$(( $(date +%s%3N) - t ))
t=$(date +%s%3N); q -c "SELECT events FROM abx.aggregate('agg')" >/dev/null; empty=$(( $(date +%s%3N) - t ))
echo "incremental run over $inc_events events: $inc ms; a run with nothing new: $empty ms"

say "3. abx.results"
q -f - >/dev/null <<'SQL'
SELECT abx.create_experiment(jsonb_build_object(
  'code', 'wide', 'salt', 'wide',
  'variants', (SELECT jsonb_agg(jsonb_build_object('key', 'v' || i)) FROM generate_series(1, 10) i),
  'metrics', jsonb_build_object(
     'primary', jsonb_build_object('key', 'm1', 'kind', 'rate', 'event', 'e1'),
     'secondary', (SELECT jsonb_agg(jsonb_build_object('key', 'm' || i, 'kind', CASE WHEN i % 2 = 0 THEN 'sum' ELSE 'rate' END, 'event', 'e' || i))
                     FROM generate_series(2, 10) i))));
SELECT abx.start('wide');
SELECT count(abx.assign('wide', 'w' || i)) FROM generate_series(1, 20000) i;
SELECT count(*) FROM generate_series(1, 20000) i, generate_series(1, 10) e,
       LATERAL abx.track_batch(jsonb_build_array(jsonb_build_object('experiment', 'wide', 'subject', 'w' || i, 'event', 'e' || e, 'value', (i * e) % 7)))
 WHERE (i + e) % 9 = 0;
SELECT count(*) FROM abx.aggregate('wide');
SQL
w1=$(timed "SELECT * FROM abx.results('wide')"); w2=$(timed "SELECT * FROM abx.results('wide')")
wide=$(( w1 < w2 ? w1 : w2 ))
q -f - >/dev/null <<'SQL'
SELECT count(abx.create_experiment(jsonb_build_object(
  'code', 'many-' || i, 'salt', 'many-' || i,
  'variants', jsonb_build_array(jsonb_build_object('key', 'a'), jsonb_build_object('key', 'b')),
  'metrics', jsonb_build_object('primary', jsonb_build_object('key', 'conversion', 'kind', 'rate', 'event', 'buy'),
                                'secondary', jsonb_build_array(jsonb_build_object('key', 'revenue', 'kind', 'sum', 'event', 'buy'))))))
  FROM generate_series(1, 998) i;
SELECT count(abx.start('many-' || i)) FROM generate_series(1, 998) i;
SELECT count(abx.assign('many-' || i, 's' || s)) FROM generate_series(1, 998) i, generate_series(1, 20) s;
SELECT count(*) FROM generate_series(1, 998) i, LATERAL abx.track('many-' || i, 's1', 'buy', 10);
SELECT count(*) FROM abx.aggregate();
SQL
running=$(q -c "SELECT count(*) FROM abx.experiments WHERE status = 'running'")
m1=$(timed "SELECT * FROM abx.running_results"); m2=$(timed "SELECT * FROM abx.running_results")
many=$(( m1 < m2 ? m1 : m2 ))
echo "abx.results, 10 variants x 10 metrics: $wide ms; abx.running_results over $running experiments: $many ms"

say "4. bandit vs hashed assignment (pgbench, new subjects)"
q -f - >/dev/null <<'SQL'
SELECT abx.create_experiment('{"code": "hashed", "salt": "h", "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "cr", "kind": "rate", "event": "click"}}}');
SELECT abx.create_experiment('{"code": "bandit", "kind": "bandit", "salt": "b", "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "cr", "kind": "rate", "event": "click"}}, "analysis": {"bandit": {"min_share": 0.05}}}');
SELECT abx.start('hashed'), abx.start('bandit');
SELECT count(abx.assign('bandit', 'seed' || i)) FROM generate_series(1, 3000) i;
SELECT count(*) FROM generate_series(1, 3000) i, LATERAL abx.track('bandit', 'seed' || i, 'click') WHERE i % 7 = 0;
SELECT count(*) FROM abx.aggregate('bandit');
SQL
printf '%s\n' "\\set s random(1, 2000000000)" "SELECT variant FROM abx.assign('hashed', 'n' || :s);" >"$out/assign_hashed.sql"
printf '%s\n' "\\set s random(1, 2000000000)" "SELECT variant FROM abx.assign('bandit', 'n' || :s);" >"$out/assign_bandit.sql"
tps() { "$PG_BIN/pgbench" -n -M prepared -c1 -j1 -T "${BENCH_SECONDS:-8}" -f "$1" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
h=(); b=()
for r in 1 2 3; do h+=("$(tps "$out/assign_hashed.sql")"); b+=("$(tps "$out/assign_bandit.sql")"); done
median() { printf '%s\n' "$@" | sort -g | sed -n '2p'; }
hm=$(median "${h[@]}"); bm=$(median "${b[@]}")
ratio=$(python3 -c "print(f'{$bm / $hm:.2f}')")
echo "hashed assign: $hm tps; bandit assign: $bm tps; ratio $ratio"

{
    echo "| benchmark | figure |"
    echo "| --- | --- |"
    echo "| plain bucket GROUP BY over $events events | $gb ms |"
    echo "| plain per-subject GROUP BY over $events events | $sb ms |"
    echo "| abx.aggregate() from scratch (buckets + per-subject + per-variant) | $agg ms ($(python3 -c "print(f'{$agg / $gb:.2f}')")x bucket GROUP BY, $(python3 -c "print(f'{$agg / ($gb + $sb):.2f}')")x both GROUP BYs) |"
    echo "| abx.aggregate() incremental, $inc_events new events on top | $inc ms ($(python3 -c "print(f'{$inc / $agg:.4f}')") of from scratch) |"
    echo "| abx.aggregate() with nothing new | $empty ms |"
    echo "| abx.results(), 10 variants x 10 metrics | $wide ms |"
    echo "| abx.running_results, $running running experiments | $many ms |"
    echo "| assign new subject: hashed / bandit tps | $hm / $bm (ratio $ratio) |"
} | tee "$report"
