
-- ---------------------------------------------------------------------------------------------
-- Results over time: the looks of the aggregation runs (docs/statistics.md, "Looks").
-- ---------------------------------------------------------------------------------------------
-- Each abx.aggregate() run that changed an experiment's statistics (new events or assignments, a
-- rebuild, changed metric definitions) records the figures abx.results reports after it, per
-- variant and metric; an idle run adds nothing. `run` is abx.aggregation_state.runs after the run.
CREATE TABLE abx.result_looks (
    experiment_id          bigint NOT NULL,
    run                    bigint NOT NULL,
    look_at                timestamptz NOT NULL,  -- abx.now() of the run (the test clock in tests)
    variant_id             integer NOT NULL,
    metric_key             text NOT NULL,
    n                      double precision,
    mean                   double precision,
    mean_lower             double precision,
    mean_upper             double precision,
    p_value                double precision,      -- NULL on the control row and where undefined
    seq_p_value            double precision,      -- always-valid: the running minimum over looks
    chance_to_beat_control double precision,
    prob_best              double precision,
    PRIMARY KEY (experiment_id, run, variant_id, metric_key)
);
CREATE INDEX result_looks_by_time ON abx.result_looks (experiment_id, look_at);
COMMENT ON TABLE abx.result_looks IS
    'Per aggregation run that changed an experiment''s statistics: abx.results'' figures after it, per variant and metric (abx.timeline). Thinned by abx.retention().';

-- The Thompson-sampling state of a bandit's arms at each such run, as stored in abx.bandit_arms.
CREATE TABLE abx.bandit_looks (
    experiment_id bigint NOT NULL,
    run           bigint NOT NULL,
    look_at       timestamptz NOT NULL,
    variant_id    integer NOT NULL,
    alpha         double precision NOT NULL,
    beta          double precision NOT NULL,
    share         double precision NOT NULL,
    PRIMARY KEY (experiment_id, run, variant_id)
);
CREATE INDEX bandit_looks_by_time ON abx.bandit_looks (experiment_id, look_at);
COMMENT ON TABLE abx.bandit_looks IS
    'Per aggregation run that changed a bandit''s statistics: each arm''s posterior (alpha, beta) and allocation share (abx.timeline). Thinned by abx.retention().';

SELECT pg_catalog.pg_extension_config_dump('abx.result_looks', '');
SELECT pg_catalog.pg_extension_config_dump('abx.bandit_looks', '');

-- Like the other per-experiment aggregates: the owning organization's, and a global
-- experiment's only without an organization.
REVOKE ALL ON abx.result_looks, abx.bandit_looks FROM PUBLIC;
GRANT SELECT ON abx.result_looks, abx.bandit_looks TO abx_admin, abx_analyst;
ALTER TABLE abx.result_looks ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.result_looks FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
ALTER TABLE abx.bandit_looks ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.bandit_looks FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));

-- The recorded looks of one experiment as one document (docs/sql-api.md, "abx.timeline").
CREATE FUNCTION abx.timeline(experiment text, metric text DEFAULT NULL, organization text DEFAULT NULL,
                             since timestamptz DEFAULT NULL, max_looks integer DEFAULT 500) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_timeline' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.timeline(text, text, text, timestamptz, integer) IS
    'The looks of the aggregation runs (figures per variant and metric, bandit state) from `since` on, in time order; at most max_looks runs (1..5000), spread evenly when there are more.';

-- GET /api/experiments/:id/timeline?metric=&from=&limit= (experiments:read).
CREATE FUNCTION abx.http_timeline(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    wanted text;
    since timestamptz;
    lim double precision;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_timeline',
                          ARRAY['metric', 'from', 'limit', 'orgId'], 'id');
    wanted := abx.http_field(query, 'query', 'metric', 'string') #>> '{}';
    since := abx.http_timestamp(query, 'query', 'from');
    lim := coalesce(abx.http_number(query, 'query', 'limit', 1, 5000), 500);
    -- abx.timeline names the metric as its argument; the request calls it query.metric.
    BEGIN
        RETURN abx.timeline(code, wanted, NULL, since, lim::integer);
    EXCEPTION WHEN invalid_parameter_value THEN
        DECLARE
            st text; msg text; det text; hin text;
        BEGIN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                    hin = PG_EXCEPTION_HINT;
            PERFORM abx.http_reraise(st, msg, '{"metric": "query.metric"}', det, hin);
        END;
    END;
END
$$;

REVOKE ALL ON FUNCTION abx.timeline(text, text, text, timestamptz, integer),
                       abx.http_timeline(jsonb, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.timeline(text, text, text, timestamptz, integer),
                          abx.http_timeline(jsonb, jsonb, jsonb)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
