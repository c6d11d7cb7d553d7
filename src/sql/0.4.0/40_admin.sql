
-- ---------------------------------------------------------------------------------------------
-- Seed 004, admin API (experiments:admin; the gateway's Basic-auth superadmin runs as abx_admin)
-- and the internal cron routes; the experiment list seed 002 shares.
-- ---------------------------------------------------------------------------------------------

-- The experiments a session sees, newest last: its organization's and the global ones (all of
-- them for a superuser without an organization), filtered by query.status, paged by query.limit
-- (100, at most 1000) and query.offset. experiments:read, named for the calling route.
CREATE FUNCTION abx.http_experiment_list(query jsonb, function_name text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    wanted text;
    lim double precision;
    skip double precision;
    total bigint;
    items jsonb;
BEGIN
    IF query IS NULL OR function_name IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN query IS NULL THEN 'query' ELSE 'function_name' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM abx.require_right('experiments:read', function_name, false);
    PERFORM abx.http_keys(query, 'query', ARRAY['status', 'limit', 'offset', 'orgId']);
    wanted := abx.http_field(query, 'query', 'status', 'string') #>> '{}';
    IF wanted NOT IN ('draft', 'running', 'paused', 'completed', 'archived') THEN
        RAISE EXCEPTION 'invalid query.status: must be draft, running, paused, completed or archived'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    lim := coalesce(abx.http_number(query, 'query', 'limit'), 100);
    skip := coalesce(abx.http_number(query, 'query', 'offset'), 0);
    IF lim <> trunc(lim) OR lim NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid query.limit: must be an integer from 1 to 1000' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    IF skip <> trunc(skip) OR skip NOT BETWEEN 0 AND 1e9 THEN
        RAISE EXCEPTION 'invalid query.offset: must be an integer from 0 to 1000000000' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    SELECT count(*) INTO total FROM abx.experiments e
     WHERE (e.organization_id IS NULL OR abx.organization_visible(e.organization_id))
       AND (wanted IS NULL OR e.status = wanted);
    SELECT coalesce(jsonb_agg(x.doc ORDER BY x.id), '[]') INTO items FROM (
        SELECT e.id, jsonb_build_object(
                   'id', e.id, 'code', e.code, 'organization', o.key, 'name', e.name,
                   'description', e.description, 'status', e.status, 'kind', e.kind,
                   'coverage', e.coverage, 'created_at', e.created_at, 'updated_at', e.updated_at,
                   'started_at', e.started_at, 'paused_at', e.paused_at, 'completed_at', e.completed_at,
                   'archived_at', e.archived_at,
                   'winner', jsonb_build_object('variant', e.winner_variant, 'decided_at', e.winner_decided_at,
                                                'reason', e.winner_reason),
                   'promoted_variant', (SELECT p.key FROM abx.variants p WHERE p.id = e.promoted_variant_id),
                   'variants', (SELECT jsonb_agg(jsonb_build_object('key', v.key, 'name', v.name, 'weight', v.weight,
                                                                    'is_control', v.is_control) ORDER BY v.position)
                                  FROM abx.variants v WHERE v.experiment_id = e.id)) AS doc
          FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
         WHERE (e.organization_id IS NULL OR abx.organization_visible(e.organization_id))
           AND (wanted IS NULL OR e.status = wanted)
         ORDER BY e.id LIMIT lim::integer OFFSET skip::bigint) x;
    RETURN jsonb_build_object('experiments', items, 'total', total, 'limit', lim::integer, 'offset', skip::bigint);
END
$$;

-- GET /api/admin/experiments
CREATE FUNCTION abx.http_admin_list(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_list');
    RETURN abx.http_experiment_list(query, 'abx.http_admin_list');
END
$$;

-- POST /api/admin/experiments (201): the body is abx.create_experiment's spec.
CREATE FUNCTION abx.http_admin_create(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    st text; msg text; det text; hin text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_create', ARRAY['orgId']);
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'invalid body: must be a JSON object (the experiment spec)' USING ERRCODE = 'invalid_text_representation';
    END IF;
    BEGIN
        RETURN abx.create_experiment(body);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"*": "body.", "spec": "body"}', det, hin);
    END;
END
$$;

-- GET /api/admin/experiments/:id
CREATE FUNCTION abx.http_admin_get(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.experiment(abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_get', ARRAY['orgId'], 'id'));
END
$$;

-- PATCH /api/admin/experiments/:id: the body is abx.update_experiment's patch.
CREATE FUNCTION abx.http_admin_update(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    st text; msg text; det text; hin text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_update', ARRAY['orgId'], 'id');
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'invalid body: must be a JSON object (the patch)' USING ERRCODE = 'invalid_text_representation';
    END IF;
    BEGIN
        RETURN abx.update_experiment(code, body);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"*": "body.", "patch": "body"}', det, hin);
    END;
END
$$;

-- DELETE /api/admin/experiments/:id: a draft is deleted; anything else is archived (completed
-- first when it is running or paused), so what ran keeps its history.
CREATE FUNCTION abx.http_admin_delete(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    status text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_delete', ARRAY['orgId'], 'id');
    status := abx.experiment(code) ->> 'status';
    IF status = 'draft' THEN
        RETURN jsonb_build_object('deleted', true, 'archived', false, 'experiment', abx.delete_experiment(code));
    END IF;
    IF status IN ('running', 'paused') THEN
        PERFORM abx.complete(code);
    END IF;
    RETURN jsonb_build_object('deleted', false, 'archived', true, 'experiment', abx.archive(code));
END
$$;

-- GET /api/admin/experiments/:id/metrics: seed 004's metric buckets (query.from, query.to as RFC
-- 3339, query.eventKey; at most query.limit of them, 1000 by default) and the results.
CREATE FUNCTION abx.http_admin_metrics(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    ref_code text;
    results jsonb;
    since timestamptz;
    until timestamptz;
    wanted_key text;
    lim double precision;
BEGIN
    ref_code := abx.http_args(path, query, body, 'experiments:admin', 'abx.http_admin_metrics',
                              ARRAY['from', 'to', 'eventKey', 'limit', 'orgId'], 'id');
    since := abx.http_timestamp(query, 'query', 'from');
    until := abx.http_timestamp(query, 'query', 'to');
    wanted_key := abx.http_field(query, 'query', 'eventKey', 'string') #>> '{}';
    lim := coalesce(abx.http_number(query, 'query', 'limit', 1, 100000), 1000);
    -- abx.results finds the experiment whose figures the session may read (the organization's own;
    -- global ones only without an organization) or refuses; the buckets are that experiment's.
    results := (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM abx.results(ref_code) r);
    RETURN jsonb_build_object(
        'experimentCode', ref_code,
        'buckets', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'variantKey', v.key, 'metricKey', b.event_key, 'bucketStart', b.bucket_start,
                               'bucketMs', b.bucket_seconds * 1000, 'count', b.count, 'sum', b.sum,
                               'sumSq', b.sum_sq, 'min', b.min, 'max', b.max)
                           ORDER BY b.bucket_start, v.position, b.event_key), '[]')
                      FROM (SELECT * FROM abx.metric_buckets mb
                             WHERE mb.experiment_id = (SELECT e.id FROM abx.experiments e
                                                        WHERE e.code = ref_code
                                                          AND e.organization_id IS NOT DISTINCT FROM abx.session_organization_id())
                               AND (since IS NULL OR mb.bucket_start >= since)
                               AND (until IS NULL OR mb.bucket_start < until)
                               AND (wanted_key IS NULL OR mb.event_key = wanted_key)
                             ORDER BY mb.bucket_start, mb.variant_id, mb.event_key LIMIT lim::integer) b
                      JOIN abx.variants v ON v.id = b.variant_id),
        'results', results);
END
$$;

-- The internal cron routes (seed 004; seed 001's auto-promotion check is in the promotion part):
-- the bearer token the gateway passes as request.internal_token is checked, then the job's
-- function runs as the extension owner without an organization, as the scheduler runs it.
CREATE FUNCTION abx.http_internal_aggregate(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    runs jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body);
    PERFORM abx.http_require_token('abx.http_internal_aggregate', current_setting('request.internal_token', true));
    runs := abx.as_owner('SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.organization_key NULLS FIRST, a.experiment_code), ''[]'') FROM abx.aggregate() a');
    RETURN jsonb_build_object(
        'experiments', jsonb_array_length(runs),
        'failed', (SELECT count(*) FROM jsonb_array_elements(runs) x WHERE x ->> 'status' = 'error'),
        'events', (SELECT coalesce(sum((x ->> 'events')::bigint), 0) FROM jsonb_array_elements(runs) x),
        'runs', runs);
END
$$;

CREATE FUNCTION abx.http_internal_retention(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body);
    PERFORM abx.http_require_token('abx.http_internal_retention', current_setting('request.internal_token', true));
    RETURN abx.as_owner('SELECT abx.retention()');
END
$$;
