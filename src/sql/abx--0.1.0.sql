-- abx 0.1.0: experiments, sticky assignment and event ingestion.
\echo Use "CREATE EXTENSION abx" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- Organizations. Experiments with a NULL organization are global.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.organizations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE abx.organizations IS 'Tenants. Assignments and events made without one carry organization_id 0.';

-- ---------------------------------------------------------------------------------------------
-- Experiments and variants (written only through abx.create_experiment / abx.update_experiment
-- and the lifecycle functions, which validate in the C++ core).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.experiments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES abx.organizations (id),
    code            text NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'running', 'paused', 'completed', 'archived')),
    kind            text NOT NULL DEFAULT 'ab' CHECK (kind IN ('ab', 'bandit')),
    targeting       jsonb NOT NULL DEFAULT '{}',
    coverage        double precision NOT NULL DEFAULT 1 CHECK (coverage > 0 AND coverage <= 1),
    salt            text NOT NULL,
    metrics         jsonb NOT NULL DEFAULT '{}',
    winner_policy   jsonb NOT NULL DEFAULT '{}',
    analysis        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    started_at      timestamptz,
    paused_at       timestamptz,
    completed_at    timestamptz,
    archived_at     timestamptz,
    CONSTRAINT experiments_code_per_organization UNIQUE NULLS NOT DISTINCT (organization_id, code)
);
CREATE INDEX experiments_code ON abx.experiments (code);

CREATE TABLE abx.variants (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id bigint NOT NULL REFERENCES abx.experiments (id) ON DELETE CASCADE,
    key           text NOT NULL,
    name          text NOT NULL,
    weight        double precision NOT NULL CHECK (weight >= 0 AND weight < 'Infinity'),
    config        jsonb NOT NULL DEFAULT '{}',
    is_control    boolean NOT NULL DEFAULT false,
    position      integer NOT NULL,
    CONSTRAINT variants_key_per_experiment UNIQUE (experiment_id, key)
);
CREATE UNIQUE INDEX variants_one_control ON abx.variants (experiment_id) WHERE is_control;

-- ---------------------------------------------------------------------------------------------
-- Sticky assignments: one row per experiment, organization scope and subject. No foreign keys on
-- the two hot tables: only abx's functions write them, and they resolve ids themselves.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.assignments (
    experiment_id   bigint NOT NULL,
    organization_id bigint NOT NULL DEFAULT 0,
    subject         text NOT NULL,
    variant_id      integer NOT NULL,
    assigned_at     timestamptz NOT NULL,
    context         jsonb,
    -- The inserting transaction, so abx.aggregate() counts new assignments by xid window exactly as
    -- it counts events (docs/aggregation.md).
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (experiment_id, organization_id, subject)
);
CREATE INDEX assignments_aggregation_window ON abx.assignments (experiment_id, xid);

-- ---------------------------------------------------------------------------------------------
-- Events: append-only, range-partitioned by day on ts. A default partition catches anything no
-- daily partition covers yet, so no event is ever refused for lack of a partition;
-- abx.ensure_partitions() creates daily partitions ahead and moves stray rows out of the default.
-- ---------------------------------------------------------------------------------------------
CREATE SEQUENCE abx.events_id_seq AS bigint;
CREATE TABLE abx.events (
    id              bigint NOT NULL DEFAULT nextval('abx.events_id_seq'),
    experiment_id   bigint NOT NULL,
    organization_id bigint NOT NULL DEFAULT 0,
    subject         text NOT NULL,
    variant_id      integer NOT NULL,
    event_key       text NOT NULL,
    value           double precision NOT NULL,
    ts              timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    meta            jsonb,
    idempotency_key text,
    -- The inserting (top-level) transaction: abx.aggregate() reads the events of transactions that
    -- finished since its last run, by xid window, so none is missed or counted twice.
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id()
) PARTITION BY RANGE (ts);
CREATE INDEX events_aggregation_window ON abx.events (experiment_id, xid);
ALTER SEQUENCE abx.events_id_seq OWNED BY abx.events.id;
CREATE TABLE abx.events_default PARTITION OF abx.events DEFAULT;

-- Idempotency keys live beside the events: a unique index on the partitioned table would have to
-- include ts, which would make the same key at two timestamps look new.
CREATE TABLE abx.event_idempotency (
    experiment_id   bigint NOT NULL,
    idempotency_key text NOT NULL,
    event_id        bigint NOT NULL,
    variant_id      integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, idempotency_key)
);

-- ---------------------------------------------------------------------------------------------
-- Aggregates maintained by abx.aggregate(): time buckets per event key, per-subject totals, and
-- per-variant sufficient statistics per metric (with the sequential test's memory).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.metric_buckets (
    experiment_id  bigint NOT NULL,
    variant_id     integer NOT NULL,
    event_key      text NOT NULL,
    bucket_start   timestamptz NOT NULL,
    bucket_seconds integer NOT NULL,
    count          bigint NOT NULL,
    sum            double precision NOT NULL,
    sum_sq         double precision NOT NULL,
    min            double precision NOT NULL,
    max            double precision NOT NULL,
    PRIMARY KEY (experiment_id, variant_id, event_key, bucket_seconds, bucket_start)
);

