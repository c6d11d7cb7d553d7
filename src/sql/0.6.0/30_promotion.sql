
-- ---------------------------------------------------------------------------------------------
-- Promotion as the ops page uses it: a person's promotion carries a reason, and the eligibility
-- says when a promotion waits for approval (so approve and reject are offered only then).
-- ---------------------------------------------------------------------------------------------

-- GET /api/monitoring/experiments/:name/promote (experiments:read), as in 0.4.0, plus
-- pendingApproval: {id, winner, requestedAt, requestedBy} of the approval the auto-promotion
-- requested, or null. SECURITY DEFINER to read abx.approvals (of the experiment the session
-- sees, as abx.evaluate_winner_with found it); the rights are the caller's, checked first.
CREATE OR REPLACE FUNCTION abx.http_promotion_eligibility(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    name text;
    ref_code text;
    config jsonb;
    data jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:read', 'abx.http_promotion_eligibility',
                          ARRAY['minSampleSize', 'minConfidenceLevel', 'minImprovementPercent', 'minRuntimeHours',
                                'maxErrorRate', 'orgId']);
    name := abx.http_field(path, 'path', 'name', 'string', true) #>> '{}';
    -- One statement each: the order of a call's arguments is the planner's, and the first error
    -- reported must not depend on it (the path first, then the query).
    ref_code := abx.http_code(name, 'path.name');
    config := abx.http_promotion_config(query, 'query');
    data := abx.http_eligibility(name, abx.evaluate_winner_with(ref_code, config));
    data := data || jsonb_build_object('pendingApproval', (
        SELECT jsonb_build_object('id', a.id, 'winner', a.winner_variant, 'requestedAt', a.requested_at,
                                  'requestedBy', a.requested_by)
          FROM abx.approvals a JOIN abx.experiments e ON e.id = a.experiment_id
         WHERE e.code = ref_code AND e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()
           AND a.status = 'pending'
         ORDER BY a.id DESC LIMIT 1));
    RETURN jsonb_build_object('success', true, 'data', data, 'message',
        format('Experiment %s is %seligible for promotion', name,
               CASE WHEN (data ->> 'isEligible')::boolean THEN '' ELSE 'not ' END));
END
$$;

-- POST /api/monitoring/experiments/:name/promote (experiments:lifecycle), as in 0.4.0, plus
-- body.reason: why a person promotes, kept with the promotion and in the audit log.
CREATE OR REPLACE FUNCTION abx.http_promote(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    name text;
    code text;
    by_whom text;
    why text;
    config jsonb;
    evaluation jsonb;
    eligibility jsonb;
    promotion jsonb;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_promote', ARRAY['orgId'], 'name');
    name := path ->> 'name';
    IF jsonb_typeof(body) = 'null' THEN
        body := '{}';
    END IF;
    PERFORM abx.http_keys(body, 'body', ARRAY['promotionType', 'promotedBy', 'userId', 'config', 'reason']);
    IF coalesce(abx.http_field(body, 'body', 'promotionType', 'string') #>> '{}', 'manual') <> 'manual' THEN
        RAISE EXCEPTION 'invalid body.promotionType: must be "manual" (a person promotes here; automatic promotions are the auto-promotion job''s)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    by_whom := coalesce(abx.http_field(body, 'body', 'promotedBy', 'string'), abx.http_field(body, 'body', 'userId', 'string')) #>> '{}';
    why := nullif(btrim(abx.http_field(body, 'body', 'reason', 'string') #>> '{}'), '');
    config := coalesce(abx.http_field(body, 'body', 'config', 'object'), '{}');
    PERFORM abx.http_keys(config, 'body.config', ARRAY['minSampleSize', 'minConfidenceLevel', 'minImprovementPercent',
                                                      'minRuntimeHours', 'maxErrorRate']);
    evaluation := abx.evaluate_winner_with(code, abx.http_promotion_config(config, 'body.config'));
    IF NOT (evaluation ->> 'eligible')::boolean THEN
        RAISE EXCEPTION 'experiment "%" is not eligible for promotion: %', code,
            (SELECT string_agg(x, '; ') FROM jsonb_array_elements_text(evaluation -> 'reasons') x)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'GET /api/monitoring/experiments/' || name || '/promote lists the safety checks';
    END IF;
    promotion := abx.promote(code, evaluation ->> 'winner',
                             coalesce(why, 'via the HTTP API') || coalesce(' (by ' || by_whom || ')', ''));
    eligibility := abx.http_eligibility(name, evaluation);  -- its percentages are the promotion's
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'promotion', jsonb_build_object(
            'id', promotion -> 'promotion', 'experimentName', name,
            'promotedVariantName', promotion -> 'winner', 'promotionType', 'manual',
            'promotedBy', coalesce(by_whom, promotion ->> 'promoted_by'), 'reason', why,
            'confidence', eligibility -> 'confidence', 'improvement', eligibility -> 'improvement',
            'warnings', promotion -> 'warnings', 'promotedAt', abx.now()),
        'eligibility', eligibility),
        'message', format('Successfully promoted variant %s to production', promotion ->> 'winner'));
END
$$;
