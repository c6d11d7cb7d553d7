#!/usr/bin/env bash
# make bench: abx's SQL API against the raw SQL it replaces, with pgbench on one throwaway cluster.
#
# Four benchmarks, each an abx pgbench script (bench/<name>_abx.sql) and one or more raw baselines
# (bench/<name>_raw.sql, and for assign_new also bench/assign_new_raw_one.sql), run interleaved
# (each baseline, then abx; repeated BENCH_ROUNDS times) for BENCH_SECONDS each, 1 client, prepared
# protocol. The median tps of each side and the ratio abx / baseline for every baseline are printed
# and written to build/bench/results.md; pgbench's own output is kept in build/bench/logs/.
#
#   BENCH_SECONDS=10   length of one pgbench run
#   BENCH_ROUNDS=3     rounds per benchmark (the median of an odd count is one run)
#   BENCH_ONLY="assign_existing track"   run only these benchmarks
#   BENCH_NO_BUILD=1   skip make && make install (use the installed abx)
#   BENCH_PIN=0        do not pin pgbench and its backend to one CPU (see bench/lib.sh)
# Validation in a few seconds: BENCH_NO_BUILD=1 BENCH_SECONDS=1 BENCH_ROUNDS=1 bash bench/run.sh
source "$(dirname "$0")/../scripts/common.sh"
cd "$ABX_ROOT"

seconds="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
out="build/bench"
logs="$out/logs"
rm -rf "$logs"
mkdir -p "$logs"

# name | what | target ratio | baseline=what it does [| baseline=...]
# A baseline "x" is the script bench/<name>_x.sql; every baseline is held to the same target.
BENCHMARKS=(
    "assign_existing|abx.assign, returning subject|0.8|raw=primary-key lookup"
    "assign_new|abx.assign, new subject|0.7|raw=INSERT ON CONFLICT DO NOTHING + SELECT (2 statements)|raw_one=one statement: INSERT ON CONFLICT DO NOTHING RETURNING, UNION ALL SELECT of a stored row"
    "track|abx.track, one event|0.7|raw=one-row INSERT"
    "track_batch|abx.track_batch, 100 events|0.7|raw=100-row INSERT ... SELECT"
)

source bench/lib.sh

# What is measured: the commit (and whether src/ differs from it) at build time.
revision="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src 2>/dev/null || revision+=" + uncommitted changes in src/"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "extension build and install"
    make -j"$(nproc)" >"$logs/build.log" 2>&1 || { tail -n 40 "$logs/build.log"; exit 1; }
    $SUDO make install >"$logs/install.log" 2>&1 || { tail -n 20 "$logs/install.log"; exit 1; }
fi

say "benchmark cluster"
envfile="$(bash scripts/cluster.sh start bench --fresh)"
trap 'bash scripts/cluster.sh stop bench' EXIT
source "$envfile"
export PGHOST PGPORT PGUSER
export PGDATABASE=abx_bench
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d abx_bench "$@"; }

say "fixture: experiment 'bench', 100,000 assigned subjects, raw tables"
psql -X -q -d postgres -c "CREATE DATABASE abx_bench" >/dev/null
start_setup=$SECONDS
psql_q -f bench/setup.sql >"$logs/setup.log" 2>&1 || { cat "$logs/setup.log"; exit 1; }
experiment_id="$(psql_q -At -c "SELECT id FROM abx.experiments WHERE code = 'bench'")"
echo "fixture ready in $((SECONDS - start_setup)) s (experiment id $experiment_id)"

# One call of each abx script's statement must do what the benchmark claims.
check() {
    local what="$1" sql="$2" want="$3" got
    got="$(psql_q -At -c "$sql")"
    if [ "$got" != "$want" ]; then
        echo "sanity check failed: $what: got '$got', want '$want'" >&2
        exit 1
    fi
}
check "returning subject" "SELECT reason FROM abx.assign('bench', 'u42')" "existing"
check "new subject" "SELECT reason FROM abx.assign('bench', 'n-check')" "assigned"
check "track" "SELECT status FROM abx.track('bench', 'u42', 'purchase', 1.0)" "stored"
# track_batch: the statement of bench/track_batch_abx.sql with :seed = 7, all 100 items stored.
batch_sql="$(sed -n '/^SELECT/,$p' bench/track_batch_abx.sql | sed 's/:seed/7/; s/count(\*)/string_agg(DISTINCT status, \x27,\x27) || \x27:\x27 || count(*)/; s/;$//')"
check "track_batch" "$batch_sql" "stored:100"
# assign_new_raw_one: the statement of bench/assign_new_raw_one.sql for subject n42, proposing
# variant 1, then again proposing 2: both return one row, the stored variant 1.
raw_one_sql() {
    grep -v '^--' bench/assign_new_raw_one.sql | grep -v '^\\' |
        sed "s/:experiment_id/$experiment_id/g; s/:r::text/'42'/g; s/:v/$1/g; s/;\$//"
}
check "one-statement raw baseline, new subject" "$(raw_one_sql 1)" "1"
check "one-statement raw baseline, stored subject" "$(raw_one_sql 2)" "1"

