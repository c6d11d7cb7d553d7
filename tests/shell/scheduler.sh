#!/usr/bin/env bash
# The background workers on a real cluster (docs/operations.md): a scheduler appears for a database
# as soon as CREATE EXTENSION commits; under the test clock, advancing it runs each due job exactly
# once per slot (missed slots coalesced); retries back off; an overstaying run is cancelled; a
# kill -9 of the scheduler (PostgreSQL restarts the cluster) leaves the interrupted run recorded and
# never runs a slot twice; SIGTERM and pg_ctl stop -m fast are not held up by a busy job;
# DROP EXTENSION and DROP DATABASE stop the scheduler cleanly.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start scheduler --fresh)"
trap 'bash scripts/cluster.sh stop scheduler' EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
data="$(abx_state_dir)/scheduler/data"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-sched}" "$@"; }
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
# wait_for SQL [SECONDS]: polls until the query returns t; prints t or f.
wait_for() {
    local deadline=$((SECONDS + ${2:-20}))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(q -c "$1" 2>/dev/null)" = "t" ] && { echo t; return; }
        sleep 0.1
    done
    echo f
}
scheduler_pid() { DB=postgres q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = '${1:-sched}'"; }
advance() { q -c "SELECT abx.advance_test_clock('$1')" >/dev/null; q -c "SELECT abx.wait_for_scheduler()"; }
runs() { q -c "SELECT string_agg(status, ',' ORDER BY r.id) FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = '$1' AND NOT r.manual"; }

createdb sched
q -c "CREATE EXTENSION abx"
check "a scheduler starts when CREATE EXTENSION commits (no restart)" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched')" 10)"

# The clock: T, a job every hour writing abx.now() (the scheduler's test clock) into a table.
T="$(q -c "SELECT date_trunc('hour', now()) + interval '2 hours'")"
q >/dev/null <<SQL
CREATE TABLE public.ticks (at timestamptz);
SET abx.pinned_now = '$T';
SELECT abx.alter_job(name, jsonb_build_object('next_run_at', to_char(('$T'::timestamptz + schedule_interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
  FROM abx.jobs WHERE builtin;
SELECT abx.add_job('tick', 'INSERT INTO public.ticks SELECT abx.now()', '1 hour');
SELECT abx.set_test_clock('$T');
SQL
check "settled before any slot is due" "t" "$(q -c "SELECT abx.wait_for_scheduler()")"
check "nothing ran before the clock moved" "0" "$(q -c "SELECT count(*) FROM abx.job_runs")"
check "advance 1 h: the scheduler settles" "t" "$(advance '1 hour')"
check "advance 1 h: each hourly job ran exactly once" "auto_promotion=1,fail_fast=1,partitions=1,tick=1" \
    "$(q -c "SELECT string_agg(j.name || '=' || count, ',' ORDER BY j.name) FROM (SELECT job_id, count(*) FROM abx.job_runs WHERE status = 'succeeded' GROUP BY job_id) r JOIN abx.jobs j ON j.id = r.job_id WHERE j.schedule_interval = '1 hour'")"
check "the minute job ran once for the hour (missed slots coalesced)" "succeeded" "$(runs aggregate)"
check "the job saw the scheduler's clock" "t" "$(q -c "SELECT array_agg(at) = ARRAY['$T'::timestamptz + interval '1 hour'] FROM public.ticks")"
advance '1 hour' >/dev/null
advance '3 hours' >/dev/null
check "three advances: three tick runs, at distinct slots, on the hour" "3|3|t" \
    "$(q -c "SELECT count(*), count(DISTINCT r.slot), bool_and(extract(minute FROM r.slot - '$T'::timestamptz) = 0) FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'tick'" | tr -d ' ')"
check "the next tick slot keeps the phase" "t" "$(q -c "SELECT next_run_at = '$T'::timestamptz + interval '6 hours' FROM abx.jobs WHERE name = 'tick'")"

# Retries with backoff: fails twice, then succeeds on the third attempt of the same slot.
q >/dev/null <<SQL
CREATE SEQUENCE public.flaky_calls;  -- counts calls, failed ones too (not rolled back)
CREATE FUNCTION public.flaky() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN
    IF nextval('public.flaky_calls') < 3 THEN RAISE EXCEPTION 'not yet'; END IF;
    RETURN 1;
END \$\$;
SET abx.pinned_now = '$(q -c "SELECT abx.advance_test_clock('0')")';
SELECT abx.add_job('flaky', 'SELECT public.flaky()', '1 day', max_retries => 2, retry_backoff => '1 minute');
SQL
advance '1 day' >/dev/null
check "a failed attempt is recorded and retried later" "failed" "$(runs flaky)"
advance '1 minute' >/dev/null
check "the retry waits its backoff (1 min, then 2 min)" "failed,failed" "$(runs flaky)"
advance '1 minute' >/dev/null
check "not before the doubled backoff" "failed,failed" "$(runs flaky)"
advance '1 minute' >/dev/null
check "the third attempt of the slot succeeds" "failed,failed,succeeded|1,2,3|1" \
    "$(q -c "SELECT string_agg(status, ',' ORDER BY r.id) || '|' || string_agg(r.attempt::text, ',' ORDER BY r.id) || '|' || count(DISTINCT r.slot) FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'flaky'")"

# A run that overstays its max runtime is cancelled and recorded; the scheduler goes on.
q -c "SELECT abx.add_job('sleepy', 'SELECT pg_sleep(30)', '1 day', max_runtime => '1 second', enabled => false)" >/dev/null
q -c "SELECT abx.alter_job('sleepy', jsonb_build_object('enabled', true, 'next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
start=$SECONDS
advance '1 second' >/dev/null
check "an overstaying run is cancelled at its max runtime" "timeout|57014" \
    "$(q -c "SELECT status || '|' || sqlstate FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'sleepy'")"
check "... within seconds, not after the sleep" "t" "$([ $((SECONDS - start)) -lt 10 ] && echo t || echo f)"
q -c "SELECT abx.disable_job('sleepy')" >/dev/null

# kill -9 of the scheduler in the middle of a run: PostgreSQL restarts the cluster.
q -c "SELECT abx.add_job('long', 'SELECT pg_sleep(60)', '1 day', enabled => false)" >/dev/null
q -c "SELECT abx.alter_job('long', jsonb_build_object('enabled', true, 'next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
q -c "SELECT abx.advance_test_clock('1 second')" >/dev/null
check "the long job is running" "t" "$(wait_for "SELECT EXISTS (SELECT FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long' AND status = 'running')")"
pid="$(scheduler_pid)"
kill -9 "$pid"
check "the cluster comes back and the scheduler with it" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched' AND pid <> $pid)" 60)"
check "the interrupted run is recorded" "t" "$(wait_for "SELECT status = 'interrupted' FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long'")"
check "the interrupted slot is not run again (no retries configured)" "t" \
    "$(q -c "SELECT next_run_at > (SELECT max(slot) FROM abx.job_runs r WHERE r.job_id = j.id) FROM abx.jobs j WHERE name = 'long'")"
check "no slot of any job succeeded twice" "0" \
    "$(q -c "SELECT count(*) FROM (SELECT job_id, slot FROM abx.job_runs WHERE status = 'succeeded' AND NOT manual GROUP BY 1, 2 HAVING count(*) > 1) d")"
check "no job is left running" "0" "$(q -c "SELECT count(*) FROM abx.job_runs WHERE status = 'running'")"

# SIGTERM of a busy scheduler: it exits at once; the launcher starts a new one.
q -c "SELECT abx.alter_job('long', jsonb_build_object('next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
q -c "SELECT abx.advance_test_clock('1 second')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long' AND status = 'running')" >/dev/null
pid="$(scheduler_pid)"
start_ms=$(date +%s%3N)
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
elapsed=$(( $(date +%s%3N) - start_ms ))
check "SIGTERM: a busy scheduler exits within a second (${elapsed} ms)" "t" "$([ "$elapsed" -lt 1000 ] && echo t || echo f)"
check "the launcher starts a new scheduler" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched' AND pid <> $pid)" 15)"
check "the terminated run is recorded as interrupted" "interrupted,interrupted" "$(wait_for "SELECT string_agg(status, ',') = 'interrupted,interrupted' FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long'" >/dev/null; runs long)"

# pg_ctl stop -m fast while a job runs: not held up.
q -c "SELECT abx.alter_job('long', jsonb_build_object('next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
q -c "SELECT abx.advance_test_clock('1 second')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long' AND status = 'running')" >/dev/null
start_ms=$(date +%s%3N)
as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
elapsed=$(( $(date +%s%3N) - start_ms ))
check "pg_ctl stop -m fast during a run takes under 5 s (${elapsed} ms)" "t" "$([ "$elapsed" -lt 5000 ] && echo t || echo f)"
bash scripts/cluster.sh start scheduler >/dev/null
check "after the restart, the run cut by the stop is recorded" "t" \
    "$(wait_for "SELECT count(*) = 3 AND bool_and(status = 'interrupted') FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'long'" 30)"

# A job runs confined to its owner: it cannot RESET ROLE back to the scheduler's superuser
# session, and what it SETs does not outlive it (the next job runs normally).
q >/dev/null <<'SQL'
CREATE ROLE job_admin NOLOGIN IN ROLE abx_admin;
SET ROLE job_admin;
SELECT abx.add_job('escalate', 'RESET ROLE; ALTER ROLE job_admin SUPERUSER', '1 day', enabled => false);
SELECT abx.add_job('sticky_set', 'SET default_transaction_read_only = on; SELECT 1', '1 day', enabled => false);
RESET ROLE;
SQL
for job in escalate sticky_set; do
    q -c "SELECT abx.alter_job('$job', jsonb_build_object('enabled', true, 'next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
done
advance '1 second' >/dev/null
check "a job cannot RESET ROLE to the scheduler's superuser" "failed|false" \
    "$(q -c "SELECT (SELECT status FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'escalate') || '|' || rolsuper FROM pg_roles WHERE rolname = 'job_admin'")"
check "a job's SET does not leak into the scheduler's next runs" "succeeded" "$(runs sticky_set)"
q -c "SELECT abx.alter_job('tick', jsonb_build_object('next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null
advance '1 second' >/dev/null
check "... the next job still writes (no read-only session left behind)" "succeeded" \
    "$(q -c "SELECT status FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'tick' ORDER BY r.id DESC LIMIT 1")"
# Someone who may not drop the extension does not stop the scheduler by trying.
pid="$(scheduler_pid)"
q -c "SET ROLE job_admin; DROP EXTENSION abx" >/dev/null 2>&1 || true
sleep 1
check "a refused DROP EXTENSION leaves the scheduler running" "$pid" "$(scheduler_pid)"
q -c "BEGIN; DROP EXTENSION abx CASCADE; ROLLBACK" >/dev/null 2>&1 || true
check "a rolled-back DROP EXTENSION: a scheduler runs again" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched')" 15)"

# kill -9 in the middle of an automatic promotion: the promotion rolls back with its run, and the
# next run promotes exactly once.
q >/dev/null <<'SQL'
SELECT abx.create_experiment('{"code": "crashy", "salt": "crashy", "metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}},
  "winner_policy": {"mode": "automatic", "min_assignments": 20, "pick_after_hours": 0, "min_improvement": 0.01, "confidence": 0.9},
  "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}');
SELECT abx.start('crashy');
SELECT count(*) FROM generate_series(1, 400) i, abx.assign('crashy', 'c' || i) a,
       LATERAL (SELECT abx.track('crashy', 'c' || i, 'buy') WHERE (a.variant = 'b' AND i % 10 < 6) OR (a.variant = 'a' AND i % 10 = 0)) t;
SQL
q -c "SELECT count(*) FROM abx.aggregate('crashy')" >/dev/null
due_now() { q -c "SELECT abx.alter_job('$1', jsonb_build_object('next_run_at', to_char(abx.advance_test_clock('0') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))" >/dev/null; }
q -c "SELECT abx.alter_job('auto_promotion', '{\"command\": \"SELECT abx.auto_promote(), pg_sleep(60)\"}')" >/dev/null
due_now auto_promotion
q -c "SELECT abx.advance_test_clock('1 second')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'auto_promotion' AND status = 'running')" >/dev/null
check "the promotion is made but not committed while its run sleeps" "0" "$(q -c "SELECT count(*) FROM abx.promotions")"
pid="$(scheduler_pid)"
kill -9 "$pid"
DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched' AND pid <> $pid)" 60 >/dev/null
check "after kill -9, no promotion survived the interrupted run" "0|running" \
    "$(q -c "SELECT (SELECT count(*) FROM abx.promotions) || '|' || status FROM abx.experiments WHERE code = 'crashy'")"
q -c "SELECT abx.alter_job('auto_promotion', '{\"command\": \"SELECT abx.auto_promote()\"}')" >/dev/null
due_now auto_promotion
advance '1 second' >/dev/null
advance '2 hours' >/dev/null
check "the next runs promote once, and only once" "1|completed" \
    "$(q -c "SELECT (SELECT count(*) FROM abx.promotions) || '|' || status FROM abx.experiments WHERE code = 'crashy'")"

# DROP EXTENSION stops the scheduler; CREATE EXTENSION brings it back; DROP DATABASE is not refused.
q -c "DROP EXTENSION abx CASCADE"
check "DROP EXTENSION: the scheduler is gone" "" "$(scheduler_pid)"
sleep 1
check "... and stays gone" "" "$(scheduler_pid)"
q -c "CREATE EXTENSION abx"
check "CREATE EXTENSION again: a scheduler is back" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'sched')" 10)"
check "DROP DATABASE with its scheduler running succeeds" "ok" "$(DB=postgres q -c "DROP DATABASE sched" 2>&1 && echo ok)"
check "no scheduler is left for the dropped database" "" "$(scheduler_pid)"

# Real time (abx.test_clock = off, as in production): a job every second runs by itself.
DB=postgres q -c "ALTER SYSTEM SET abx.test_clock = off" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
bash scripts/cluster.sh start scheduler >/dev/null
createdb realtime
DB=realtime q -c "CREATE EXTENSION abx" >/dev/null
DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'realtime')" 10 >/dev/null
sleep 1  # the scheduler has looked at its jobs and sleeps until the next built-in one (minutes away)
added=$SECONDS
DB=realtime q -c "SELECT abx.add_job('every_second', 'SELECT 1', '1 second')" >/dev/null
DB=realtime wait_for "SELECT EXISTS (SELECT FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'every_second')" 15 >/dev/null
check "real time: a new job's first run comes within 5 s (add_job wakes the sleeping scheduler)" "t" \
    "$([ $((SECONDS - added)) -le 5 ] && echo t || echo f)"
check "real time: a job every second has run three times within ten seconds" "t" \
    "$(DB=realtime wait_for "SELECT count(*) >= 3 FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE j.name = 'every_second' AND r.status = 'succeeded'" 10)"
check "real time: the scheduler is still alive" "t" \
    "$(DB=postgres wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'realtime')" 5)"

echo "scheduler: $fails failed"
[ "$fails" -eq 0 ]
