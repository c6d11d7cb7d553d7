#!/usr/bin/env bash
# Evidence behind docs/benchmarks.md (not part of make bench; about 5 minutes). Uses the installed
# abx (run make install or make bench first) on its own throwaway cluster "bench-analysis":
#   1. bulk assignment in one statement: time for 1k..8k subjects, and the plan abx.assign's lookup
#      actually runs with (auto_explain, nested statements);
#   2. the inner statements of each abx call, counted with pg_stat_statements (track = all);
#   3. probes: the statements abx runs, sent directly and through SPI (PL/pgSQL), beside the raw
#      baselines, median tps of PROBE_ROUNDS round-robin rounds of PROBE_SECONDS each.
# Output: build/bench/analysis.md
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
seconds="${PROBE_SECONDS:-4}"
rounds="${PROBE_ROUNDS:-3}"
out="build/bench"
mkdir -p "$out"
report="$out/analysis.md"
source bench/lib.sh

envfile="$(bash scripts/cluster.sh start bench-analysis --fresh)"
trap 'bash scripts/cluster.sh stop bench-analysis' EXIT
source "$envfile"
export PGHOST PGPORT PGUSER
state="$(dirname "$envfile")"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# pg_stat_statements for part 2 (the cluster preloads abx only).
psql_q -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'abx', 'pg_stat_statements'"
as_pg "$PG_BIN/pg_ctl" -D "$state/data" -w -l "$state/postgres.log" restart >/dev/null
psql_q -d postgres -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -c "SELECT pg_reload_conf()" >/dev/null

exec > >(tee "$report")
echo "# abx benchmark analysis ($(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"

echo
echo "## 1. Bulk assignment in one statement (fresh abx.assignments)"
echo
echo "Without an organization the experiment is cached and new subjects take the fast path; with an"
echo "organization that falls back to the global experiment (never cached) every call runs the SPI lookup."
echo
psql_q -d postgres -c "CREATE DATABASE scale"
psql_q -d scale -c "CREATE EXTENSION abx" \
    -c "SELECT FROM abx.create_experiment('{\"code\": \"bench\", \"variants\": [{\"key\": \"a\", \"is_control\": true}, {\"key\": \"b\"}]}')" \
    -c "SELECT FROM abx.start('bench')" -c "SELECT abx.create_organization('acme')" >/dev/null
