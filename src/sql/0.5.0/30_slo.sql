
-- ---------------------------------------------------------------------------------------------
-- SLO guardrails on Prometheus (seed 000; docs/operations.md, "SLO watcher"). The SLO watcher (a
-- background worker per database, started by the scheduler while an experiment is watched)
-- queries each watched experiment's Prometheus every prometheus.intervalMs and hands the values
-- to abx.slo_record, which records the observation and, after prometheus.breachChecks breached
-- checks in a row, rolls back (promoted) or pauses (running) under the autonomy gate.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.slo_observations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id   bigint NOT NULL REFERENCES abx.experiments (id) ON DELETE CASCADE,
    organization_id bigint REFERENCES abx.organizations (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    latency_p95_ms  double precision,  -- NULL: no value (no data, a failed query, or not checked)
    error_rate      double precision,
    outcome         text NOT NULL CHECK (outcome IN ('ok', 'breach', 'no_data', 'error')),
    message         text,
    consecutive     integer NOT NULL CHECK (consecutive >= 0),  -- breached checks in a row
    action          text NOT NULL DEFAULT 'none'
                    CHECK (action IN ('none', 'rolled_back', 'paused', 'denied', 'failed'))
);
COMMENT ON TABLE abx.slo_observations IS
    'One row per SLO check of an experiment (abx.slo_record); kept 30 days.';
CREATE INDEX slo_observations_experiment ON abx.slo_observations (experiment_id, at);
SELECT pg_catalog.pg_extension_config_dump('abx.slo_observations', '');
SELECT pg_catalog.pg_extension_config_dump('abx.slo_observations_id_seq', '');
REVOKE ALL ON abx.slo_observations FROM PUBLIC;
GRANT SELECT ON abx.slo_observations TO abx_admin, abx_analyst;
ALTER TABLE abx.slo_observations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.slo_observations FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());

