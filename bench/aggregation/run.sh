#!/usr/bin/env bash
# Aggregation and analysis benchmarks (make bench-analysis), on a throwaway cluster:
#   1. abx.aggregate() from scratch over N events against plain SQL that computes and stores the
#      same buckets, per-subject totals and assignment counts (INSERT ... SELECT ... GROUP BY), into
#      unlogged tables without indexes and into logged tables shaped like abx's (same primary keys)
#   2. an incremental run over BENCH_NEW_EVENTS new events on top of those N, and a run with nothing new
#   3. abx.results() for 10 variants x 10 metrics, and abx.running_results over 1,000 experiments
#   4. bandit assignment vs plain hashed assignment (pgbench, new subjects, pinned as in bench/run.sh)
#
# Timing (parts 1-3): every measured statement is sent by one psql session per part with \timing on,
# one autocommit statement each (its commit included); both sides of part 1 in the same session.
# Part 1 runs BENCH_ROUNDS rounds (baselines, then abx.aggregate; a CHECKPOINT before each side;
# abx's aggregate tables are emptied between rounds so that every round starts from scratch) and
# reports medians; parts 2 and 3 are single runs or best of two. Figures go to
# build/bench/aggregation.md.
#
#   BENCH_EVENTS=10000000     events in the fixture (N)
#   BENCH_SUBJECTS=1000000    assigned subjects in the fixture (not a multiple of 7919)
#   BENCH_NEW_EVENTS=10000    events added before the incremental run (at most BENCH_SUBJECTS)
#   BENCH_ROUNDS=3            rounds of part 1 and hashed/bandit pairs of part 4
#   BENCH_SECONDS=8           length of one pgbench run (part 4)
#   BENCH_NO_BUILD=1          skip make && make install (use the installed abx)
#   BENCH_PIN=0               do not pin pgbench and its backend to one CPU (see bench/lib.sh)
# Validation in a few seconds:
#   BENCH_NO_BUILD=1 BENCH_EVENTS=20000 BENCH_SUBJECTS=2000 BENCH_NEW_EVENTS=500 BENCH_ROUNDS=1 \
#     BENCH_SECONDS=1 bash bench/aggregation/run.sh
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
events="${BENCH_EVENTS:-10000000}"
subjects="${BENCH_SUBJECTS:-1000000}"
new_events="${BENCH_NEW_EVENTS:-10000}"
rounds="${BENCH_ROUNDS:-3}"
seconds="${BENCH_SECONDS:-8}"
out="build/bench"
logs="$out/aggregation-logs"
rm -rf "$logs"
mkdir -p "$logs"
report="$out/aggregation.md"
source bench/lib.sh

revision="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src 2>/dev/null || revision+=" + uncommitted changes in src/"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    make -j"$(nproc)" >/dev/null 2>&1 && $SUDO make install >/dev/null 2>&1 || { echo "build failed"; exit 1; }
fi
envfile="$(bash scripts/cluster.sh start bench-aggregation --fresh)"
trap 'bash scripts/cluster.sh stop bench-aggregation' EXIT
source "$envfile"
db=abx_bench_aggregation
export PGHOST PGPORT PGUSER PGDATABASE="$db"
# autovacuum off: a background vacuum or analyze of a table just written (millions of rows per
# round) would land on whichever statement runs next; setup.sql vacuums the fixture itself.
psql -X -q -d postgres -c "ALTER SYSTEM SET work_mem = '256MB'" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
    -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# timed_session NAME < SCRIPT: runs SCRIPT in one psql session with \timing on. In the script,
