-- In-database guardrails: a guardrail metric whose one-sided always-valid test shows harm blocks
-- promotion, and (autonomy allowing) pauses a running experiment or rolls back a promoted one,
-- once, audited and written to the outbox; without autonomy, a policy denial instead.
SET abx.pinned_now = '2026-10-01 10:00:00+00';
CREATE FUNCTION t.guard_spec(code text) RETURNS jsonb LANGUAGE sql AS $$
SELECT t.spec(code, jsonb_build_object('metrics', jsonb_build_object(
    'primary', jsonb_build_object('key', 'conv', 'kind', 'rate', 'event', 'buy'),
    'guardrails', jsonb_build_array(jsonb_build_object('key', 'errors', 'kind', 'rate', 'event', 'error',
                                                       'objective', 'minimize'))),
  'winner_policy', jsonb_build_object('min_assignments', 10, 'pick_after_hours', 0, 'confidence', 0.9,
                                      'min_improvement', 0.01)))
$$;
-- Subjects from..to: the treatment converts 60 % and the control 10 %; errors: the treatment
-- `treatment_errors` in 10, the control 1 in 10.
CREATE FUNCTION t.guard_fill(code text, treatment_errors int, org text DEFAULT NULL,
                             first int DEFAULT 1, last int DEFAULT 600) RETURNS int LANGUAGE plpgsql AS $$
DECLARE a record;
BEGIN
    FOR i IN first .. last LOOP
        SELECT * INTO a FROM abx.assign(code, 'g' || i, '{}', org);
        IF (a.variant = 'treatment' AND i % 10 < 6) OR (a.variant = 'control' AND i % 10 = 0) THEN
            PERFORM abx.track(code, 'g' || i, 'buy', organization => org);
        END IF;
        IF (a.variant = 'treatment' AND i % 10 < treatment_errors) OR (a.variant = 'control' AND i % 10 = 9) THEN
            PERFORM abx.track(code, 'g' || i, 'error', organization => org);
        END IF;
    END LOOP;
    RETURN last - first + 1;
END $$;

-- Same error rate in both arms: nothing happens, and the guardrail check passes.
SELECT abx.create_experiment(t.guard_spec('calm'))->>'code', abx.start('calm')->>'status';
SELECT t.guard_fill('calm', 0) AS subjects;

SELECT status FROM abx.aggregate('calm');
SELECT abx.experiment('calm')->>'status' AS status,
       abx.evaluate_winner('calm')->'checks'->'guardrails_clean'->>'status' AS guardrails_clean,
       jsonb_array_length(abx.insights('calm')->'guardrail_failures') AS failures;

-- The treatment errs 5 times in 10 against 1 in 10: harm shown at the first look.
SELECT abx.create_experiment(t.guard_spec('harm'))->>'code', abx.start('harm')->>'status';
SELECT t.guard_fill('harm', 5) AS subjects;
SELECT status FROM abx.aggregate('harm');
SELECT abx.experiment('harm')->>'status' AS status_after_the_run;
SELECT v.key, s.harm_looks, s.harm_p_value < 0.05 AS harm_shown, s.harm_lower > 0 AS bound_above_zero
  FROM abx.variant_metric_stats s JOIN abx.variants v ON v.id = s.variant_id
 WHERE s.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'harm') AND s.metric_key = 'errors'
 ORDER BY v.key;
SELECT f->>'variant' AS variant, f->>'metric' AS metric
  FROM jsonb_array_elements(abx.insights('harm')->'guardrail_failures') f;
SELECT w->'checks'->'guardrails_clean'->>'status' AS guardrails_clean, w->>'eligible' AS eligible,
       w->'checks'->'guardrails_clean'->>'detail' AS detail
  FROM abx.evaluate_winner('harm') w;
SELECT action, change->>'source' AS source, change->>'remedy' AS remedy, change->>'action' AS what,
       change->'evidence'->>'metric' AS metric
  FROM abx.audit_log WHERE action = 'experiment.guardrail_action' AND change->>'source' = 'guardrail_metric';