CREATE FUNCTION abx.slo_config(prometheus jsonb, sla_target jsonb DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_slo_config' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION abx.slo_config(jsonb, jsonb) IS
    'Checks seed 000''s sla_target and prometheus documents and returns them with the defaults filled in (intervalMs 30000, window 5m, breachChecks 3, timeoutMs 5000, the seed''s queries).';
CREATE FUNCTION abx.set_slo(experiment text, sla_target jsonb DEFAULT NULL, prometheus jsonb DEFAULT NULL,
                            organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_set_slo' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.set_slo(text, jsonb, jsonb, text) IS
    'Sets an experiment''s SLO targets and Prometheus source (SQL NULL: unchanged; JSON null: removed, a removed source stops the watching), audited; returns the effective configuration.';
CREATE FUNCTION abx.slo_record(experiment_id bigint, latency_p95_ms double precision DEFAULT NULL,
                               error_rate double precision DEFAULT NULL, failure text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_slo_record' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.slo_record(bigint, double precision, double precision, text) IS
    'The SLO watcher''s call: records one check (NULL value: no data; failure: Prometheus could not be asked) and acts on consecutive breaches under the autonomy gate.';
CREATE FUNCTION abx.slo_status(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_slo_status' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.slo_status(text, text) IS
    'An experiment''s SLO guardrail: its configuration, whether it is watched, the breach count and the latest observations.';

REVOKE ALL ON FUNCTION abx.slo_config(jsonb, jsonb), abx.set_slo(text, jsonb, jsonb, text),
    abx.slo_record(bigint, double precision, double precision, text), abx.slo_status(text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.slo_config(jsonb, jsonb), abx.set_slo(text, jsonb, jsonb, text),
    abx.slo_record(bigint, double precision, double precision, text), abx.slo_status(text, text)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;

-- The routes' check of seed 000's documents, now the watcher's own (abx.slo_config): also
-- window (a PromQL duration), breachChecks and timeoutMs, and a required baseUrl.
CREATE OR REPLACE FUNCTION abx.http_slo(doc jsonb, prefix text, key text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v jsonb := abx.http_field(doc, prefix, key, 'object');
    f text := prefix || '.' || key;
    n double precision;
    s text;
    st text; msg text; det text; hin text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF key = 'sla_target' THEN
        PERFORM abx.http_keys(v, f, ARRAY['p95_latency_ms', 'error_rate_threshold']);
        n := abx.http_number(v, f, 'p95_latency_ms');
        IF n <= 0 OR n > 3600000 THEN
            RAISE EXCEPTION 'invalid %.p95_latency_ms: must be in (0, 3600000]', f USING ERRCODE = 'numeric_value_out_of_range';
        END IF;
        n := abx.http_number(v, f, 'error_rate_threshold');
        IF n NOT BETWEEN 0 AND 1 THEN
            RAISE EXCEPTION 'invalid %.error_rate_threshold: must be in [0, 1]', f USING ERRCODE = 'numeric_value_out_of_range';
        END IF;
    ELSIF key = 'prometheus' THEN
        PERFORM abx.http_keys(v, f, ARRAY['baseUrl', 'intervalMs', 'queryLatency', 'queryErrorRate', 'window',
                                          'breachChecks', 'timeoutMs']);
        s := abx.http_field(v, f, 'baseUrl', 'string', true) #>> '{}';
        IF s !~ '^https?://[^\s/]+' OR length(s) > 2048 THEN
            RAISE EXCEPTION 'invalid %.baseUrl: must be an http(s) URL of at most 2048 characters', f
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        n := abx.http_number(v, f, 'intervalMs');
        IF n < 1000 OR n > 86400000 THEN
            RAISE EXCEPTION 'invalid %.intervalMs: must be in [1000, 86400000]', f USING ERRCODE = 'numeric_value_out_of_range';
        END IF;
        FOREACH s IN ARRAY ARRAY['queryLatency', 'queryErrorRate', 'window'] LOOP
            IF length(abx.http_field(v, f, s, 'string') #>> '{}') > 4096 THEN
                RAISE EXCEPTION 'invalid %.%: at most 4096 characters', f, s USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        BEGIN
            PERFORM abx.slo_config(v);
        EXCEPTION WHEN data_exception THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                    hin = PG_EXCEPTION_HINT;
            PERFORM abx.http_reraise(st, msg, jsonb_build_object('*', prefix || '.'), det, hin);
        END;
    ELSE
        RAISE EXCEPTION 'invalid key: must be sla_target or prometheus' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
END
$$;

-- Readiness gains the slo check: 50_probes.sql.

-- GET /api/meta/experiments/:id/metrics (experiments:read): the SLO documents, assigned
-- subjects per variant, the results per variant and metric, and the SRM check; since 0.5.0 also
-- the SLO guardrail's state (abx.slo_status: watched, breach count, latest checks).
CREATE OR REPLACE FUNCTION abx.http_meta_metrics(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    doc jsonb;
    results jsonb;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_meta_metrics', ARRAY['orgId'], 'id');
    doc := abx.experiment(code);
    -- The statistics first: they are the organization's own experiment's only (abx.results
    -- refuses a global one from inside an organization), as are the assignment counts below.
    results := (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM abx.results(code) r);
    RETURN jsonb_build_object(
        'experiment', jsonb_build_object('id', doc -> 'id', 'code', doc -> 'code', 'name', doc -> 'name',
                                         'status', doc -> 'status', 'organization', doc -> 'organization',
                                         'started_at', doc -> 'started_at'),
        'sla_target', (SELECT e.sla_target FROM abx.experiments e WHERE e.id = (doc ->> 'id')::bigint),
        'prometheus', (SELECT e.prometheus FROM abx.experiments e WHERE e.id = (doc ->> 'id')::bigint),
        'assignments', (SELECT coalesce(jsonb_agg(jsonb_build_object('variant', v.key, 'assigned', coalesce(va.assigned, 0))
                                                  ORDER BY v.position), '[]')
                          FROM abx.variants v
                          LEFT JOIN abx.variant_assignments va ON va.variant_id = v.id
                         WHERE v.experiment_id = (doc ->> 'id')::bigint),
        'results', results,
        'srm', abx.srm(code),
        'slo', abx.slo_status(code));
END
$$;
