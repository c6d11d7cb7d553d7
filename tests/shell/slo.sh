#!/usr/bin/env bash
# SLO guardrails on a real Prometheus (seed 000; docs/operations.md, "SLO watcher"): Debian's
# prometheus scrapes a small exporter this test controls (tests/shell/slo_exporter.py) every second;
# the SLO watcher checks each watched experiment every second over a 10 s window.
#   healthy -> ok observations, nothing else; latency pushed over 800 ms p95 -> a promoted
#   experiment is rolled back and a running one paused after 3 breached checks, audited, with a
#   critical outbox row; autonomy off -> one policy denial and one critical "action needed" row,
#   nothing changed; Prometheus killed -> error observations, no action, readiness degraded naming
#   the experiment, one warning; a Prometheus that accepts and never answers -> the scheduler's
#   jobs still run every second.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
prometheus_bin="$(command -v prometheus || true)"
[ -n "$prometheus_bin" ] || { echo "not ok - Debian's prometheus is not installed"; exit 1; }
name=slo-shell
env_file="$(bash scripts/cluster.sh start $name --fresh)"
work="$(mktemp -d /tmp/abx-slo.XXXXXX)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    bash scripts/cluster.sh stop $name >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
data="$(abx_state_dir)/$name/data"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d slo "$@"; }
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
wait_for() {  # wait_for SQL [SECONDS]: polls until the query returns t; prints t or f
    local deadline=$((SECONDS + ${2:-20}))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(q -c "$1" 2>/dev/null)" = "t" ] && { echo t; return; }
        sleep 0.2
    done
    echo f
}

# Real time, as in production: the watcher checks Prometheus on the wall clock anyway, and the
# scheduler's jobs are timed on it below.
psql -X -q -d postgres -c "ALTER SYSTEM SET abx.test_clock = off" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
bash scripts/cluster.sh start $name >/dev/null
createdb slo
q -c "CREATE EXTENSION abx"

# The exporter and Prometheus.
exporter_port="$(free_port)"
echo '{}' >"$work/state.json"
set_state() { echo "$1" >"$work/state.new" && mv "$work/state.new" "$work/state.json"; }
python3 tests/shell/slo_exporter.py "$exporter_port" "$work/state.json" &
pids+=($!)
prom_port="$(free_port)"
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: service
    static_configs:
      - targets: ["127.0.0.1:$exporter_port"]
YML
"$prometheus_bin" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
pids+=($prom_pid)
ready=f
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && { ready=t; break; }
    sleep 0.2
done
check "Prometheus is ready" "t" "$ready"

# Four experiments: healthy, promoted (to roll back), running (to pause), and one of an
# organization whose autonomy is off.
set_state '{"healthy": {"latency": 0.1}, "promoted": {"latency": 0.1}, "runner": {"latency": 0.1}, "calm-exp": {"latency": 0.1}}'
sla='{"p95_latency_ms": 800, "error_rate_threshold": 0.02}'
prom="{\"baseUrl\": \"http://127.0.0.1:$prom_port\", \"intervalMs\": 1000, \"window\": \"10s\", \"breachChecks\": 3}"
q >/dev/null <<SQL
CREATE FUNCTION public.spec(code text) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT jsonb_build_object('code', code, 'variants', '[{"key": "control", "is_control": true}, {"key": "treatment"}]'::jsonb) \$\$;
SELECT abx.create_organization('calm');
SELECT abx.set_autonomy('calm', false);
SELECT abx.create_experiment(public.spec('healthy'));
SELECT abx.create_experiment(public.spec('promoted'));
SELECT abx.create_experiment(public.spec('runner'));
SELECT abx.create_experiment(public.spec('calm-exp'), 'calm');
SELECT abx.start('healthy'); SELECT abx.start('promoted'); SELECT abx.start('runner'); SELECT abx.start('calm-exp', 'calm');
SELECT abx.promote('promoted', 'treatment', 'looked good');
SELECT abx.set_slo('healthy', '$sla', '$prom');
SELECT abx.set_slo('promoted', '$sla', '$prom');
SELECT abx.set_slo('runner', '$sla', '$prom');
SELECT abx.set_slo('calm-exp', '$sla', '$prom', 'calm');
SQL
check "a watcher starts beside the scheduler" "t" \
    "$(wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo')" 15)"
obs() { echo "SELECT count(*) FROM abx.slo_observations o JOIN abx.experiments e ON e.id = o.experiment_id WHERE e.code = '$1' AND $2"; }

# Healthy: Prometheus has data after two scrapes; then every check is ok and nothing happens.
check "healthy: ok checks are recorded with the measured p95" "t" \
    "$(wait_for "SELECT ($(obs healthy "o.outcome = 'ok' AND o.latency_p95_ms BETWEEN 50 AND 100")) >= 4" 30)"
check "healthy: no breach anywhere, no action" "0|0" \
    "$(q -c "SELECT count(*) FILTER (WHERE outcome = 'breach'), count(*) FILTER (WHERE action <> 'none') FROM abx.slo_observations" | tr '\n' ' ' | sed 's/ $//')"
