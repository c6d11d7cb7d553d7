-- Fail-fast (seed 002): a variant very likely worse than the best stops being assigned when the
-- experiment opted in and autonomy is allowed; otherwise it stays a recommendation.
SET abx.pinned_now = '2026-09-01 10:00:00+00';
CREATE FUNCTION t.ff_spec(code text, auto_stop boolean) RETURNS jsonb LANGUAGE sql AS $$
SELECT jsonb_build_object('code', code, 'salt', 'ff-' || code,
  'variants', jsonb_build_array(jsonb_build_object('key', 'control', 'is_control', true),
                                jsonb_build_object('key', 'good'), jsonb_build_object('key', 'bad')),
  'metrics', jsonb_build_object('primary', jsonb_build_object('key', 'conv', 'kind', 'rate', 'event', 'buy')),
  'analysis', jsonb_build_object('fail_fast', jsonb_build_object('threshold', 0.95, 'min_samples', 20, 'auto_stop', auto_stop)))
$$;
-- 'bad' never converts; the others convert half the time.
CREATE FUNCTION t.ff_fill(code text, org text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE a record;
BEGIN
    FOR i IN 1 .. 300 LOOP
        SELECT * INTO a FROM abx.assign(code, 'f' || i, '{}', org);
        IF a.variant <> 'bad' AND i % 2 = 0 THEN PERFORM abx.track(code, 'f' || i, 'buy', organization => org); END IF;
    END LOOP;
END $$;
SELECT abx.create_experiment(t.ff_spec('ff_on', true))->>'code', abx.start('ff_on')->>'status';
SELECT abx.create_experiment(t.ff_spec('ff_off', false))->>'code', abx.start('ff_off')->>'status';
SELECT t.ff_fill('ff_on'), t.ff_fill('ff_off');
SELECT count(*) AS aggregated FROM (SELECT abx.aggregate('ff_on') UNION ALL SELECT abx.aggregate('ff_off')) a;
SELECT o->>'experiment' AS experiment, o->>'variant' AS variant, o->>'action' AS action, o->>'reason' AS reason
  FROM jsonb_array_elements(abx.fail_fast_check()) o WHERE o->>'experiment' LIKE 'ff_%' ORDER BY 1, 2;
SELECT v->>'key' AS variant, v->>'weight' AS weight
  FROM jsonb_array_elements(abx.experiment('ff_on')->'variants') v ORDER BY 1;
-- New subjects never get the stopped variant; its subjects keep it.
SELECT count(*) FILTER (WHERE a.variant = 'bad') AS new_bad, count(*) AS new_subjects
  FROM generate_series(1, 200) i, abx.assign('ff_on', 'new' || i) a;
SELECT count(*) > 0 AS bad_subjects_keep_it FROM generate_series(1, 300) i, abx.assign('ff_on', 'f' || i) a WHERE a.variant = 'bad';
-- Once stopped, the next check says so; the action is audited and in the outbox.
SELECT o->>'action' AS again FROM jsonb_array_elements(abx.fail_fast_check()) o WHERE o->>'experiment' = 'ff_on';
SELECT action, change->'after'->>'weight' AS weight FROM abx.audit_log WHERE action = 'experiment.fail_fast_stop';
SELECT type, level, payload->>'variant' AS variant FROM abx.outbox WHERE type = 'experiment.variant_stopped';
-- With autonomy off for the organization, an opted-in experiment gets a policy denial instead.
SELECT abx.create_organization('careful') > 0 AS created;
SELECT abx.set_autonomy('careful', false) IS NOT NULL AS set;
SELECT abx.create_experiment(t.ff_spec('ff_on', true), 'careful')->>'code', abx.start('ff_on', 'careful')->>'status';
SELECT t.ff_fill('ff_on', 'careful');
SELECT count(*) AS aggregated FROM abx.aggregate('ff_on', 'careful');
SELECT o->>'organization' AS organization, o->>'action' AS action FROM jsonb_array_elements(abx.fail_fast_check()) o
 WHERE o->>'experiment' = 'ff_on' AND o->>'organization' = 'careful';
SELECT change->>'feature' AS feature, outcome, error_code FROM abx.audit_log
 WHERE action = 'policy.deny' AND change->>'feature' = 'fail_fast';
SELECT t.err($$SELECT abx.create_experiment(t.ff_spec('x', true) || '{"analysis": {"fail_fast": {"auto_stop": "yes"}}}')$$);
RESET abx.pinned_now;