#   \echo @@ LABEL ROUND    names the next statement's time ("Time: ... ms" of psql \timing);
#   \echo @@value NAME V    records a value (e.g. a row count captured with \gset).
# Prints "LABEL ROUND MS" and "value NAME V" lines; psql's own output is kept in $logs/NAME.log.
timed_session() {
    local name="$1"
    if ! { echo '\timing on'; cat; } | q >"$logs/$name.log" 2>&1; then
        cat "$logs/$name.log" >&2
        exit 1
    fi
    awk '/^@@value /  { print "value", $2, $3; next }
         /^@@ /       { label = $2 " " $3; next }
         /^Time: /    { if (label != "") { print label, $2; label = "" } }' "$logs/$name.log"
}
# ms LINES LABEL ROUND: the time of one labelled statement; value LINES NAME: a recorded value.
ms() { awk -v l="$2" -v r="$3" '$1 == l && $2 == r { print $3 }' <<<"$1"; }
value() { awk -v n="$2" '$1 == "value" && $2 == n { print $3 }' <<<"$1"; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "fixture: $events events over $subjects subjects"
t0=$SECONDS
q -v events="$events" -v subjects="$subjects" -f bench/aggregation/setup.sql >/dev/null
echo "fixture ready in $((SECONDS - t0)) s"
q -c "SELECT count(*) FROM abx.events" >/dev/null  # warm the cache

say "1. from scratch: abx.aggregate() vs INSERT ... SELECT ... GROUP BY ($rounds rounds)"
# The baseline: the same grain and columns as abx.metric_buckets (1-hour buckets aligned to the
# epoch, as kBucketSeconds), abx.subject_events and abx.variant_assignments, one statement each.
baseline() {  # baseline SIDE SUFFIX ROUND
    cat <<SQL
CHECKPOINT;
\\echo @@ $1_buckets $3
INSERT INTO plain.buckets$2 (experiment_id, variant_id, event_key, bucket_start, bucket_seconds,
                            count, sum, sum_sq, min, max)
SELECT experiment_id, variant_id, event_key, date_bin('1 hour', ts, 'epoch'), 3600,
       count(*), sum(value), sum(value * value), min(value), max(value)
  FROM abx.events WHERE experiment_id = :exp GROUP BY 1, 2, 3, 4;
\\echo @@ $1_subjects $3
INSERT INTO plain.subjects$2 (experiment_id, organization_id, subject, event_key, variant_id, count, sum)
SELECT experiment_id, organization_id, subject, event_key, variant_id, count(*), sum(value)
  FROM abx.events WHERE experiment_id = :exp GROUP BY 1, 2, 3, 4, 5;
\\echo @@ $1_assignments $3
INSERT INTO plain.assigned$2 (experiment_id, variant_id, assigned)
SELECT experiment_id, variant_id, count(*) FROM abx.assignments WHERE experiment_id = :exp GROUP BY 1, 2;
SQL
}
part1="$(
    {
        cat <<'SQL'
SELECT id AS exp FROM abx.experiments WHERE code = 'agg' \gset
CREATE SCHEMA plain;
CREATE UNLOGGED TABLE plain.buckets (LIKE abx.metric_buckets);
CREATE UNLOGGED TABLE plain.subjects (LIKE abx.subject_events);
CREATE UNLOGGED TABLE plain.assigned (LIKE abx.variant_assignments);
CREATE TABLE plain.buckets_keyed (LIKE abx.metric_buckets INCLUDING ALL);
CREATE TABLE plain.subjects_keyed (LIKE abx.subject_events INCLUDING ALL);
CREATE TABLE plain.assigned_keyed (LIKE abx.variant_assignments INCLUDING ALL);
SQL
        for ((r = 1; r <= rounds; r++)); do
            if ((r > 1)); then
                cat <<'SQL'
TRUNCATE plain.buckets, plain.subjects, plain.assigned,
         plain.buckets_keyed, plain.subjects_keyed, plain.assigned_keyed;
TRUNCATE abx.metric_buckets, abx.subject_events, abx.variant_assignments,
         abx.variant_metric_stats, abx.aggregation_state;
SQL
            fi
            baseline unlogged "" "$r"
            baseline keyed _keyed "$r"
            cat <<SQL
CHECKPOINT;
\\echo @@ abx $r
SELECT events AS abx_events, buckets AS abx_buckets, subjects AS abx_subjects FROM abx.aggregate('agg') \\gset
\\echo @@value abx_events_$r :abx_events
SQL
        done
        # The last round's outputs, compared: the baseline computed what abx computed.
        cat <<'SQL'
SELECT count(*) AS mismatches FROM plain.buckets p
  FULL JOIN (SELECT * FROM abx.metric_buckets WHERE experiment_id = :exp) m
 USING (experiment_id, variant_id, event_key, bucket_seconds, bucket_start)
 WHERE p.count IS DISTINCT FROM m.count OR p.min IS DISTINCT FROM m.min OR p.max IS DISTINCT FROM m.max
    OR NOT abs(p.sum - m.sum) <= 1e-9 * greatest(abs(p.sum), 1)
    OR NOT abs(p.sum_sq - m.sum_sq) <= 1e-9 * greatest(abs(p.sum_sq), 1) \gset bucket_
\echo @@value bucket_mismatches :bucket_mismatches
SELECT count(*) AS mismatches FROM plain.subjects p
  FULL JOIN (SELECT * FROM abx.subject_events WHERE experiment_id = :exp) m
 USING (experiment_id, organization_id, subject, event_key)
 WHERE p.variant_id IS DISTINCT FROM m.variant_id OR p.count IS DISTINCT FROM m.count
    OR NOT abs(p.sum - m.sum) <= 1e-9 * greatest(abs(p.sum), 1) \gset subject_
\echo @@value subject_mismatches :subject_mismatches
SELECT count(*) AS mismatches FROM plain.assigned p
  FULL JOIN (SELECT * FROM abx.variant_assignments WHERE experiment_id = :exp) m USING (experiment_id, variant_id)
 WHERE p.assigned IS DISTINCT FROM m.assigned \gset assigned_
\echo @@value assigned_mismatches :assigned_mismatches
SELECT (SELECT count(*) FROM plain.buckets) AS buckets, (SELECT count(*) FROM plain.subjects) AS subjects,
       (SELECT count(*) FROM plain.buckets_keyed) AS buckets_keyed,
       (SELECT count(*) FROM plain.subjects_keyed) AS subjects_keyed \gset rows_
\echo @@value rows_buckets :rows_buckets
\echo @@value rows_subjects :rows_subjects
\echo @@value rows_buckets_keyed :rows_buckets_keyed
\echo @@value rows_subjects_keyed :rows_subjects_keyed
SQL
    } | timed_session part1
)"
for check in bucket_mismatches subject_mismatches assigned_mismatches; do
    if [ "$(value "$part1" "$check")" != 0 ]; then
        echo "baseline and abx.aggregate() disagree: $check = $(value "$part1" "$check") (see $logs/part1.log)" >&2
        exit 1
    fi