check "healthy: statuses unchanged" "running,running,completed,running" \
    "$(q -c "SELECT string_agg(status, ',' ORDER BY code) FROM abx.experiments")"

# Latency pushed to 1.5 s for three of them.
pushed_at="$(q -c "SELECT clock_timestamp()")"
set_state '{"healthy": {"latency": 0.1}, "promoted": {"latency": 1.5}, "runner": {"latency": 1.5}, "calm-exp": {"latency": 1.5}}'
check "breach: the promoted experiment is rolled back" "t" \
    "$(wait_for "SELECT EXISTS (SELECT FROM abx.promotions p JOIN abx.experiments e ON e.id = p.experiment_id WHERE e.code = 'promoted' AND p.rolled_back_at IS NOT NULL)" 30)"
check "breach: the running experiment is paused" "t" \
    "$(wait_for "SELECT status = 'paused' FROM abx.experiments WHERE code = 'runner'" 15)"
# Within the configured number of checks: the action is the third breach in a row, at most
# (3 - 1) intervals (plus scheduling slack) after the first.
check "breach: rolled back at the third consecutive breach, within 2 intervals (+1.5 s) of the first" "3|true" \
    "$(q -c "WITH b AS (SELECT o.* FROM abx.slo_observations o JOIN abx.experiments e ON e.id = o.experiment_id WHERE e.code = 'promoted' AND o.outcome = 'breach')
             SELECT a.consecutive || '|' || (a.at - (SELECT min(at) FROM b) <= interval '3.5 seconds') FROM b a WHERE a.action = 'rolled_back' ORDER BY a.at LIMIT 1")"
