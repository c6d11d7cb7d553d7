
-- ---------------------------------------------------------------------------------------------
-- Seed 001: promotion, with its {success, data, message} envelope (the gateway wraps errors in
-- it too). :name is the experiment's code (or numeric id). Confidence and improvement are in
-- percent, as seed 001 shows them (abx keeps fractions).
-- ---------------------------------------------------------------------------------------------

-- Seed 001's thresholds as a winner-policy overlay: minSampleSize (assignments per variant),
-- minConfidenceLevel and minImprovementPercent (percent), minRuntimeHours, maxErrorRate (a
-- fraction, as AUTO_PROMOTION_MAX_ERROR_RATE). The caller checks which fields may be there.
CREATE FUNCTION abx.http_promotion_config(doc jsonb, prefix text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    overlay jsonb := '{}';
    n double precision;
    r record;
BEGIN
    n := abx.http_number(doc, prefix, 'minSampleSize', 0, 1000000000);
    IF n IS NOT NULL THEN
        overlay := overlay || jsonb_build_object('min_assignments', n::bigint);
    END IF;
    -- The other thresholds: bounded numbers, percentages scaled to abx's fractions. Checked in
    -- this order, so the first bad one is the one reported.
    FOR r IN SELECT * FROM (VALUES
            ('minConfidenceLevel', 'confidence', 50, 99.99, 100, 'a percentage from 50 to 99.99'),
            ('minImprovementPercent', 'min_improvement', 0, 10000, 100, 'a percentage from 0 to 10000'),
            ('minRuntimeHours', 'pick_after_hours', 0, 8784, 1, 'from 0 to 8784'),
            ('maxErrorRate', 'max_error_rate', 0, 1, 1, 'a fraction from 0 to 1'))
            AS t(field, policy_key, low, high, per, bounds)
    LOOP
        n := abx.http_number(doc, prefix, r.field);
        IF n NOT BETWEEN r.low AND r.high THEN
            RAISE EXCEPTION 'invalid %.%: must be %', prefix, r.field, r.bounds USING ERRCODE = 'numeric_value_out_of_range';
        ELSIF n IS NOT NULL THEN
            overlay := overlay || jsonb_build_object(r.policy_key, n / r.per);
        END IF;
    END LOOP;
    RETURN overlay;
END
$$;

-- A winner evaluation as seed 001's eligibility.
CREATE FUNCTION abx.http_eligibility(name text, evaluation jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    eligible boolean := coalesce((evaluation ->> 'eligible')::boolean, false);
BEGIN
    IF name IS NULL OR evaluation IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN name IS NULL THEN 'name' ELSE 'evaluation' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN jsonb_build_object(
        'experimentName', name,
        'isEligible', eligible,
        'winner', evaluation -> 'winner',
        'winnerVariantId', evaluation -> 'winner',
        'control', evaluation -> 'control',
        'confidence', round((evaluation ->> 'confidence')::numeric * 100, 2),
        'improvement', round((evaluation ->> 'improvement')::numeric * 100, 2),
        'sampleSize', evaluation -> 'sample_size',
        'reasons', CASE WHEN eligible AND coalesce(jsonb_array_length(evaluation -> 'reasons'), 0) = 0
                        THEN '["All safety checks passed"]'::jsonb ELSE evaluation -> 'reasons' END,
        'warnings', evaluation -> 'warnings',
        'safetyChecks', jsonb_build_object(
            'minSampleSize', evaluation #> '{checks,min_sample_size,passed}',
            'minConfidence', evaluation #> '{checks,min_confidence,passed}',
            'minImprovement', evaluation #> '{checks,min_improvement,passed}',
            'minRuntime', evaluation #> '{checks,min_runtime,passed}',
            'errorRateAcceptable', evaluation #> '{checks,error_rate_acceptable,passed}'),
        'checks', evaluation -> 'checks');
END
$$;

-- GET /api/monitoring/experiments/:name/promote (experiments:read): eligibility under the
-- experiment's winner policy, with the query's thresholds instead where given.
CREATE FUNCTION abx.http_promotion_eligibility(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    name text;
    code text;
    config jsonb;
    data jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:read', 'abx.http_promotion_eligibility',
                          ARRAY['minSampleSize', 'minConfidenceLevel', 'minImprovementPercent', 'minRuntimeHours',
                                'maxErrorRate', 'orgId']);
    name := abx.http_field(path, 'path', 'name', 'string', true) #>> '{}';
    -- One statement each: the order of a call's arguments is the planner's, and the first error
    -- reported must not depend on it (the path first, then the query).
    code := abx.http_code(name, 'path.name');
    config := abx.http_promotion_config(query, 'query');
    data := abx.http_eligibility(name, abx.evaluate_winner_with(code, config));
    RETURN jsonb_build_object('success', true, 'data', data, 'message',
        format('Experiment %s is %seligible for promotion', name,
               CASE WHEN (data ->> 'isEligible')::boolean THEN '' ELSE 'not ' END));
END
$$;

-- POST /api/monitoring/experiments/:name/promote (experiments:lifecycle): {promotionType,
-- promotedBy, userId, config}. Promotes the winner when it is eligible under the experiment's
-- policy with body.config's thresholds (55000 with the reasons otherwise). A person promotes
-- here ("manual"); "auto" promotions are the job's (POST /api/monitoring/auto-promotion/check).
CREATE FUNCTION abx.http_promote(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    name text;
    code text;
    by_whom text;
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
    PERFORM abx.http_keys(body, 'body', ARRAY['promotionType', 'promotedBy', 'userId', 'config']);
    IF coalesce(abx.http_field(body, 'body', 'promotionType', 'string') #>> '{}', 'manual') <> 'manual' THEN
        RAISE EXCEPTION 'invalid body.promotionType: must be "manual" (a person promotes here; automatic promotions are the auto-promotion job''s)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    by_whom := coalesce(abx.http_field(body, 'body', 'promotedBy', 'string'), abx.http_field(body, 'body', 'userId', 'string')) #>> '{}';
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
                             'via the HTTP API' || coalesce(' by ' || by_whom, ''));
    eligibility := abx.http_eligibility(name, evaluation);  -- its percentages are the promotion's
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'promotion', jsonb_build_object(
            'id', promotion -> 'promotion', 'experimentName', name,
            'promotedVariantName', promotion -> 'winner', 'promotionType', 'manual',
            'promotedBy', coalesce(by_whom, promotion ->> 'promoted_by'),
            'confidence', eligibility -> 'confidence', 'improvement', eligibility -> 'improvement',
            'warnings', promotion -> 'warnings', 'promotedAt', abx.now()),
        'eligibility', eligibility),
        'message', format('Successfully promoted variant %s to production', promotion ->> 'winner'));
END
$$;

-- DELETE /api/monitoring/experiments/:name/promote (experiments:lifecycle): {reason,
-- rolledBackBy}; abx.rollback restores the state before the promotion.
CREATE FUNCTION abx.http_rollback(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    name text;
    reason text;
    by_whom text;
    done jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_rollback', ARRAY['orgId']);
    name := abx.http_field(path, 'path', 'name', 'string', true) #>> '{}';
    PERFORM abx.http_keys(body, 'body', ARRAY['reason', 'rolledBackBy', 'userId']);
    reason := abx.http_field(body, 'body', 'reason', 'string', true) #>> '{}';
    IF btrim(reason) = '' THEN
        RAISE EXCEPTION 'invalid body.reason: must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    by_whom := coalesce(abx.http_field(body, 'body', 'rolledBackBy', 'string'), abx.http_field(body, 'body', 'userId', 'string')) #>> '{}';
    done := abx.rollback(abx.http_code(name, 'path.name'), reason || coalesce(' (by ' || by_whom || ')', ''));
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'experimentName', name, 'promotionId', done -> 'promotion',
        'rolledBackVariantName', done -> 'rolled_back', 'reason', reason,
        'rolledBackBy', coalesce(by_whom, done ->> 'rolled_back_by'), 'rollbackAt', abx.now(),
        'restoredStatus', done #> '{restored,status}'),
        'message', format('Successfully rolled back the promotion of variant %s', done ->> 'rolled_back'));
END
$$;

-- GET /api/monitoring/experiments/:name/history (experiments:read): newest first.
CREATE FUNCTION abx.http_promotion_history(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    name text;
    history jsonb;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_promotion_history', ARRAY['orgId'], 'name');
    name := path ->> 'name';
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', h -> 'id', 'promotedVariantName', h -> 'winner', 'controlVariantName', h -> 'control',
               'confidence', round((h ->> 'confidence')::numeric * 100, 2),
               'improvement', round((h ->> 'improvement')::numeric * 100, 2),
               'sampleSize', h -> 'sample_size', 'promotionType', h -> 'type', 'promotedBy', h -> 'promoted_by',
               'promotedAt', h -> 'promoted_at', 'warnings', h -> 'warnings', 'rollbackAt', h -> 'rolled_back_at',
               'rolledBackBy', h -> 'rolled_back_by', 'rollbackReason', h -> 'rollback_reason')
               ORDER BY n), '[]')
      INTO history
      FROM jsonb_array_elements(abx.promotion_history(code)) WITH ORDINALITY x(h, n);
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'experimentName', name, 'history', history, 'count', jsonb_array_length(history),
        'latestPromotion', history -> 0),
        'message', format('%s promotion(s) of %s', jsonb_array_length(history), name));
