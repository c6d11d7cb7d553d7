#!/usr/bin/env bash
# What recording the looks (abx.result_looks, results over time) costs abx.aggregate(), and what a
# long timeline costs to read. Not part of make bench-analysis (a few seconds per run).
#   bash bench/aggregation/looks_cost.sh ROOT NAME [timeline]
# ROOT: a source tree whose extension is built and installed into its private PostgreSQL ROOT/.pg
# (the developers' guide); to compare, run it on a tree of the commit before the looks, then on
# this one. NAME: the throwaway cluster (ROOT/.abx/NAME).
# Fixture (looks_setup.sql): 3 variants, 4 metrics (rate, sum, avg, guardrail rate), 30,000
# subjects, ~45,000 events, aggregated once. Then 40 runs of abx.aggregate('bench'), each after
# 200 new subjects (~300 events) committed, and 40 idle runs; psql's \timing of each, medians.
# With `timeline`: 6,000 recorded runs (72,000 rows) and abx.timeline with 500 and 5,000 runs.
set -euo pipefail
root=$(cd "$1" && pwd) name=$2 mode=${3:-aggregate}
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$root/.pg/lib/postgresql/15/bin:$PATH
cd "$root"
bash scripts/cluster.sh start "$name" --fresh >/dev/null
trap 'bash scripts/cluster.sh stop "$name" >/dev/null' EXIT
source ".abx/$name/env"
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@" postgres; }
timed() { sql -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
median() { sort -n | awk -v what="$1" '{a[NR]=$1} END {printf "%s: median %.2f ms, min %.2f, max %.2f (%d runs)\n", what, (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR], NR}'; }
sql -c "CREATE EXTENSION abx" >/dev/null
sql -f "$here/looks_setup.sql" >/dev/null
if [ "$mode" = timeline ]; then
  sql >/dev/null <<'SQL'
INSERT INTO abx.result_looks (experiment_id, run, look_at, variant_id, metric_key, n, mean, mean_lower, mean_upper,
                              p_value, seq_p_value, chance_to_beat_control, prob_best)
SELECT l.experiment_id, l.run + r, l.look_at + r * interval '1 minute', l.variant_id, l.metric_key, l.n, l.mean,
       l.mean_lower, l.mean_upper, l.p_value, l.seq_p_value, l.chance_to_beat_control, l.prob_best
  FROM abx.result_looks l, generate_series(1, 5999) r;
ANALYZE abx.result_looks;
SQL
  for q in "abx.timeline('bench')" "abx.timeline('bench', 'conversion')" "abx.timeline('bench', max_looks => 5000)"; do
    for i in 1 2 3 4 5; do timed "SELECT length($q::text)"; done | median "$q"
  done
  exit 0
fi
for i in $(seq 1 40); do
  sql -c "SELECT public.traffic($((30000 + (i - 1) * 200 + 1)), $((30000 + i * 200)))" >/dev/null
  timed "SELECT count(*) FROM abx.aggregate('bench')"
done | median "$name: runs with new data"
for i in $(seq 1 40); do timed "SELECT count(*) FROM abx.aggregate('bench')"; done | median "$name: idle runs"