echo "| subjects | no organization: ms | µs per subject | organization 'acme' (global fallback): ms | µs per subject |"
echo "|---:|---:|---:|---:|---:|"
bulk_ms() {
    psql_q -d scale -c "TRUNCATE abx.assignments" >/dev/null
    psql -X -d scale -At -c '\timing on' \
        -c "SELECT count(*) FROM generate_series(1, $1) g, abx.assign('bench', 'u' || g, '{}', $2)" |
        sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
for n in 2000 4000 8000 16000; do
    a=$(bulk_ms "$n" NULL)
    b=$(bulk_ms "$n" "'acme'")
    awk -v n="$n" -v a="$a" -v b="$b" \
        'BEGIN { printf "| %d | %.0f | %.1f | %.0f | %.1f |\n", n, a, a * 1000 / n, b, b * 1000 / n }'
done
psql_q -d scale -c "TRUNCATE abx.assignments" >/dev/null
echo
echo "Plan of abx.assign's lookup at the 4000th call of one statement, organization 'acme' (auto_explain):"
echo
echo '```'
psql -X -d scale >"$out/analysis-auto_explain.txt" 2>&1 <<'SQL'
LOAD 'auto_explain';
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_level = notice;
SELECT count(*) FROM generate_series(1, 4000) g, abx.assign('bench', 'u' || g, '{}', 'acme');
SQL
# The last plan that probes assignments_pkey, with its index condition and buffers.
grep -A2 "Index Scan using assignments_pkey" "$out/analysis-auto_explain.txt" | tail -n 3 | sed 's/^ *//'
echo '```'
echo
echo "## 2. Inner statements per call (pg_stat_statements, track = all)"
psql_q -d postgres -c "CREATE DATABASE abx_bench"
psql_q -d abx_bench -f bench/setup.sql >/dev/null
psql_q -d abx_bench -f bench/analysis/probes.sql >/dev/null
psql_q -d abx_bench -c "CREATE EXTENSION pg_stat_statements" >/dev/null
experiment_id="$(psql_q -d abx_bench -At -c "SELECT id FROM abx.experiments WHERE code = 'bench'")"
for name in assign_existing assign_new track track_batch; do
    psql_q -d abx_bench -c "SELECT pg_stat_statements_reset()" >/dev/null
    "$PGBENCH" -n -M prepared -c 1 -j 1 -t 2000 -D experiment_id="$experiment_id" \
        -f "bench/${name}_abx.sql" abx_bench >/dev/null 2>&1
    echo
    echo "### $name (2000 calls)"
    echo
    echo "| calls | rows | mean exec µs (ExecutorRun+Finish) | statement |"
    echo "|---:|---:|---:|---|"
    psql_q -d abx_bench -At -F ' | ' -c "
        SELECT calls, rows, round((mean_exec_time * 1000)::numeric, 1),
               '\`' || replace(left(regexp_replace(query, '\s+', ' ', 'g'), 110), '|', '\|') || '\`'
          FROM pg_stat_statements
         WHERE query NOT LIKE '%pg_stat_statements%' AND calls >= 1000
         ORDER BY toplevel DESC, mean_exec_time DESC" |
        sed 's/^/| /; s/$/ |/'
done

echo
echo "## 3. Probes (median tps of $rounds round-robin rounds, ${seconds} s each; µs = 1e6 / tps; $([ -n "$pin_cpu" ] && echo "pgbench and its backend on CPU $pin_cpu" || echo "not pinned"))"
# pg_stat_statements off again: it taxes every nested statement.
psql_q -d postgres -c "ALTER SYSTEM RESET shared_preload_libraries"
as_pg "$PG_BIN/pg_ctl" -D "$state/data" -w -l "$state/postgres.log" restart >/dev/null
psql_q -d abx_bench -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
PROBES=(
    "bench/analysis/a0_roundtrip.sql"
    "bench/analysis/a6_function_floor.sql"
    "bench/assign_existing_raw.sql"
    "bench/analysis/a2_pk_join_variant.sql"
    "bench/analysis/a3_lookup_sql.sql"
    "bench/analysis/a4_lookup_spi.sql"
    "bench/analysis/a5_pk_spi.sql"
    "bench/assign_existing_abx.sql"
    "bench/assign_new_raw.sql"
    "bench/analysis/n2_insert_returning.sql"
    "bench/assign_new_abx.sql"
    "bench/track_raw.sql"
    "bench/analysis/t2_insert_attributed.sql"
    "bench/analysis/t3_track_sql.sql"
    "bench/analysis/t4_track_spi.sql"
    "bench/track_abx.sql"
    "bench/analysis/b0_input_only.sql"
    "bench/analysis/b1_input_jsonb_build.sql"
    "bench/track_batch_raw.sql"
    "bench/analysis/b2_insert_from_jsonb_attributed.sql"
    "bench/track_batch_abx.sql"
)
echo
echo "Round trip with and without pinning pgbench and its backend to one CPU (a0_roundtrip, 3 s):"
echo
saved_pin="$pin_cpu"
for mode in pinned unpinned pinned unpinned; do
    if [ "$mode" = pinned ]; then pin_cpu="$saved_pin"; else pin_cpu=""; fi
    pgbench_run "$out/probe.log" abx_bench -n -M prepared -c 1 -j 1 -T 3 -f bench/analysis/a0_roundtrip.sql
    awk -v m="$mode" -v t="$(pgbench_tps "$out/probe.log")" 'BEGIN { printf "- %s: %.0f tps, %.1f µs per round trip\n", m, t, 1e6 / t }'
done
pin_cpu="$saved_pin"
declare -A tps_all
for ((r = 1; r <= rounds; r++)); do
    for p in "${PROBES[@]}"; do
        pgbench_run "$out/probe.log" abx_bench -n -M prepared -c 1 -j 1 -T "$seconds" \
            -D experiment_id="$experiment_id" -f "$p" || cat "$out/probe.log" >&2
        tps=$(pgbench_tps "$out/probe.log")
        tps_all[$p]+="${tps:-0} "
    done
done
echo
echo "| probe | what | median tps | µs per call |"
echo "|---|---|---:|---:|"
for p in "${PROBES[@]}"; do
    med=$(median <<<"${tps_all[$p]}")
    what="$(sed -n '1s/^-- //p' "$p")"
    awk -v p="$(basename "$p" .sql)" -v w="$what" -v t="$med" \
        'BEGIN { printf "| %s | %s | %.0f | %.1f |\n", p, w, t, (t > 0) ? 1e6 / t : 0 }'
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