done
if [ "$(value "$part1" rows_buckets)" != "$(value "$part1" rows_buckets_keyed)" ] ||
    [ "$(value "$part1" rows_subjects)" != "$(value "$part1" rows_subjects_keyed)" ]; then
    echo "row counts differ (see $logs/part1.log)" >&2
    exit 1
fi
for ((r = 1; r <= rounds; r++)); do
    for l in {unlogged,keyed}_{buckets,subjects,assignments} abx; do
        [ -n "$(ms "$part1" "$l" "$r")" ] || { echo "no time for $l, round $r (see $logs/part1.log)" >&2; exit 1; }
    done
    [ "$(value "$part1" "abx_events_$r")" = "$events" ] ||
        { echo "abx.aggregate() of round $r did not fold all $events events (see $logs/part1.log)" >&2; exit 1; }
done
unlogged_all="" keyed_all="" abx_all=""
for ((r = 1; r <= rounds; r++)); do
    u=$(awk -v a="$(ms "$part1" unlogged_buckets "$r")" -v b="$(ms "$part1" unlogged_subjects "$r")" \
        -v c="$(ms "$part1" unlogged_assignments "$r")" 'BEGIN { print a + b + c }')
    k=$(awk -v a="$(ms "$part1" keyed_buckets "$r")" -v b="$(ms "$part1" keyed_subjects "$r")" \
        -v c="$(ms "$part1" keyed_assignments "$r")" 'BEGIN { print a + b + c }')
    a=$(ms "$part1" abx "$r")
    printf '  round %d: baseline, unlogged %8.0f ms   baseline, keyed %8.0f ms   abx.aggregate %8.0f ms\n' "$r" "$u" "$k" "$a"
    unlogged_all+="$(fmt "$u") " keyed_all+="$(fmt "$k") " abx_all+="$(fmt "$a") "
