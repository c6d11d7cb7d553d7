-- Winners and promotion (seeds 001, 004): the hourly auto-promotion, promotion serving the winner
-- to everyone, rollback restoring the state exactly, history, manual approval, the autonomy gate,
-- and the outbox rows each change writes.
SET abx.pinned_now = '2026-08-01 10:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;
CREATE FUNCTION t.promo_spec(code text, policy jsonb) RETURNS jsonb LANGUAGE sql AS $$
SELECT t.spec(code, jsonb_build_object(
    'metrics', jsonb_build_object('primary', jsonb_build_object('key', 'conv', 'kind', 'rate', 'event', 'buy')),
    'winner_policy', jsonb_build_object('min_assignments', 10, 'pick_after_hours', 0, 'confidence', 0.9,
                                        'min_improvement', 0.01) || policy))
$$;
-- Treatment converts 60 %, control 10 %: a clear winner.
CREATE FUNCTION t.fill(code text, org text DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    a record;
    n bigint := 0;
BEGIN
    FOR i IN 1 .. 200 LOOP
        SELECT * INTO a FROM abx.assign(code, 's' || i, '{}', org);
        IF (a.variant = 'treatment' AND i % 10 < 6) OR (a.variant = 'control' AND i % 10 = 0) THEN
            PERFORM abx.track(code, 's' || i, 'buy', organization => org);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;  -- (aggregated by the caller: the aggregation folds in finished transactions)
END $$;
SELECT abx.create_experiment(t.promo_spec('promo', '{"mode": "automatic"}'))->>'code';
SELECT abx.start('promo')->>'status';
SELECT t.fill('promo') > 0 AS filled;
SELECT count(*) AS aggregated FROM abx.aggregate('promo');
SELECT (abx.evaluate_winner('promo'))->>'eligible' AS eligible, (abx.evaluate_winner('promo'))->>'winner' AS winner;
SELECT variant AS stored_s1 FROM abx.assignment('promo', 's1');

-- The hourly job promotes the eligible winner of an automatic policy.
SELECT o->>'experiment' AS experiment, o->>'action' AS action, o->>'winner' AS winner
  FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' LIKE 'promo%';
SELECT status, winner->>'variant' AS winner, promoted_variant FROM jsonb_to_record(abx.experiment('promo'))
    AS x(status text, winner jsonb, promoted_variant text);
-- Everyone is served the winner; the stored assignments stay for analysis.
SELECT a.variant, a.is_new, a.reason FROM abx.assign('promo', 's1') a;
SELECT a.variant, a.is_new, a.reason FROM abx.assign('promo', 'brand-new') a;
SELECT variant AS still_stored_s1 FROM abx.assignment('promo', 's1');
SELECT count(*) AS assignments FROM abx.assignments WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'promo');
-- Twice is refused; so is promoting an experiment that is not running.
SELECT t.err($$SELECT abx.promote('promo')$$);

-- Rollback restores exactly the state before: running, no winner served, stored assignments.
SELECT r - 'restored' - 'promotion' AS rollback FROM abx.rollback('promo', 'error rate spike') r;
SELECT status, promoted_variant FROM jsonb_to_record(abx.experiment('promo')) AS x(status text, promoted_variant text);
SELECT a.variant = (SELECT variant FROM abx.assignment('promo', 's1')) AS stored_again, a.reason FROM abx.assign('promo', 's1') a;
SELECT t.err($$SELECT abx.rollback('promo', 'again')$$);
SELECT jsonb_array_length(h) AS promotions, h->0->>'type' AS type, h->0->>'winner' AS winner,
       h->0->>'rollback_reason' AS rollback_reason, h->0 ? 'metrics_snapshot' AS has_snapshot
  FROM abx.promotion_history('promo') h;

-- The job does not overrule the person who rolled the winner back.
SELECT o->>'action' AS action, o->>'reason' AS reason FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'promo';

-- Manual approval: the job asks once, a person rejects or approves.
SELECT abx.update_experiment('promo', '{"winner_policy": {"mode": "automatic", "require_manual_approval": true, "min_assignments": 10, "pick_after_hours": 0, "confidence": 0.9, "min_improvement": 0.01}}') IS NOT NULL AS updated;
SELECT o->>'action' AS first_run FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'promo';
SELECT o->>'action' AS second_run, o->>'reason' AS reason FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'promo';
SELECT r->>'status' AS status FROM abx.reject('promo', 'not during the sale') r;
SELECT o->>'action' AS after_rejection FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'promo';
SELECT r->>'type' AS type, r->>'winner' AS winner, r->>'reason' AS reason FROM abx.approve('promo') r;
SELECT t.err($$SELECT abx.approve('promo')$$);
SELECT string_agg(status, ',' ORDER BY id) AS approvals FROM abx.approvals
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'promo');

-- The autonomy gate: an organization with autonomy off gets a recommendation and a policy denial.
SELECT abx.create_organization('calm') > 0 AS created;
SELECT abx.set_autonomy('calm', false);
SELECT abx.create_experiment(t.promo_spec('promo', '{"mode": "automatic"}'), 'calm')->>'organization';
SELECT abx.start('promo', 'calm')->>'status';
SELECT t.fill('promo', 'calm') > 0 AS filled;
SELECT count(*) AS aggregated FROM abx.aggregate('promo', 'calm');
SELECT o->>'organization' AS organization, o->>'action' AS action, o->>'reason' AS reason
  FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'promo';
SELECT action, outcome, error_code, change->>'feature' AS feature FROM abx.audit_log WHERE action = 'policy.deny';
SELECT action, outcome, error_code, entries FROM abx.audit_failures WHERE action = 'policy.deny';
SELECT status FROM jsonb_to_record(abx.experiment('promo', 'calm')) AS x(status text);
-- A person may still promote, and may name any variant.
SELECT r->>'winner' AS winner, r->>'type' AS type FROM abx.promote('promo', 'control', 'person decides', 'calm') r;

-- Every change wrote its outbox row (and a NOTIFY on abx_outbox).
SELECT type, level, count(*) FROM abx.outbox
 WHERE experiment_id IN (SELECT id FROM abx.experiments WHERE code = 'promo')
 GROUP BY 1, 2 ORDER BY 1, 2;

-- Rights: promoting is a lifecycle change.
CREATE ROLE promo_reader NOLOGIN IN ROLE abx_reader;
SET ROLE promo_reader;
SELECT t.err($$SELECT abx.rollback('promo', 'x')$$);
SELECT jsonb_array_length(abx.promotion_history('promo')) AS history_readable;
RESET ROLE;
DROP ROLE promo_reader;
RESET abx.pinned_now;