# Runs one pgbench script; prints its tps.
run_pgbench() {
    local script="$1" log="$2" role=()
    # abx's side runs as an application would: a login role with abx_service only (rights are
    # checked on every call); the raw side as the tables' owner.
    [[ "$script" == *_abx.sql ]] && role=(-U abx_bench_service)
    psql_q -c "CHECKPOINT" >/dev/null
    if ! pgbench_run "$log" abx_bench "${role[@]}" -n -M prepared -c 1 -j 1 -T "$seconds" \
        -D experiment_id="$experiment_id" -f "$script"; then
        cat "$log" >&2
        exit 1
    fi
    if grep -qE "number of failed transactions: [1-9]|aborted" "$log"; then
        cat "$log" >&2
        exit 1
    fi
    pgbench_tps "$log"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
results="$out/results.tsv"
: >"$results"
for spec in "${BENCHMARKS[@]}"; do
    IFS='|' read -r name what target baselines_spec <<<"$spec"
    if [ -n "${BENCH_ONLY:-}" ] && ! grep -qw "$name" <<<"$BENCH_ONLY"; then continue; fi
    IFS='|' read -ra baselines <<<"$baselines_spec"
    sides=()
    declare -A side_all=()
    for b in "${baselines[@]}"; do sides+=("${b%%=*}"); done
    say "$name: $what (${rounds}x ${sides[*]}/abx, ${seconds} s each)"
    abx_all=""
    for ((r = 1; r <= rounds; r++)); do
        line="  round $r:"
        for side in "${sides[@]}"; do
            tps=$(run_pgbench "bench/${name}_${side}.sql" "$logs/${name}_${side}_$r.log")
            side_all[$side]+="$tps "
            line+="$(printf ' %s %10.1f tps  ' "$side" "$tps")"
        done
        abx=$(run_pgbench "bench/${name}_abx.sql" "$logs/${name}_abx_$r.log")
        abx_all+="$abx "
        echo "$line$(printf ' abx %10.1f tps' "$abx")"
    done
    abx_med=$(median <<<"$abx_all")
    for b in "${baselines[@]}"; do
        side="${b%%=*}"
        raw_med=$(median <<<"${side_all[$side]}")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$what" "$side" "${b#*=}" "$raw_med" \
            "$abx_med" "$target" "${side_all[$side]}" "$abx_all" >>"$results"
    done
    unset side_all
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
{
    echo "# abx benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs, $cpu; load average before/after: $load_before / $load_after"
    echo "- $("$PG_BIN/postgres" --version), abx $revision"
    echo "- pgbench -n -M prepared -c 1 -j 1 -T $seconds; $rounds interleaved rounds (each baseline, then abx); median tps; $([ -n "$pin_cpu" ] && echo "pgbench and its backend pinned to CPU $pin_cpu" || echo "not pinned")"
    echo
    echo "| benchmark | raw baseline (script) | raw tps | abx tps | ratio abx / raw | target | result |"
    echo "|---|---|---:|---:|---:|---:|---|"
    while IFS=$'\t' read -r name what side desc raw abx target raw_all abx_all; do
        awk -v n="$name" -v w="$what" -v s="${name}_$side" -v d="$desc" -v r="$raw" -v a="$abx" -v t="$target" 'BEGIN {
            ratio = a / r
            printf "| %s — %s | %s (%s) | %.0f | %.0f | %.3f | %.1f | %s |\n", n, w, d, s, r, a, ratio, t, (ratio >= t) ? "pass" : "short"
        }'
    done <"$results"
    echo
    echo "Every run (tps):"
    echo
    while IFS=$'\t' read -r name what side desc raw abx target raw_all abx_all; do
        echo "- $name: ${name}_$side ${raw_all% }; abx ${abx_all% }"
    done <"$results"
} >"$out/results.md"

echo
cat "$out/results.md"
echo
echo "written to $out/results.md (pgbench logs in $logs/)"