done
unlogged=$(median <<<"$unlogged_all")
keyed=$(median <<<"$keyed_all")
agg=$(median <<<"$abx_all")
# Per statement, median over the rounds.
part_med() {
    local l="$1" all="" r
    for ((r = 1; r <= rounds; r++)); do all+="$(ms "$part1" "$l" "$r") "; done
    fmt "$(median <<<"$all")"
}
buckets_rows=$(value "$part1" rows_buckets)
subjects_rows=$(value "$part1" rows_subjects)

say "2. incremental: up to $new_events new events on top"
part2="$(timed_session part2 <<SQL
INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT experiment_id, 0, subject, variant_id, 'purchase', 25, now() FROM abx.assignments
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'agg') LIMIT $new_events;
CHECKPOINT;
\\echo @@ incremental 1
SELECT events AS inc_events FROM abx.aggregate('agg') \\gset
\\echo @@value inc_events :inc_events
\\echo @@ nothing_new 1
SELECT events AS empty_events FROM abx.aggregate('agg') \\gset
\\echo @@value empty_events :empty_events
SQL
)"
inc=$(fmt "$(ms "$part2" incremental 1)")
empty=$(fmt "$(ms "$part2" nothing_new 1)")
inc_events=$(value "$part2" inc_events)
echo "incremental run over $inc_events events: $inc ms; a run with nothing new ($(value "$part2" empty_events) events): $empty ms"

say "3. abx.results"
# Events written with plain SQL, attributed to the subjects' stored variants (as in setup.sql).
part3="$(timed_session part3 <<'SQL'
SELECT abx.create_experiment(jsonb_build_object(
  'code', 'wide', 'salt', 'wide',
  'variants', (SELECT jsonb_agg(jsonb_build_object('key', 'v' || i)) FROM generate_series(1, 10) i),
  'metrics', jsonb_build_object(
     'primary', jsonb_build_object('key', 'm1', 'kind', 'rate', 'event', 'e1'),
     'secondary', (SELECT jsonb_agg(jsonb_build_object('key', 'm' || i, 'kind', CASE WHEN i % 2 = 0 THEN 'sum' ELSE 'rate' END, 'event', 'e' || i))
                     FROM generate_series(2, 10) i)))) IS NOT NULL AS created;
SELECT abx.start('wide') IS NOT NULL AS started;
SELECT count(abx.assign('wide', 'w' || i)) FROM generate_series(1, 20000) i;
INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT a.experiment_id, 0, a.subject, a.variant_id, 'e' || e, (i * e) % 7, now()
  FROM generate_series(1, 20000) i, generate_series(1, 10) e, abx.assignments a
 WHERE (i + e) % 9 = 0 AND a.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'wide')
   AND a.organization_id = 0 AND a.subject = 'w' || i;
SELECT count(*) FROM abx.aggregate('wide');
SELECT count(*) AS wide_rows FROM abx.results('wide') \gset
\echo @@value wide_rows :wide_rows
\echo @@ results 1
SELECT count(*) FROM abx.results('wide');
\echo @@ results 2
SELECT count(*) FROM abx.results('wide');
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
SELECT count(*) AS running FROM abx.experiments WHERE status = 'running' \gset
\echo @@value running :running
SELECT count(*) AS running_rows FROM abx.running_results \gset
\echo @@value running_rows :running_rows
\echo @@ running_results 1
SELECT count(*) FROM abx.running_results;
\echo @@ running_results 2
SELECT count(*) FROM abx.running_results;
SQL
)"
best() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a < b) ? a : b }'; }
wide=$(best "$(ms "$part3" results 1)" "$(ms "$part3" results 2)")
many=$(best "$(ms "$part3" running_results 1)" "$(ms "$part3" running_results 2)")
running=$(value "$part3" running)
echo "abx.results, 10 variants x 10 metrics ($(value "$part3" wide_rows) rows): $wide ms;" \
    "abx.running_results over $running experiments ($(value "$part3" running_rows) rows): $many ms"

