-- abx 0.2.0 -> 0.3.0: background workers. Jobs are rows (abx.jobs) that a scheduler per database
-- runs on their schedule, each run recorded in abx.job_runs (docs/operations.md).
\echo Use "ALTER EXTENSION abx UPDATE TO '0.3.0'" to load this file. \quit

CREATE TABLE abx.jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    command           text NOT NULL,             -- the SQL statement a run executes
    schedule_interval interval,                  -- every ..., when there is no cron expression
    cron              text,                      -- five fields, UTC
    config            jsonb NOT NULL DEFAULT '{}',
    enabled           boolean NOT NULL DEFAULT true,
    owner             name NOT NULL,             -- runs execute as this role
    organization      text,                      -- ... acting for this organization, if any
    max_runtime       interval NOT NULL DEFAULT '5 minutes',
    max_retries       integer NOT NULL DEFAULT 0 CHECK (max_retries BETWEEN 0 AND 100),
    retry_backoff     interval NOT NULL DEFAULT '1 minute',
    slot              timestamptz NOT NULL,      -- the scheduled time the next run covers
    attempt           integer NOT NULL DEFAULT 1,  -- the next run's attempt at that slot
    next_run_at       timestamptz NOT NULL,      -- slot, or a retry's time
    builtin           boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    CONSTRAINT jobs_one_schedule CHECK ((schedule_interval IS NULL) <> (cron IS NULL))
);
COMMENT ON TABLE abx.jobs IS
    'Jobs the scheduler runs: abx.add_job, abx.alter_job, abx.run_job; built-in ones are created with the extension.';

CREATE TABLE abx.job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint NOT NULL REFERENCES abx.jobs (id) ON DELETE CASCADE,
    slot        timestamptz NOT NULL,
    attempt     integer NOT NULL,
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timeout', 'interrupted')),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    sqlstate    text,
    message     text,
    result      text,                            -- the command's first column, when it returns one
    pid         integer,
    manual      boolean NOT NULL DEFAULT false,  -- abx.run_job, not the scheduler
    CONSTRAINT job_runs_attempt_per_slot UNIQUE (job_id, slot, attempt, manual)
);
-- A slot succeeds at most once, whatever crashes and retries happen around it.
CREATE UNIQUE INDEX job_runs_one_success_per_slot ON abx.job_runs (job_id, slot)
    WHERE status = 'succeeded' AND NOT manual;