END
$$;

-- POST /api/monitoring/auto-promotion/check (internal token, as request.internal_token or seed
-- 001's body.cronSecret): runs the hourly auto-promotion now, as the extension owner. {userId,
-- config: {requireManualApproval}}: approval is the server's setting or the experiment's policy,
-- so a config that contradicts abx.promotion_require_manual_approval is refused, not ignored.
CREATE FUNCTION abx.http_auto_promotion_check(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    doc jsonb := body;
    config jsonb;
    approval jsonb;
    outcomes jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body);
    IF jsonb_typeof(doc) = 'null' THEN
        doc := '{}';
    END IF;
    PERFORM abx.http_require_token('abx.http_auto_promotion_check',
        coalesce(nullif(current_setting('request.internal_token', true), ''),
                 abx.http_field(doc, 'body', 'cronSecret', 'string') #>> '{}'));
    PERFORM abx.http_keys(doc, 'body', ARRAY['userId', 'cronSecret', 'config']);
    PERFORM abx.http_field(doc, 'body', 'userId', 'string');
    config := coalesce(abx.http_field(doc, 'body', 'config', 'object'), '{}');
    PERFORM abx.http_keys(config, 'body.config', ARRAY['requireManualApproval']);
    approval := abx.http_field(config, 'body.config', 'requireManualApproval', 'boolean');
    IF approval IS NOT NULL AND approval::boolean <> current_setting('abx.promotion_require_manual_approval')::boolean THEN
        RAISE EXCEPTION 'invalid body.config.requireManualApproval: the server''s setting abx.promotion_require_manual_approval is %; change it there or in the experiments'' winner_policy',
            current_setting('abx.promotion_require_manual_approval') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    outcomes := abx.as_owner('SELECT abx.auto_promote()');
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'checked', jsonb_array_length(outcomes),
        'promoted', (SELECT count(*) FROM jsonb_array_elements(outcomes) o WHERE o ->> 'action' = 'promoted'),
        'approvalRequested', (SELECT count(*) FROM jsonb_array_elements(outcomes) o WHERE o ->> 'action' = 'approval_requested'),
        'denied', (SELECT count(*) FROM jsonb_array_elements(outcomes) o WHERE o ->> 'action' = 'denied'),
        'errors', (SELECT count(*) FROM jsonb_array_elements(outcomes) o WHERE o ->> 'action' = 'error'),
        'results', outcomes),
        'message', format('Auto-promotion check complete: %s checked, %s promoted', jsonb_array_length(outcomes),
                          (SELECT count(*) FROM jsonb_array_elements(outcomes) o WHERE o ->> 'action' = 'promoted')));
END
$$;