SELECT type, level, payload->>'action' AS action, payload->>'summary' LIKE '''treatment'' harms guardrail ''errors''%' AS summary
  FROM abx.outbox WHERE type = 'experiment.guardrail_failed';
-- A person resumes it: the failure stays visible, but the system does not pause it again.
SELECT abx.resume('harm')->>'status' AS resumed;
SELECT t.guard_fill('harm', 5, NULL, 601, 700) AS subjects;
SELECT status FROM abx.aggregate('harm');
SELECT abx.experiment('harm')->>'status' AS status, (SELECT count(*) FROM abx.outbox WHERE type = 'experiment.guardrail_failed') AS notices;

-- An analyst may aggregate but not pause: the system acts all the same (as the owner, under the
-- autonomy gate).
SELECT abx.create_experiment(t.guard_spec('harm_analyst'))->>'code', abx.start('harm_analyst')->>'status';
SELECT t.guard_fill('harm_analyst', 5) AS subjects;
SET ROLE abx_analyst;
SELECT status FROM abx.aggregate('harm_analyst');
RESET ROLE;
SELECT abx.experiment('harm_analyst')->>'status' AS status;

-- Without autonomy (the organization's policy): no action, one policy denial and a critical notice.
SELECT abx.create_organization('cautious') > 0 AS created;
SELECT abx.set_autonomy('cautious', false) IS NOT NULL AS set;
SELECT abx.create_experiment(t.guard_spec('harm'), 'cautious')->>'code', abx.start('harm', 'cautious')->>'status';
SELECT t.guard_fill('harm', 5, 'cautious') AS subjects;
SELECT status FROM abx.aggregate('harm', 'cautious');
SELECT abx.experiment('harm', 'cautious')->>'status' AS status;
SELECT change->>'feature' AS feature, outcome, error_code FROM abx.audit_log
 WHERE action = 'policy.deny' AND change->>'feature' = 'guardrail_metric';
SELECT payload->>'organization' AS organization, payload->>'action' AS action, level
  FROM abx.outbox WHERE type = 'experiment.guardrail_failed' AND payload->>'organization' = 'cautious';

-- Promoted, then the promoted variant starts to err: rolled back.
SELECT abx.create_experiment(t.guard_spec('promoted'))->>'code', abx.start('promoted')->>'status';
SELECT t.guard_fill('promoted', 1) AS subjects;
SELECT status FROM abx.aggregate('promoted');
SELECT abx.promote('promoted', 'treatment', 'clear winner') IS NOT NULL AS promoted,
       abx.experiment('promoted')->>'promoted_variant' AS promoted_variant;
-- (the same subjects err after the promotion: events of a completed experiment are still counted)
SELECT count(*) AS errors FROM generate_series(1, 600) i, abx.assignment('promoted', 'g' || i) a,
       LATERAL abx.track('promoted', 'g' || i, 'error') tr
 WHERE a.variant = 'treatment' AND i % 10 BETWEEN 1 AND 5;
SELECT status FROM abx.aggregate('promoted');
SELECT abx.experiment('promoted')->>'status' AS status, abx.experiment('promoted')->>'promoted_variant' AS promoted_variant;
SELECT rollback_reason LIKE 'guardrail metric: ''treatment'' harms guardrail ''errors''%' AS rolled_back_by_the_guardrail
  FROM abx.promotions p JOIN abx.experiments e ON e.id = p.experiment_id WHERE e.code = 'promoted';
-- The per-variant Prometheus series (for Grafana) agree with the assignments and events themselves.
SELECT c -> 'labels' ->> 'variant' AS variant, (c ->> 'value')::bigint AS series,
       (SELECT count(*) FROM abx.assignments a JOIN abx.variants v ON v.id = a.variant_id
         WHERE v.key = c -> 'labels' ->> 'variant'
           AND a.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'calm')) AS assignments
  FROM jsonb_array_elements(abx.http_metrics('{}', '{}', 'null') -> 'counters') c
 WHERE c ->> 'name' = 'experiment_variant_assignments' AND c -> 'labels' ->> 'experiment' = 'calm'
 ORDER BY 1;
SELECT c -> 'labels' ->> 'variant' AS variant, c -> 'labels' ->> 'event_type' AS event_type,
       (c ->> 'value')::bigint AS series,
       (SELECT count(*) FROM abx.events ev JOIN abx.assignments a ON a.experiment_id = ev.experiment_id
                                           AND a.subject = ev.subject
          JOIN abx.variants v ON v.id = a.variant_id
         WHERE ev.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'calm')
           AND v.key = c -> 'labels' ->> 'variant' AND ev.event_key = c -> 'labels' ->> 'event_type') AS events
  FROM jsonb_array_elements(abx.http_metrics('{}', '{}', 'null') -> 'counters') c
 WHERE c ->> 'name' = 'experiment_variant_events_total' AND c -> 'labels' ->> 'experiment' = 'calm'
 ORDER BY 1, 2;
SELECT (SELECT ok FROM abx.verify_audit()) AS audit_chain_ok;
RESET abx.pinned_now;