CREATE TABLE abx.subject_events (
    experiment_id   bigint NOT NULL,
    organization_id bigint NOT NULL,
    subject         text NOT NULL,
    event_key       text NOT NULL,
    variant_id      integer NOT NULL,
    count           bigint NOT NULL,
    sum             double precision NOT NULL,
    PRIMARY KEY (experiment_id, organization_id, subject, event_key)
);

-- Assigned subjects per variant, as of the last aggregation (the n of count, sum and rate metrics).
CREATE TABLE abx.variant_assignments (
    experiment_id bigint NOT NULL,
    variant_id    integer NOT NULL,
    assigned      bigint NOT NULL,
    PRIMARY KEY (experiment_id, variant_id)
);

CREATE TABLE abx.variant_metric_stats (
    experiment_id bigint NOT NULL,
    variant_id    integer NOT NULL,
    metric_key    text NOT NULL,
    n             double precision NOT NULL DEFAULT 0,  -- subjects in the population (avg, rate with denominator)
    sum           double precision NOT NULL DEFAULT 0,  -- Σx over subjects
    sum_sq        double precision NOT NULL DEFAULT 0,  -- Σx² over subjects
    seq_looks     bigint NOT NULL DEFAULT 0,
    seq_p_value   double precision NOT NULL DEFAULT 1,
    seq_lower     double precision NOT NULL DEFAULT '-Infinity',
    seq_upper     double precision NOT NULL DEFAULT 'Infinity',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, variant_id, metric_key)
);

CREATE TABLE abx.aggregation_state (
    experiment_id     bigint PRIMARY KEY,
    xid_done          xid8 NOT NULL DEFAULT '0',  -- events of transactions below this are aggregated
    metrics_signature text NOT NULL DEFAULT '',   -- the metric definitions the statistics follow
    runs              bigint NOT NULL DEFAULT 0,
    events_total      bigint NOT NULL DEFAULT 0,
    last_events       bigint NOT NULL DEFAULT 0,
    last_run_at       timestamptz
);

-- Thompson-sampling state of bandit experiments: the posterior of each arm's primary rate and the
-- allocation share new subjects are hashed onto.
CREATE TABLE abx.bandit_arms (
    experiment_id bigint NOT NULL,
    variant_id    integer NOT NULL PRIMARY KEY,
    alpha         double precision NOT NULL,
    beta          double precision NOT NULL,
    share         double precision NOT NULL CHECK (share >= 0 AND share <= 1),
    updated_at    timestamptz NOT NULL
);

