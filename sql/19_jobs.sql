-- Jobs as rows (docs/operations.md): adding, changing, running by hand, pruning, the rights they
-- need, and the audit entries they leave. The scheduler itself is tested in tests/shell/scheduler.sh.
SET abx.pinned_now = '2026-06-01 09:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;
-- The jobs added here are disabled: this database's scheduler (under a test clock that stands
-- still) must not run them; abx.run_job runs a job whether enabled or not.
SELECT name, command, schedule_interval, cron, owner = current_user AS owned_by_extension_owner,
       builtin, enabled
  FROM abx.jobs ORDER BY name;

-- Adding: an interval or a cron expression; the first slot follows from abx.now().
SELECT abx.add_job('nightly', 'SELECT 42', cron => '30 2 * * *', enabled => false) - 'owner' AS job;
SELECT abx.add_job('every_5m', 'SELECT count(*) FROM abx.experiments', schedule => '5 minutes',
                   max_retries => 2, retry_backoff => '30 seconds', enabled => false)->>'next_run_at' AS first_slot;
-- Refusals name the field.
SELECT t.err($$SELECT abx.add_job('nightly', 'SELECT 1', '1 hour')$$);
SELECT t.err($$SELECT abx.add_job('Bad Name', 'SELECT 1', '1 hour')$$);
SELECT t.err($$SELECT abx.add_job('x', '  ', '1 hour')$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1')$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1', '1 hour', '* * * * *')$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1', '10 milliseconds')$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1', cron => '61 * * * *')$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1', '1 hour', max_retries => 101)$$);
SELECT t.err($$SELECT abx.add_job('x', 'SELECT 1', '1 hour', organization => 'nowhere')$$);

-- Changing: a new schedule starts from now; next_run_at moves the next run; unknown fields refused.
SELECT abx.alter_job('every_5m', '{"schedule": "1 hour"}')->>'next_run_at' AS next_after_reschedule;
SELECT abx.alter_job('every_5m', '{"next_run_at": "2026-06-01T12:00:00Z"}')->>'next_run_at' AS moved;
SELECT (abx.enable_job('every_5m'))->>'enabled' AS enabled, (abx.disable_job('every_5m'))->>'enabled' AS enabled_again;
SELECT t.err($$SELECT abx.alter_job('every_5m', '{"colour": "red"}')$$);
SELECT t.err($$SELECT abx.alter_job('every_5m', '{"cron": "* *"}')$$);
SELECT t.err($$SELECT abx.alter_job('missing', '{}')$$);

-- Running by hand: in this transaction, recorded as a manual run; a failure is reported, not raised.
SELECT abx.run_job('nightly');
SELECT abx.add_job('broken', 'SELECT 1 / 0', '1 hour', enabled => false) IS NOT NULL AS added;
SELECT abx.run_job('broken');
SELECT abx.add_job('slow', 'SELECT pg_sleep(5)', '1 hour', max_runtime => '1 second', enabled => false) IS NOT NULL AS added;
SELECT abx.run_job('slow') - 'message' AS overstayed;
SELECT j.name, r.status, r.result, r.sqlstate, r.manual, r.attempt
  FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id WHERE NOT j.builtin ORDER BY r.id;

-- Every change is audited.
SELECT action, target ~ '^job:[0-9]+$' AS target_is_job, change ? 'after' OR change ? 'before' AS has_change
  FROM abx.audit_log WHERE action LIKE 'job.%' ORDER BY seq;

-- Rights: jobs are ops admins' business, without an organization; a changed command runs with the
-- rights of whoever changed it (it becomes the owner).
CREATE ROLE j_admin NOLOGIN IN ROLE abx_admin;
CREATE ROLE j_analyst NOLOGIN IN ROLE abx_analyst;
SET ROLE j_analyst;
SELECT t.err($$SELECT abx.add_job('mine', 'SELECT 1', '1 hour')$$);
SELECT t.err($$SELECT abx.run_job('nightly')$$);
SELECT count(*) > 0 AS analysts_read_jobs FROM abx.jobs;
RESET ROLE;
SET ROLE j_admin;
SELECT abx.alter_job('nightly', '{"command": "SELECT 43"}')->>'owner' AS new_owner;
-- A manual run executes as the caller: j_admin may not read an event partition directly.
SELECT abx.alter_job('nightly', '{"command": "SELECT count(*) FROM abx.events_default"}') IS NOT NULL AS changed;
SELECT abx.run_job('nightly') ->> 'sqlstate' AS as_caller;
RESET ROLE;

-- Pruning keeps recent runs.
SELECT abx.prune_job_runs('1 day') AS pruned_recent;
SELECT t.err($$SELECT abx.prune_job_runs('1 millisecond')$$);
-- The test clock is for superusers, and only in clusters that enable it.
SELECT current_setting('abx.test_clock') AS test_clock;
SET ROLE j_admin;
SELECT t.err($$SELECT abx.advance_test_clock('1 hour')$$);
RESET ROLE;
SELECT t.err($$SELECT abx.advance_test_clock('-1 hour')$$);
DELETE FROM abx.jobs WHERE NOT builtin;
DROP OWNED BY j_admin, j_analyst;
DROP ROLE j_admin, j_analyst;
RESET abx.pinned_now;
