
-- ---------------------------------------------------------------------------------------------
-- Seed 000: META experiments, gated by autonomy.
-- ---------------------------------------------------------------------------------------------

-- The autonomy gate of the META routes: with abx.allow_autonomy or the session organization's
-- policy off, the call is refused (42501) and a policy denial is audited like the jobs' ones
-- (policy.deny, error code policy, the feature and reason). The organization's row is read FOR
-- SHARE, as the jobs read it, so a concurrent abx.set_autonomy is waited for.
CREATE FUNCTION abx.http_require_autonomy(feature text, function_name text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org bigint;
    org_key text;
    allowed boolean;
    why text;
BEGIN
    IF feature IS NULL OR function_name IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN feature IS NULL THEN 'feature' ELSE 'function_name' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    org := abx.session_organization_id();
    IF org IS NOT NULL THEN
        SELECT o.key, p.allow_autonomy INTO org_key, allowed
          FROM abx.organizations o LEFT JOIN abx.autonomy_policies p ON p.organization_id = o.id
         WHERE o.id = org FOR SHARE OF o;
    END IF;
    -- The reasons are the jobs' (policy_denies_total groups by them).
    IF NOT current_setting('abx.allow_autonomy')::boolean THEN
        why := 'autonomy is off for the server (abx.allow_autonomy)';
    ELSIF NOT coalesce(allowed, true) THEN
        why := 'autonomy is off for the organization (abx.set_autonomy)';
    END IF;
    IF why IS NOT NULL THEN
        PERFORM abx.refuse(function_name, 'policy denied: ' || feature || ': ' || why, org_key, feature, why);
    END IF;
END
$$;

-- Seed 000's SLO documents, checked: sla_target {p95_latency_ms > 0, error_rate_threshold in
-- [0, 1]}, prometheus {baseUrl http(s), intervalMs >= 1000, queryLatency, queryErrorRate, window}.
CREATE FUNCTION abx.http_slo(doc jsonb, prefix text, key text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v jsonb := abx.http_field(doc, prefix, key, 'object');
    f text := prefix || '.' || key;
    n double precision;
    s text;
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
        PERFORM abx.http_keys(v, f, ARRAY['baseUrl', 'intervalMs', 'queryLatency', 'queryErrorRate', 'window']);
        s := abx.http_field(v, f, 'baseUrl', 'string') #>> '{}';
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
    ELSE
        RAISE EXCEPTION 'invalid key: must be sla_target or prometheus' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
END
$$;

-- Stores an experiment's SLO documents (NULL: unchanged), audited. Owner-run callers only.
CREATE FUNCTION abx.http_store_slo(experiment_id bigint, sla_target jsonb DEFAULT NULL,
                                   prometheus jsonb DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org bigint;
BEGIN
    IF experiment_id IS NULL THEN
        RAISE EXCEPTION 'experiment_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE abx.experiments e
       SET sla_target = coalesce(http_store_slo.sla_target, e.sla_target),
           prometheus = coalesce(http_store_slo.prometheus, e.prometheus)
     WHERE e.id = http_store_slo.experiment_id
    RETURNING e.organization_id INTO org;
    PERFORM abx.audit_append('experiment.slo', 'experiment:' || experiment_id, org, experiment_id,
        jsonb_strip_nulls(jsonb_build_object('after', jsonb_build_object('sla_target', sla_target,
                                                                         'prometheus', prometheus))));
END
$$;

-- POST /api/meta/experiments/start (experiments:lifecycle, 201): creates and starts an experiment
-- {name, goal, sla_target, prometheus}; code defaults to the name made a key, variants to a
-- control and a treatment; metrics, winner_policy and analysis as in abx.create_experiment.
CREATE FUNCTION abx.http_meta_start(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    name text;
    sla jsonb;
    prom jsonb;
    spec jsonb;
    doc jsonb;
    st text; msg text; det text; hin text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_meta_start', ARRAY['orgId']);
    PERFORM abx.http_keys(body, 'body', ARRAY['name', 'goal', 'code', 'sla_target', 'prometheus', 'variants',
                                              'metrics', 'winner_policy', 'analysis']);
    name := abx.http_field(body, 'body', 'name', 'string', true) #>> '{}';
    sla := abx.http_slo(body, 'body', 'sla_target');
    prom := abx.http_slo(body, 'body', 'prometheus');
    spec := jsonb_build_object(
        'code', coalesce(abx.http_field(body, 'body', 'code', 'string') #>> '{}', abx.http_slug(name, 'body.name', 128)),
        'name', name,
        'description', coalesce(abx.http_field(body, 'body', 'goal', 'string') #>> '{}', ''),
        'variants', coalesce(body -> 'variants', '[{"key": "control", "is_control": true}, {"key": "treatment"}]'))
        || (body - ARRAY['name', 'goal', 'code', 'sla_target', 'prometheus', 'variants']);
    PERFORM abx.http_require_autonomy('meta.experiments.start', 'abx.http_meta_start');
    BEGIN
        doc := abx.create_experiment(spec);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"*": "body.", "description": "body.goal"}', det, hin);
    END;
    doc := abx.start(doc ->> 'code');
    IF sla IS NOT NULL OR prom IS NOT NULL THEN
        PERFORM abx.http_store_slo((doc ->> 'id')::bigint, sla, prom);
    END IF;
    RETURN doc || jsonb_build_object('sla_target', sla, 'prometheus', prom);
END
$$;

-- POST /api/meta/experiments/stop (experiments:lifecycle): {id (the numeric id or the code),
-- prometheus}. Stopping pauses, as POST /api/experiments/:id/stop does (start resumes).
CREATE FUNCTION abx.http_meta_stop(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    ref jsonb;
    code text;
    prom jsonb;
    doc jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_meta_stop', ARRAY['orgId']);
    PERFORM abx.http_keys(body, 'body', ARRAY['id', 'prometheus']);
    ref := abx.http_field(body, 'body', 'id', CASE jsonb_typeof(body -> 'id') WHEN 'number' THEN 'number' ELSE 'string' END, true);
    IF jsonb_typeof(ref) = 'number' AND (ref::numeric <> trunc(ref::numeric) OR ref::numeric < 1) THEN
        RAISE EXCEPTION 'invalid body.id: must be an experiment id (a positive integer) or code (a string)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    code := abx.http_code(ref #>> '{}', 'body.id');
    prom := abx.http_slo(body, 'body', 'prometheus');
    PERFORM abx.http_require_autonomy('meta.experiments.stop', 'abx.http_meta_stop');
    doc := abx.pause(code);
    IF prom IS NOT NULL THEN
        PERFORM abx.http_store_slo((doc ->> 'id')::bigint, NULL, prom);
    END IF;
    RETURN doc || (SELECT jsonb_build_object('sla_target', e.sla_target, 'prometheus', e.prometheus)
                     FROM abx.experiments e WHERE e.id = (doc ->> 'id')::bigint);
END
$$;

-- GET /api/meta/experiments/:id/metrics (experiments:read): the SLO documents, assigned
-- subjects per variant, the results per variant and metric, and the SRM check.
CREATE FUNCTION abx.http_meta_metrics(path jsonb, query jsonb, body jsonb) RETURNS jsonb
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
        'srm', abx.srm(code));
END
$$;