-- Keep user data in pg_dump output.
SELECT pg_catalog.pg_extension_config_dump('abx.organizations', '');
SELECT pg_catalog.pg_extension_config_dump('abx.experiments', '');
SELECT pg_catalog.pg_extension_config_dump('abx.variants', '');
SELECT pg_catalog.pg_extension_config_dump('abx.assignments', '');
SELECT pg_catalog.pg_extension_config_dump('abx.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('abx.event_idempotency', '');
SELECT pg_catalog.pg_extension_config_dump('abx.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.metric_buckets', '');
SELECT pg_catalog.pg_extension_config_dump('abx.subject_events', '');
SELECT pg_catalog.pg_extension_config_dump('abx.variant_metric_stats', '');
SELECT pg_catalog.pg_extension_config_dump('abx.variant_assignments', '');
SELECT pg_catalog.pg_extension_config_dump('abx.aggregation_state', '');
SELECT pg_catalog.pg_extension_config_dump('abx.bandit_arms', '');

-- ---------------------------------------------------------------------------------------------
-- Functions. All logic is C++ (src/pg/ glue over the src/core/ library).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.now() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'abx_now' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION abx.now() IS
    'The time every abx decision uses: abx.pinned_now when a test pins it, else now().';

CREATE FUNCTION abx.create_organization(key text, name text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    new_id bigint;
BEGIN
    IF key IS NULL OR key !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid key: must match ^[a-z0-9][a-z0-9_-]{0,62}$ (got %)', coalesce(quote_literal(key), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO abx.organizations AS o (key, name) VALUES (key, coalesce(name, key)) RETURNING o.id INTO new_id;
    RETURN new_id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'organization "%" already exists', key USING ERRCODE = 'unique_violation';
END
$$;

CREATE FUNCTION abx.create_experiment(spec jsonb, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_create_experiment' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.update_experiment(code text, patch jsonb, organization text DEFAULT NULL)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'abx_update_experiment' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.experiment(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_get_experiment' LANGUAGE C STABLE;

CREATE FUNCTION abx.start(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_start' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.pause(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_pause' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.resume(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_resume' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.complete(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_complete' LANGUAGE C VOLATILE;
CREATE FUNCTION abx.archive(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_archive' LANGUAGE C VOLATILE;

CREATE FUNCTION abx.assign(experiment text, subject text, context jsonb DEFAULT '{}',
                           organization text DEFAULT NULL,
                           OUT variant text, OUT config jsonb, OUT is_new boolean, OUT reason text)
    AS 'MODULE_PATHNAME', 'abx_assign' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.assign(text, text, jsonb, text) IS
    'Sticky, deterministic assignment. variant is NULL when the subject is not assigned; reason says why.';

CREATE FUNCTION abx.assignment(experiment text, subject text, organization text DEFAULT NULL,
                               OUT variant text, OUT config jsonb, OUT assigned_at timestamptz)
    AS 'MODULE_PATHNAME', 'abx_get_assignment' LANGUAGE C STABLE;

CREATE FUNCTION abx.track(experiment text, subject text, event text,
                          value double precision DEFAULT 1, ts timestamptz DEFAULT NULL,
                          meta jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL,
                          organization text DEFAULT NULL,
                          OUT event_id bigint, OUT variant text, OUT status text)
    AS 'MODULE_PATHNAME', 'abx_track' LANGUAGE C VOLATILE;

CREATE FUNCTION abx.track_batch(events jsonb)
    RETURNS TABLE (item integer, status text, event_id bigint, variant text,
                   error_code text, error_message text)
    AS 'MODULE_PATHNAME', 'abx_track_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.track_batch(jsonb) IS
    'Stores the valid items of a batch; every item gets a row: stored, duplicate or error (SQLSTATE + message).';

CREATE FUNCTION abx.ensure_partitions(days_ahead integer DEFAULT 7) RETURNS integer
    AS 'MODULE_PATHNAME', 'abx_ensure_partitions' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.ensure_partitions(integer) IS
    'Creates daily event partitions from yesterday to days_ahead, moving matching rows out of the default partition.';

-- ---------------------------------------------------------------------------------------------
-- DBA view: per experiment and variant, assignments, events and distinct converting subjects.
-- ---------------------------------------------------------------------------------------------
CREATE VIEW abx.variant_overview AS
SELECT e.id AS experiment_id,
       o.key AS organization,
       e.code AS experiment,
       e.status,
       v.key AS variant,
       v.is_control,
       v.weight,
       (SELECT count(*) FROM abx.assignments a
         WHERE a.experiment_id = e.id AND a.variant_id = v.id) AS assignments,
       coalesce(ev.events, 0) AS events,
       coalesce(ev.converting_subjects, 0) AS converting_subjects
  FROM abx.experiments e
  JOIN abx.variants v ON v.experiment_id = e.id
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
  LEFT JOIN LATERAL (
        SELECT count(*) AS events, count(DISTINCT x.subject) AS converting_subjects
          FROM abx.events x WHERE x.experiment_id = e.id AND x.variant_id = v.id) ev ON true;
COMMENT ON VIEW abx.variant_overview IS
    'Per experiment and variant: assigned subjects, events, and distinct subjects with at least one event.';

-- ---------------------------------------------------------------------------------------------
-- Analysis
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.aggregate(experiment text DEFAULT NULL, organization text DEFAULT NULL)
    RETURNS TABLE (experiment_code text, organization_key text, events bigint, subjects bigint,
                   assignments bigint, buckets bigint, events_total bigint, runs bigint)
    AS 'MODULE_PATHNAME', 'abx_aggregate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.aggregate(text, text) IS
    'Folds the events of transactions finished since the last run into buckets, per-subject totals and per-variant statistics; one experiment, or all running, paused and completed ones.';

CREATE FUNCTION abx.results(experiment text, organization text DEFAULT NULL)
    RETURNS TABLE (variant text, is_control boolean, metric text, kind text, role text,
                   n double precision, mean double precision, sd double precision,
                   mean_lower double precision, mean_upper double precision,
                   abs_lift double precision, abs_lift_lower double precision, abs_lift_upper double precision,
                   rel_lift double precision, rel_lift_lower double precision, rel_lift_upper double precision,
                   p_value double precision, p_value_holm double precision,
                   seq_p_value double precision, seq_lower double precision, seq_upper double precision,
                   chance_to_beat_control double precision, expected_loss double precision,
                   prob_best double precision, note text)
    AS 'MODULE_PATHNAME', 'abx_results' LANGUAGE C STABLE;

CREATE FUNCTION abx.srm(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_srm' LANGUAGE C STABLE;
CREATE FUNCTION abx.insights(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_insights' LANGUAGE C STABLE;
CREATE FUNCTION abx.evaluate_winner(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_evaluate_winner' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.evaluate_winner(text, text) IS
    'Applies the winner policy and safety checks to the current results; no side effect.';

CREATE VIEW abx.running_results AS
SELECT e.code AS experiment, o.key AS organization, r.*
  FROM abx.experiments e
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
  CROSS JOIN LATERAL abx.results(e.code, o.key) r
 WHERE e.status = 'running';
