#!/usr/bin/env bash
# make bench: abx's SQL API against the raw SQL it replaces, with pgbench on one throwaway cluster.
#
# Four pairs of pgbench scripts (bench/<name>_raw.sql, bench/<name>_abx.sql), each pair run
# interleaved raw, abx, raw, abx, ... BENCH_ROUNDS times for BENCH_SECONDS each, 1 client,
# prepared protocol. The median tps of each side and their ratio (abx / raw) are printed and
# written to build/bench/results.md; pgbench's own output is kept in build/bench/logs/.
#
#   BENCH_SECONDS=10   length of one pgbench run
#   BENCH_ROUNDS=3     raw/abx pairs per benchmark (the median of an odd count is one run)
#   BENCH_ONLY="assign_existing track"   run only these benchmarks
#   BENCH_NO_BUILD=1   skip make && make install (use the installed abx)
#   BENCH_PIN=0        do not pin pgbench and its backend to one CPU (see bench/lib.sh)
source "$(dirname "$0")/../scripts/common.sh"
cd "$ABX_ROOT"

seconds="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
out="build/bench"
logs="$out/logs"
rm -rf "$logs"
mkdir -p "$logs"

# name | what | target ratio
BENCHMARKS=(
    "assign_existing|abx.assign, returning subject vs primary-key lookup|0.8"
    "assign_new|abx.assign, new subject vs INSERT ON CONFLICT DO NOTHING + SELECT|0.7"
    "track|abx.track, one event vs one-row INSERT|0.7"
    "track_batch|abx.track_batch, 100 events vs 100-row INSERT ... SELECT|0.7"
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

# Runs one pgbench script; prints its tps.
run_pgbench() {
    local script="$1" log="$2"
    psql_q -c "CHECKPOINT" >/dev/null
    if ! pgbench_run "$log" abx_bench -n -M prepared -c 1 -j 1 -T "$seconds" \
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
    IFS='|' read -r name what target <<<"$spec"
    if [ -n "${BENCH_ONLY:-}" ] && ! grep -qw "$name" <<<"$BENCH_ONLY"; then continue; fi
    say "$name: $what (${rounds}x raw/abx, ${seconds} s each)"
    raw_all="" abx_all=""
    for ((r = 1; r <= rounds; r++)); do
        raw=$(run_pgbench "bench/${name}_raw.sql" "$logs/${name}_raw_$r.log")
        abx=$(run_pgbench "bench/${name}_abx.sql" "$logs/${name}_abx_$r.log")
        printf '  round %d: raw %10.1f tps   abx %10.1f tps\n' "$r" "$raw" "$abx"
        raw_all+="$raw " abx_all+="$abx "
    done
    raw_med=$(median <<<"$raw_all")
    abx_med=$(median <<<"$abx_all")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$what" "$raw_med" "$abx_med" "$target" \
        "$raw_all" "$abx_all" >>"$results"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
{
    echo "# abx benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs, $cpu; load average before/after: $load_before / $load_after"
    echo "- $("$PG_BIN/postgres" --version), abx $revision"
    echo "- pgbench -n -M prepared -c 1 -j 1 -T $seconds; $rounds interleaved raw/abx rounds; median tps; $([ -n "$pin_cpu" ] && echo "pgbench and its backend pinned to CPU $pin_cpu" || echo "not pinned")"
    echo
    echo "| benchmark | raw tps | abx tps | ratio | target | result |"
    echo "|---|---:|---:|---:|---:|---|"
    while IFS=$'\t' read -r name what raw abx target raw_all abx_all; do
        awk -v n="$name" -v w="$what" -v r="$raw" -v a="$abx" -v t="$target" 'BEGIN {
            ratio = a / r
            printf "| %s — %s | %.0f | %.0f | %.3f | %.1f | %s |\n", n, w, r, a, ratio, t, (ratio >= t) ? "pass" : "short"
        }'
    done <"$results"
    echo
    echo "Every run (tps):"
    echo
    while IFS=$'\t' read -r name what raw abx target raw_all abx_all; do
        echo "- $name: raw ${raw_all% }; abx ${abx_all% }"
    done <"$results"
} >"$out/results.md"

echo
cat "$out/results.md"
echo
echo "written to $out/results.md (pgbench logs in $logs/)"