say "4. bandit vs hashed assignment (pgbench, new subjects, ${rounds}x hashed/bandit, ${seconds} s each)"
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
# Runs one pgbench script (pinned like bench/run.sh's pairs); prints its tps.
run_pgbench() {
    local script="$1" log="$2"
    q -c "CHECKPOINT"
    if ! pgbench_run "$log" "$db" -n -M prepared -c 1 -j 1 -T "$seconds" -f "$script" ||
        grep -qE "number of failed transactions: [1-9]|aborted" "$log"; then
        cat "$log" >&2
        exit 1
    fi
    pgbench_tps "$log"
}
hashed_all="" bandit_all=""
for ((r = 1; r <= rounds; r++)); do
    h=$(run_pgbench bench/aggregation/assign_hashed.sql "$logs/assign_hashed_$r.log")
    b=$(run_pgbench bench/aggregation/assign_bandit.sql "$logs/assign_bandit_$r.log")
    printf '  round %d: hashed %10.1f tps   bandit %10.1f tps\n' "$r" "$h" "$b"
    hashed_all+="$(fmt "$h") " bandit_all+="$(fmt "$b") "
done
hm=$(fmt "$(median <<<"$hashed_all")")
bm=$(fmt "$(median <<<"$bandit_all")")
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
{
    echo "# abx aggregation benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs, $cpu; load average before/after: $load_before / $load_after"
    echo "- $("$PG_BIN/postgres" --version), abx $revision"
    echo "- fixture: $events events over $subjects subjects; part 1: $rounds rounds, medians, each statement timed by psql \\timing in one session"
    echo "- part 4: pgbench -n -M prepared -c 1 -j 1 -T $seconds, $rounds interleaved hashed/bandit rounds, median tps; $([ -n "$pin_cpu" ] && echo "pgbench and its backend pinned to CPU $pin_cpu" || echo "not pinned")"
    echo
    echo "| benchmark | figure |"
    echo "| --- | --- |"
    echo "| baseline, unlogged tables without indexes: buckets + per-subject totals + assignment counts | $unlogged ms ($(part_med unlogged_buckets) + $(part_med unlogged_subjects) + $(part_med unlogged_assignments)) |"
    echo "| baseline, logged tables with abx's primary keys: the same three statements | $keyed ms ($(part_med keyed_buckets) + $(part_med keyed_subjects) + $(part_med keyed_assignments)) |"
    echo "| abx.aggregate() from scratch ($buckets_rows buckets, $subjects_rows per-subject rows, per-variant statistics, one sequential look) | $agg ms |"
    echo "| ratio abx / baseline, unlogged | **$(ratio "$agg" "$unlogged")** |"
    echo "| ratio abx / baseline, keyed | **$(ratio "$agg" "$keyed")** |"
    echo "| abx.aggregate() incremental, $inc_events new events on top | $inc ms ($(awk -v a="$inc" -v b="$agg" 'BEGIN { printf "%.4f", a / b }') of from scratch) |"
    echo "| abx.aggregate() with nothing new | $empty ms |"
    echo "| abx.results(), 10 variants x 10 metrics (best of 2) | $wide ms |"
    echo "| abx.running_results, $running running experiments (best of 2) | $many ms |"
    echo "| assign new subject: hashed / bandit tps | $hm / $bm (ratio $(ratio "$bm" "$hm")) |"
    echo
    echo "Every run: part 1 (ms) baseline unlogged ${unlogged_all% }; keyed ${keyed_all% }; abx ${abx_all% } ·" \
        "part 4 (tps) hashed ${hashed_all% }; bandit ${bandit_all% }"
} >"$report"
echo
cat "$report"
echo
echo "written to $report (psql and pgbench logs in $logs/)"