echo "# measured: latency pushed -> first breached check $(q -c "SELECT round(extract(epoch FROM min(o.at) - '$pushed_at'::timestamptz)::numeric, 2) FROM abx.slo_observations o JOIN abx.experiments e ON e.id = o.experiment_id WHERE e.code = 'promoted' AND o.outcome = 'breach'") s, -> rollback $(q -c "SELECT round(extract(epoch FROM min(o.at) - '$pushed_at'::timestamptz)::numeric, 2) FROM abx.slo_observations o JOIN abx.experiments e ON e.id = o.experiment_id WHERE e.code = 'promoted' AND o.action = 'rolled_back'") s"
check "breach: the evidence is audited (values, thresholds, queries, Prometheus URL)" "t" \
    "$(q -c "SELECT (change #>> '{evidence,latency_p95_ms}')::float > 800 AND change #>> '{evidence,sla_target,p95_latency_ms}' = '800.0'
                AND change #>> '{evidence,prometheus}' = 'http://127.0.0.1:$prom_port'
                AND change #>> '{evidence,queries,latency}' LIKE '%experiment=\"promoted\"%[10s]%'
               FROM abx.audit_log WHERE action = 'experiment.guardrail_action' AND change ->> 'experiment' = 'promoted' AND change ->> 'action' = 'rolled_back'")"
check "breach: abx.rollback's own audit entry names the guardrail" "t" \
    "$(q -c "SELECT EXISTS (SELECT FROM abx.promotions p JOIN abx.experiments e ON e.id = p.experiment_id WHERE e.code = 'promoted' AND p.rollback_reason LIKE 'slo guardrail: p95 latency % ms > 800 ms')")"
check "breach: critical outbox rows for the rollback and the pause" "rolled_back,paused" \
    "$(q -c "SELECT string_agg(payload ->> 'action', ',' ORDER BY id) FROM (SELECT * FROM abx.outbox WHERE type = 'experiment.slo_breached' AND level = 'critical' AND payload ->> 'experiment' IN ('promoted', 'runner') ORDER BY id LIMIT 2) x")"
check "autonomy off: one policy denial, audited" "t" \
    "$(wait_for "SELECT count(*) = 1 FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'feature' = 'slo_guardrail' AND change ->> 'experiment' = 'calm-exp' AND error_code = 'policy'" 15)"
sleep 3  # three more breached checks
check "autonomy off: still one denial and one critical 'action needed' row after more breaches" "1|1" \
    "$(q -c "SELECT (SELECT count(*) FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'experiment' = 'calm-exp') || '|' ||
                    (SELECT count(*) FROM abx.outbox WHERE type = 'experiment.slo_breached' AND level = 'critical' AND payload ->> 'action' = 'denied' AND payload ->> 'action_needed' LIKE 'pause the experiment%')")"
check "autonomy off: the experiment still runs, breaches keep being recorded" "running|true" \
    "$(q -c "SELECT status || '|' || (($(obs calm-exp "o.outcome = 'breach'")) >= 5) FROM abx.experiments WHERE code = 'calm-exp'")"
check "healthy stayed healthy throughout (no breach, no action)" "0" "$(q -c "$(obs healthy "(o.outcome = 'breach' OR o.action <> 'none')")")"
# Rolled back and still breaching as a running experiment: paused three checks later.
check "still breaching after the rollback: paused" "t" \
    "$(wait_for "SELECT status = 'paused' FROM abx.experiments WHERE code = 'promoted'" 15)"
critical_before="$(q -c "SELECT count(*) FROM abx.outbox WHERE level = 'critical'")"

# Prometheus gone: errors, never an action; readiness degraded naming the experiments; one warning.
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true
check "Prometheus down: the checks record errors" "t" \
    "$(wait_for "SELECT ($(obs healthy "o.outcome = 'error' AND o.message LIKE '%unreachable%'")) >= 3" 20)"
check "Prometheus down: no action on missing data (statuses as they were, no new critical row)" "running|running|$critical_before" \
    "$(q -c "SELECT (SELECT status FROM abx.experiments WHERE code = 'healthy') || '|' || (SELECT status FROM abx.experiments WHERE code = 'calm-exp') || '|' ||
                    (SELECT count(*) FROM abx.outbox WHERE level = 'critical')")"
readiness="$(q -c "SELECT r ->> 'status', r #>> '{checks,slo,status}', r #> '{checks,slo,prometheus_unreachable}' ? 'healthy' FROM abx.http_readiness('{}', '{}', '{}') r" | tr '\n' ' ')"
check "Prometheus down: readiness degraded, the slo check warns naming the experiment" "degraded|warn|t" "$(echo $readiness)"
check "Prometheus down: one warning per experiment for the outage, not one per check" "1" \
    "$(q -c "SELECT count(*) FROM abx.outbox WHERE type = 'experiment.slo_unavailable' AND level = 'warning' AND payload ->> 'experiment' = 'healthy'")"

# A Prometheus that accepts and never answers: the checks time out in the watcher, and the
# scheduler's jobs (an aggregation every second) keep their time.
silent_port="$(free_port)"
python3 tests/shell/slo_exporter.py silent "$silent_port" &
pids+=($!)
sleep 0.3
q >/dev/null <<SQL
SELECT abx.set_slo(code, '$sla', '{"baseUrl": "http://127.0.0.1:$silent_port", "intervalMs": 3000, "timeoutMs": 3000, "window": "10s"}', org)
  FROM (VALUES ('healthy', NULL), ('calm-exp', 'calm')) v(code, org);
SELECT abx.add_job('aggregate_each_second', 'SELECT count(*) FROM abx.aggregate()', '1 second');
SQL
check "hung Prometheus: the checks time out" "t" \
    "$(wait_for "SELECT ($(obs healthy "o.outcome = 'error' AND o.message ILIKE '%timed out%'")) >= 2" 20)"
sleep 4
check "hung Prometheus: the aggregation job ran every second meanwhile (no gap over 2.5 s in the last 6 s)" "t" \
    "$(q -c "WITH r AS (SELECT r.started_at, lag(r.started_at) OVER (ORDER BY r.id) AS prev FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id
                        WHERE j.name = 'aggregate_each_second' AND r.status = 'succeeded' AND r.started_at > clock_timestamp() - interval '6 seconds')
             SELECT count(*) >= 4 AND max(started_at - prev) < interval '2.5 seconds' FROM r")"
echo "# measured: longest gap between the aggregation job's runs while Prometheus hung: $(q -c "SELECT round(extract(epoch FROM max(r.started_at - r.prev))::numeric, 2) FROM (SELECT r.started_at, lag(r.started_at) OVER (ORDER BY r.id) AS prev FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'aggregate_each_second' AND r.status = 'succeeded') r") s"
check "the watcher is still alive" "t" \
    "$(q -c "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo')")"

# The watcher stops with its scheduler; the next scheduler starts one again (never two).
old_watcher="$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo'")"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'slo'" >/dev/null
check "scheduler terminated: its watcher stops, a new scheduler starts a new one" "t" \
    "$(wait_for "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $old_watcher)
                    AND EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo')" 30)"
sleep 2
check "... and only one" "1" \
    "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo'")"

# DROP DATABASE is not held up by a watcher busy with a hung Prometheus.
createdb slo_drop
psql -X -q -d slo_drop -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION abx;
SELECT abx.create_experiment('{"code": "d", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}');
SELECT abx.start('d');
SELECT abx.set_slo('d', '$sla', '{"baseUrl": "http://127.0.0.1:$silent_port", "intervalMs": 5000, "timeoutMs": 5000}');
SQL
check "a watcher runs for the second database" "t" \
    "$(wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo_drop')" 15)"
sleep 0.5  # its first query is on the wire
check "DROP DATABASE with its watcher waiting on a hung Prometheus succeeds" "ok" \
    "$(psql -X -q -d postgres -c "DROP DATABASE slo_drop" 2>&1 && echo ok)"

# Not watched any more: the watcher exits by itself.
q -c "UPDATE abx.experiments SET prometheus = NULL" >/dev/null
check "nothing watched: the watcher exits" "t" \
    "$(wait_for "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx slo watcher' AND datname = 'slo')" 15)"

echo "slo: $fails failed"
[ "$fails" -eq 0 ]