CREATE INDEX job_runs_recent ON abx.job_runs (job_id, started_at DESC);
SELECT pg_catalog.pg_extension_config_dump('abx.jobs', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('abx.jobs_id_seq', '');
REVOKE ALL ON abx.jobs, abx.job_runs FROM PUBLIC;
GRANT SELECT ON abx.jobs, abx.job_runs TO abx_admin, abx_analyst;

CREATE FUNCTION abx.add_job(name text, command text, schedule interval DEFAULT NULL,
                            cron text DEFAULT NULL, config jsonb DEFAULT '{}',
                            max_runtime interval DEFAULT '5 minutes', max_retries integer DEFAULT 0,
                            retry_backoff interval DEFAULT '1 minute', enabled boolean DEFAULT true,
                            organization text DEFAULT NULL)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'abx_add_job' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.add_job(text, text, interval, text, jsonb, interval, integer, interval, boolean, text) IS
    'Adds a job (ops admins, without an organization); it runs as the role that adds it.';
CREATE FUNCTION abx.alter_job(name text, changes jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_alter_job' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.alter_job(text, jsonb) IS
    'Changes a job: schedule, cron, command, config, enabled, max_runtime, max_retries, retry_backoff, next_run_at.';
CREATE FUNCTION abx.run_job(name text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_run_job' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.run_job(name text) IS
    'Runs a job now, in this session and transaction, as the caller (who must be its owner); recorded as a manual run. The schedule is unchanged.';
CREATE FUNCTION abx.disable_job(name text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT abx.alter_job(name, '{"enabled": false}') $$;
CREATE FUNCTION abx.enable_job(name text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT abx.alter_job(name, '{"enabled": true}') $$;
ALTER FUNCTION abx.disable_job(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION abx.enable_job(text) SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION abx.prune_job_runs(keep interval DEFAULT '14 days') RETURNS bigint
    AS 'MODULE_PATHNAME', 'abx_prune_job_runs' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.prune_job_runs(interval) IS
    'Deletes finished job runs older than keep (the built-in job prune_job_runs runs it daily).';

-- The test clock of the schedulers (abx.test_clock = on only; superusers): set, advance, and wait
-- until this database's scheduler has run everything due at it.
CREATE FUNCTION abx.set_test_clock(at timestamptz) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'abx_set_test_clock' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.advance_test_clock(by interval) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'abx_advance_test_clock' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.wait_for_scheduler(timeout interval DEFAULT '30 seconds') RETURNS boolean
    AS 'MODULE_PATHNAME', 'abx_wait_for_scheduler' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.wait_for_scheduler(interval) IS
    'Tests: true once this database''s scheduler has finished a pass that began after the last test-clock change (false after timeout).';

-- Built-in jobs, owned by the extension's owner (a superuser: without an organization it acts on
-- every organization's experiments). First runs one period after creation.
INSERT INTO abx.jobs (name, command, schedule_interval, owner, max_runtime, builtin, slot, next_run_at, created_at)
VALUES ('aggregate', 'SELECT count(*) FROM abx.aggregate()', '1 minute', current_user, '10 minutes', true,
        now() + interval '1 minute', now() + interval '1 minute', now()),
       ('partitions', 'SELECT abx.ensure_partitions(7)', '1 hour', current_user, '10 minutes', true,
        now() + interval '1 hour', now() + interval '1 hour', now()),
       ('prune_job_runs', 'SELECT abx.prune_job_runs(interval ''14 days'')', '1 day', current_user, '10 minutes', true,
        now() + interval '1 day', now() + interval '1 day', now());

REVOKE ALL ON FUNCTION abx.add_job(text, text, interval, text, jsonb, interval, integer, interval, boolean, text),
    abx.alter_job(text, jsonb), abx.run_job(text), abx.disable_job(text), abx.enable_job(text),
    abx.prune_job_runs(interval), abx.set_test_clock(timestamptz), abx.advance_test_clock(interval),
    abx.wait_for_scheduler(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.add_job(text, text, interval, text, jsonb, interval, integer, interval, boolean, text),
    abx.alter_job(text, jsonb), abx.run_job(text), abx.disable_job(text), abx.enable_job(text),
    abx.prune_job_runs(interval)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;

-- The launcher starts this database's scheduler when this transaction commits.
CREATE FUNCTION abx.wake_scheduler() RETURNS void
    AS 'MODULE_PATHNAME', 'abx_wake_scheduler' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION abx.wake_scheduler() FROM PUBLIC;
SELECT abx.wake_scheduler();

-- Retention (seed 004): abx.events_retention_days (30) and abx.metrics_retention_days (180).
CREATE FUNCTION abx.retention() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_retention' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.retention() IS
    'Drops daily event partitions older than abx.events_retention_days whose events are aggregated (with their idempotency keys), and metric buckets older than abx.metrics_retention_days; returns what it dropped and what it kept and why.';
REVOKE ALL ON FUNCTION abx.retention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.retention() TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
INSERT INTO abx.jobs (name, command, schedule_interval, owner, max_runtime, builtin, slot, next_run_at, created_at)
VALUES ('retention', 'SELECT abx.retention()', '1 day', current_user, '30 minutes', true,
        now() + interval '1 day', now() + interval '1 day', now());

-- ---------------------------------------------------------------------------------------------
-- Winners, promotion, approval, rollback (seeds 001 and 004), the autonomy gate (seed 000), and
-- the outbox of notifications (docs/operations.md).
-- ---------------------------------------------------------------------------------------------
ALTER TABLE abx.experiments
    ADD COLUMN winner_variant      text,         -- the eligible winner, as last evaluated
    ADD COLUMN winner_decided_at   timestamptz,
    ADD COLUMN winner_reason       text,
    ADD COLUMN promoted_variant_id integer;      -- served to every subject while promoted

CREATE TABLE abx.promotions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id     bigint NOT NULL REFERENCES abx.experiments (id),
    organization_id   bigint,
    winner_variant    text NOT NULL,
    control_variant   text,
    confidence        double precision,
    improvement       double precision,
    sample_size       double precision,
    type              text NOT NULL CHECK (type IN ('auto', 'manual')),
    promoted_by       text NOT NULL,
    promoted_at       timestamptz NOT NULL,
    warnings          jsonb NOT NULL DEFAULT '[]',
    evaluation        jsonb NOT NULL,            -- the winner evaluation the promotion acted on
    metrics_snapshot  jsonb NOT NULL,            -- abx.results at the time
    experiment_before jsonb NOT NULL,            -- what a rollback restores
    rolled_back_at    timestamptz,
    rolled_back_by    text,
    rollback_reason   text
);
CREATE UNIQUE INDEX promotions_one_active ON abx.promotions (experiment_id) WHERE rolled_back_at IS NULL;

CREATE TABLE abx.approvals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id   bigint NOT NULL REFERENCES abx.experiments (id),
    organization_id bigint,
    winner_variant  text NOT NULL,
    evaluation      jsonb NOT NULL,
    requested_at    timestamptz NOT NULL,
    requested_by    text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_at      timestamptz,
    decided_by      text,
    reason          text
);
CREATE UNIQUE INDEX approvals_one_pending ON abx.approvals (experiment_id) WHERE status = 'pending';

-- Notifications, written in the transaction of the change they tell of (exactly once per change);
-- a NOTIFY on channel abx_outbox wakes whoever delivers them.
CREATE TABLE abx.outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL,
    organization_id bigint,
    experiment_id   bigint,
    type            text NOT NULL,   -- experiment.status_changed, experiment.winner_changed, ...
    level           text NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
    payload         jsonb NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX outbox_undelivered ON abx.outbox (id) WHERE delivered_at IS NULL;

-- Autonomy per organization (the server-wide switch is the setting abx.allow_autonomy).
CREATE TABLE abx.autonomy_policies (
    organization_id bigint PRIMARY KEY REFERENCES abx.organizations (id) ON DELETE CASCADE,
    allow_autonomy  boolean NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_by      text NOT NULL
);

SELECT pg_catalog.pg_extension_config_dump('abx.promotions', '');
SELECT pg_catalog.pg_extension_config_dump('abx.promotions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.approvals', '');
SELECT pg_catalog.pg_extension_config_dump('abx.approvals_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('abx.outbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.autonomy_policies', '');
REVOKE ALL ON abx.promotions, abx.approvals, abx.outbox, abx.autonomy_policies FROM PUBLIC;
GRANT SELECT ON abx.promotions, abx.approvals, abx.outbox, abx.autonomy_policies TO abx_admin, abx_analyst;
ALTER TABLE abx.promotions ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.promotions FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());
ALTER TABLE abx.approvals ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.approvals FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());
ALTER TABLE abx.outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.outbox FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());
ALTER TABLE abx.autonomy_policies ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.autonomy_policies FOR SELECT
    USING (abx.session_organization_id() IS NULL OR organization_id = abx.session_organization_id());
ALTER TABLE abx.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON abx.jobs FOR SELECT USING (abx.session_organization_id() IS NULL);
ALTER TABLE abx.job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON abx.job_runs FOR SELECT USING (abx.session_organization_id() IS NULL);

CREATE FUNCTION abx.promote(experiment text, variant text DEFAULT NULL, reason text DEFAULT NULL,
                            organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_promote' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.promote(text, text, text, text) IS
    'Promotes a variant (default: the evaluated winner): the experiment completes and every subject is served it; the stored assignments stay for analysis.';
CREATE FUNCTION abx.rollback(experiment text, reason text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_rollback' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.rollback(text, text, text) IS
    'Undoes the active promotion exactly (status, winner fields, serving from the stored assignments again).';
CREATE FUNCTION abx.approve(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_approve' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.reject(experiment text, reason text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_reject' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.promotion_history(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_promotion_history' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.promotion_history(text, text) IS
    'Promotions of an experiment, newest first, with their rollbacks (seed 001''s history).';
CREATE FUNCTION abx.auto_promote() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_auto_promote' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.auto_promote() IS
    'Evaluates every running experiment: records winner changes, and for automatic policies promotes, asks for approval, or records a policy denial.';
CREATE FUNCTION abx.set_autonomy(organization text, allow boolean) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_set_autonomy' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.set_autonomy(text, boolean) IS
    'An organization''s autonomy policy (ops admins without an organization); abx.allow_autonomy is the server-wide switch.';

REVOKE ALL ON FUNCTION abx.promote(text, text, text, text), abx.rollback(text, text, text),
    abx.approve(text, text), abx.reject(text, text, text), abx.promotion_history(text, text),
    abx.auto_promote(), abx.set_autonomy(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.promote(text, text, text, text), abx.rollback(text, text, text),
    abx.approve(text, text), abx.reject(text, text, text), abx.promotion_history(text, text),
    abx.auto_promote(), abx.set_autonomy(text, boolean)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;

INSERT INTO abx.jobs (name, command, schedule_interval, owner, max_runtime, builtin, slot, next_run_at, created_at)
VALUES ('auto_promotion', 'SELECT abx.auto_promote()', '1 hour', current_user, '30 minutes', true,
        now() + interval '1 hour', now() + interval '1 hour', now());

-- Fail-fast (seed 002): hourly, opt-in per experiment (analysis.fail_fast.auto_stop), bound by
-- the autonomy gate.
CREATE FUNCTION abx.fail_fast_check() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_fail_fast_check' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.fail_fast_check() IS
    'Flags variants very likely worse than the best; stops assigning them when the experiment opted in (analysis.fail_fast.auto_stop) and autonomy is allowed.';
REVOKE ALL ON FUNCTION abx.fail_fast_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.fail_fast_check() TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
INSERT INTO abx.jobs (name, command, schedule_interval, owner, max_runtime, builtin, slot, next_run_at, created_at)
VALUES ('fail_fast', 'SELECT abx.fail_fast_check()', '1 hour', current_user, '30 minutes', true,
        now() + interval '1 hour', now() + interval '1 hour', now());
