
-- POST /api/experiments/:id/track (experiments:events:write): {variant_id, molam_id, event_type,
-- value, metadata, ts, idempotency_key}. A variant_id the client sends must be the subject's
-- stored variant: a mismatch is refused (22023 naming body.variant_id) and nothing is stored,
-- since the event would otherwise count for the variant abx assigned, not the one the client saw.
-- The check reads the assignment (experiments:assign, which every role that tracks holds).
CREATE FUNCTION abx.http_track(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    subject text;
    event text;
    claimed text;
    a record;
    t record;
    st text; msg text; det text; hin text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:events:write', 'abx.http_track', ARRAY['orgId'], 'id');
    PERFORM abx.http_keys(body, 'body', ARRAY['variant_id', 'molam_id', 'event_type', 'value', 'metadata', 'ts',
                                              'idempotency_key']);
    subject := abx.http_field(body, 'body', 'molam_id', 'string', true) #>> '{}';
    event := abx.http_field(body, 'body', 'event_type', 'string', true) #>> '{}';
    claimed := abx.http_field(body, 'body', 'variant_id', 'string') #>> '{}';
    IF jsonb_typeof(body -> 'value') = 'null' THEN
        RAISE EXCEPTION 'body.value must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        IF claimed IS NOT NULL THEN
            SELECT * INTO a FROM abx.assignment(code, subject);
            IF a.variant IS NULL THEN
                RAISE EXCEPTION 'subject "%" has no assignment in experiment "%"', subject, code
                    USING ERRCODE = 'no_data_found';
            ELSIF a.variant <> claimed THEN
                RAISE EXCEPTION 'invalid body.variant_id: subject "%" is assigned variant "%" of experiment "%", not "%"',
                    subject, a.variant, code, claimed USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END IF;
        SELECT * INTO t FROM abx.track(code, subject, event, coalesce(abx.http_number(body, 'body', 'value'), 1),
                                       abx.http_timestamp(body, 'body', 'ts'),
                                       abx.http_field(body, 'body', 'metadata', 'object'),
                                       abx.http_field(body, 'body', 'idempotency_key', 'string') #>> '{}');
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"subject": "body.molam_id", "event": "body.event_type", "value": "body.value",
                                            "ts": "body.ts", "meta": "body.metadata", "idempotency_key": "body.idempotency_key"}',
                                 det, hin);
    END;
    RETURN jsonb_build_object('experiment', code, 'molam_id', subject, 'event_type', event,
                              'event_id', t.event_id, 'variant_id', t.variant, 'status', t.status);
END
$$;

-- GET /api/experiments/:id/results (experiments:read): abx.results' rows and the SRM check.
CREATE FUNCTION abx.http_results(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_results', ARRAY['orgId'], 'id');
    RETURN jsonb_build_object('experiment', code,
                              'results', (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM abx.results(code) r),
                              'srm', abx.srm(code));
END
$$;

-- GET /api/experiments/:id/insights (experiments:read): abx.insights, with seed 002's per-variant
-- primary rate and interval (insights) and, for a bandit, the Thompson-sampling state.
CREATE FUNCTION abx.http_insights(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    ref_code text;
    found jsonb;
BEGIN
    ref_code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_insights', ARRAY['orgId'], 'id');
    -- abx.insights refuses what the session may not read; the bandit state is of the same
    -- experiment (the organization's own, or a global one without an organization).
    found := abx.insights(ref_code);
    RETURN found || jsonb_build_object(
        'experiment', ref_code,
        'insights', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'variant', r.variant, 'metric', r.metric, 'conversion_rate', r.mean,
                                 'samples', r.n, 'confidence_interval',
                                 jsonb_build_object('lower', r.mean_lower, 'upper', r.mean_upper))), '[]')
                       FROM abx.results(ref_code) r WHERE r.role = 'primary'),
        'bandit', (SELECT jsonb_agg(jsonb_build_object('variant', v.key, 'alpha', b.alpha, 'beta', b.beta,
                                                       'samples', b.alpha + b.beta - 2, 'share', b.share)
                                    ORDER BY v.position)
                     FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id
                     JOIN abx.experiments e ON e.id = b.experiment_id
                    WHERE e.code = ref_code
                      AND e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
END
$$;
