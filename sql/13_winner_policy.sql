-- The winner policy through SQL: every check with its status, min_conversions, exposures,
-- override_variant, and the error-rate, latency and small-sample warnings, on real aggregated data.
SET abx.pinned_now = '2026-03-07 10:00:00+00';
SELECT abx.create_experiment('{"code": "policy", "salt": "policy",
  "variants": [{"key": "control", "is_control": true}, {"key": "fast"}],
  "metrics": {"primary": {"key": "conv", "kind": "rate", "event": "buy"},
              "secondary": [{"key": "latency", "kind": "avg", "event": "page", "objective": "minimize"}],
              "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]},
  "winner_policy": {"pick_after_hours": 1, "min_assignments": 100, "min_conversions": 40,
                    "confidence": 0.9, "min_improvement": 0.05, "error_metric": "errors",
                    "max_error_rate": 0.2, "latency_metric": "latency"}}')->>'code';
SELECT abx.start('policy')->>'status';
CREATE TEMP TABLE policy_subjects AS
SELECT i, (abx.assign('policy', 'p' || i)).variant FROM generate_series(1, 600) i;
SELECT variant, count(*) > 100 AS over_100 FROM policy_subjects GROUP BY 1 ORDER BY 1;
-- fast converts at 25 %, control at 10 %; fast errs more (8 % vs 4 %) and its pages are 50 % slower.
SELECT count(*) > 0 AS tracked FROM policy_subjects s, LATERAL abx.track('policy', 'p' || s.i, 'buy')
 WHERE (s.variant = 'fast' AND s.i % 4 = 0) OR (s.variant = 'control' AND s.i % 10 = 0);
SELECT count(*) > 0 AS tracked FROM policy_subjects s, LATERAL abx.track('policy', 'p' || s.i, 'error')
 WHERE (s.variant = 'fast' AND s.i % 25 < 2) OR (s.variant = 'control' AND s.i % 25 = 0);
SELECT count(*) > 0 AS tracked FROM policy_subjects s,
       LATERAL abx.track('policy', 'p' || s.i, 'page', CASE s.variant WHEN 'fast' THEN 300 ELSE 200 END)
 WHERE s.i % 2 = 0;
SELECT status FROM abx.aggregate('policy');

-- One hour later every check can run: each has a status; min_conversions counts converted subjects.
SET abx.pinned_now = '2026-03-07 11:30:00+00';
SELECT key, value->>'status' AS status, (value->>'passed')::bool AS passed, value->>'detail' AS detail
  FROM jsonb_each(abx.evaluate_winner('policy')->'checks') ORDER BY key;
SELECT w->>'winner' AS winner, w->>'eligible' AS eligible, jsonb_array_length(w->'warnings') AS warnings
  FROM abx.evaluate_winner('policy') w;
SELECT jsonb_array_elements_text(abx.evaluate_winner('policy')->'warnings') AS warning ORDER BY 1;

-- Too few conversions for the policy: min_conversions fails, naming the variant.
SELECT abx.update_experiment('policy', '{"winner_policy": {"pick_after_hours": 1, "min_assignments": 100,
  "min_conversions": 1000, "confidence": 0.9, "error_metric": "errors", "max_error_rate": 0.2}}')->>'status';
SELECT value->>'status' AS status, value->>'detail' AS detail
  FROM jsonb_each(abx.evaluate_winner('policy')->'checks') WHERE key = 'min_conversions';

-- override_variant: the statistics are skipped, the variant must exist; warnings are still given.
SELECT abx.update_experiment('policy', '{"winner_policy": {"override_variant": "fast", "latency_metric": "latency", "error_metric": "errors"}}')->>'status';
SELECT w->>'winner' AS winner, w->>'eligible' AS eligible, w->'checks'->'override_variant'->>'status' AS override_check,
       jsonb_array_length(w->'warnings') AS warnings
  FROM abx.evaluate_winner('policy') w;
SELECT abx.update_experiment('policy', '{"winner_policy": {"override_variant": "nope"}}')->>'status';
SELECT w->>'eligible' AS eligible, w->'checks'->'override_variant'->>'detail' AS detail
  FROM abx.evaluate_winner('policy') w;

-- Under the default policy, on an experiment without data: the checks that are not configured say
-- so instead of passing, and those that cannot be computed yet are not_evaluable.
SELECT abx.create_experiment(t.spec('empty-policy', '{"metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}'))->>'code';
SELECT abx.start('empty-policy')->>'status';
SELECT key, value->>'status' AS status, (value->>'passed')::bool AS passed
  FROM jsonb_each(abx.evaluate_winner('empty-policy')->'checks') ORDER BY key;
RESET abx.pinned_now;
