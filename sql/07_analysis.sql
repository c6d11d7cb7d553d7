-- Aggregation and analysis: the maintained statistics equal the same numbers computed directly
-- from abx.events with plain SQL; runs are incremental and re-runs harmless.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;
SET abx.pinned_now = '2026-02-01 10:30:00+00';
SELECT abx.create_experiment('{
  "code": "checkout", "salt": "analysis",
  "variants": [{"key": "control", "is_control": true}, {"key": "green"}],
  "metrics": {
    "primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
    "secondary": [{"key": "revenue", "kind": "sum", "event": "purchase"},
                  {"key": "order_value", "kind": "avg", "event": "purchase"},
                  {"key": "cart_to_purchase", "kind": "rate", "event": "purchase", "denominator": "cart"},
                  {"key": "views", "kind": "count", "event": "view"}],
    "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]},
  "winner_policy": {"min_assignments": 1000, "pick_after_hours": 24, "confidence": 0.95, "min_improvement": 0.05,
                    "error_metric": "errors", "max_error_rate": 0.05}
}')->>'status';
SELECT t.err($$SELECT abx.create_experiment('{"code": "bad-metric", "variants": [{"key": "a"}, {"key": "b"}], "metrics": {"primary": {"key": "m", "kind": "median", "event": "x"}}}')$$);
SELECT abx.start('checkout')->>'status';
CREATE TEMP TABLE subjects AS
SELECT i, 's' || i AS subject, (abx.assign('checkout', 's' || i)).variant FROM generate_series(1, 4000) i;
SELECT variant, count(*) FROM subjects GROUP BY 1 ORDER BY 1;

-- Round 1: deterministic behaviour per subject; green converts more often.
CREATE FUNCTION t.round1() RETURNS jsonb LANGUAGE sql AS $$
SELECT jsonb_agg(e) FROM (
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'view',
                            'ts', '2026-02-01T09:15:00Z') AS e FROM subjects
  UNION ALL
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'view',
                            'ts', '2026-02-01T10:05:00Z') FROM subjects WHERE i % 2 = 0
  UNION ALL
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'cart',
                            'ts', '2026-02-01T09:20:00Z') FROM subjects WHERE i % 3 = 0
  UNION ALL
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'purchase',
                            'value', 10 + i % 50, 'ts', '2026-02-01T09:30:00Z')
    FROM subjects WHERE (variant = 'control' AND i % 10 = 0) OR (variant = 'green' AND i % 8 = 0)
  UNION ALL
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'purchase',
                            'value', 5, 'ts', '2026-02-01T10:10:00Z') FROM subjects WHERE i % 40 = 0
  UNION ALL
  SELECT jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'error',
                            'ts', '2026-02-01T09:45:00Z') FROM subjects WHERE i % 50 = 0) x
$$;
SELECT status, count(*) FROM abx.track_batch(t.round1()) GROUP BY 1;

SELECT experiment_code, events, subjects, assignments, buckets, events_total, runs FROM abx.aggregate('checkout');

-- Plain-SQL references, computed from abx.events only.
CREATE VIEW t.expected_buckets AS
SELECT e.variant_id, e.event_key, date_bin('1 hour', e.ts, 'epoch') AS bucket_start,
       count(*) AS count, sum(e.value) AS sum, sum(e.value * e.value) AS sum_sq,
       min(e.value) AS min, max(e.value) AS max
  FROM abx.events e JOIN abx.experiments x ON x.id = e.experiment_id WHERE x.code = 'checkout'
 GROUP BY 1, 2, 3;
CREATE VIEW t.actual_buckets AS
SELECT b.variant_id, b.event_key, b.bucket_start, b.count, b.sum, b.sum_sq, b.min, b.max
  FROM abx.metric_buckets b JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'checkout';
CREATE VIEW t.per_subject AS
WITH x AS (SELECT id FROM abx.experiments WHERE code = 'checkout' AND organization_id IS NULL),
per_subject_events AS (
  SELECT e.subject,
         count(*) FILTER (WHERE e.event_key = 'purchase') AS purchases,
         coalesce(sum(e.value) FILTER (WHERE e.event_key = 'purchase'), 0) AS revenue,
         count(*) FILTER (WHERE e.event_key = 'cart') AS carts,
         count(*) FILTER (WHERE e.event_key = 'view') AS views,
         count(*) FILTER (WHERE e.event_key = 'error') AS errors
    FROM abx.events e JOIN x ON x.id = e.experiment_id GROUP BY 1)
SELECT a.variant_id, a.subject, coalesce(p.purchases, 0) AS purchases, coalesce(p.revenue, 0) AS revenue,
       coalesce(p.carts, 0) AS carts, coalesce(p.views, 0) AS views, coalesce(p.errors, 0) AS errors
  FROM abx.assignments a JOIN x ON x.id = a.experiment_id
  LEFT JOIN per_subject_events p ON p.subject = a.subject;
CREATE VIEW t.expected_stats AS
SELECT variant_id, 'conversion' AS metric, count(*)::float8 AS n,
       count(*) FILTER (WHERE purchases > 0)::float8 AS sum, count(*) FILTER (WHERE purchases > 0)::float8 AS sum_sq
  FROM t.per_subject GROUP BY 1
UNION ALL
SELECT variant_id, 'revenue', count(*), sum(revenue), sum(revenue * revenue) FROM t.per_subject GROUP BY 1
UNION ALL
SELECT variant_id, 'order_value', count(*) FILTER (WHERE purchases > 0),
       coalesce(sum(revenue / purchases) FILTER (WHERE purchases > 0), 0),
       coalesce(sum((revenue / purchases) ^ 2) FILTER (WHERE purchases > 0), 0) FROM t.per_subject GROUP BY 1
UNION ALL
SELECT variant_id, 'cart_to_purchase', count(*) FILTER (WHERE carts > 0),
       count(*) FILTER (WHERE carts > 0 AND purchases > 0), count(*) FILTER (WHERE carts > 0 AND purchases > 0)
  FROM t.per_subject GROUP BY 1
UNION ALL
SELECT variant_id, 'views', count(*), sum(views), sum(views * views) FROM t.per_subject GROUP BY 1
UNION ALL
SELECT variant_id, 'errors', count(*), count(*) FILTER (WHERE errors > 0), count(*) FILTER (WHERE errors > 0)
  FROM t.per_subject GROUP BY 1;
-- abx.results must report the same n and mean, and the sd: sample sd for means, sqrt(p(1 - p)) for rates.
CREATE FUNCTION t.stats_mismatches() RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM t.expected_stats x
  JOIN abx.results('checkout') r ON r.metric = x.metric
  JOIN abx.variants v ON v.id = x.variant_id AND v.key = r.variant
 WHERE abs(r.n - x.n) > 1e-9 OR abs(r.mean - x.sum / nullif(x.n, 0)) > 1e-9
    OR abs(r.sd - CASE WHEN r.kind = 'rate' THEN sqrt(r.mean * (1 - r.mean))
                       ELSE sqrt(greatest((x.sum_sq - x.sum * x.sum / x.n) / nullif(x.n - 1, 0), 0)) END) > 1e-9
$$;
CREATE FUNCTION t.bucket_mismatches() RETURNS bigint LANGUAGE sql AS $$
SELECT (SELECT count(*) FROM (SELECT * FROM t.expected_buckets EXCEPT SELECT * FROM t.actual_buckets) a)
     + (SELECT count(*) FROM (SELECT * FROM t.actual_buckets EXCEPT SELECT * FROM t.expected_buckets) b)
$$;
SELECT t.bucket_mismatches() AS bucket_mismatches, t.stats_mismatches() AS stats_mismatches,
       (SELECT count(*) FROM t.expected_stats) AS stats_checked;
SELECT event_key, sum(count) AS events, min(bucket_start) AS first_bucket, max(bucket_start) AS last_bucket
  FROM t.actual_buckets GROUP BY 1 ORDER BY 1;

-- Re-running finds nothing new.
SELECT events, events_total, runs FROM abx.aggregate('checkout');

-- Round 2: more events for some subjects; the next run reads only those.
SELECT status, count(*) FROM abx.track_batch((
  SELECT jsonb_agg(jsonb_build_object('experiment', 'checkout', 'subject', subject, 'event', 'purchase',
                                      'value', 7, 'ts', '2026-02-01T10:20:00Z'))
    FROM subjects WHERE i % 25 = 0)) GROUP BY 1;
SELECT events, subjects, events_total, runs FROM abx.aggregate() WHERE experiment_code = 'checkout';
SELECT t.bucket_mismatches() AS bucket_mismatches, t.stats_mismatches() AS stats_mismatches;

-- Changing the metric definitions rebuilds the statistics from the per-subject totals.
SELECT jsonb_array_length(abx.update_experiment('checkout', '{"metrics": {
  "primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
  "secondary": [{"key": "revenue", "kind": "sum", "event": "purchase"}, {"key": "order_value", "kind": "avg", "event": "purchase"},
                {"key": "cart_to_purchase", "kind": "rate", "event": "purchase", "denominator": "cart"},
                {"key": "views", "kind": "count", "event": "view"}, {"key": "carts", "kind": "count", "event": "cart"}],
  "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]}}')->'metrics'->'secondary') AS secondary_metrics;
SELECT events FROM abx.aggregate('checkout');
SELECT t.stats_mismatches() AS stats_mismatches;
SELECT v.key, s.n, s.sum FROM abx.variant_metric_stats s JOIN abx.variants v ON v.id = s.variant_id
 WHERE s.metric_key = 'carts' ORDER BY 1;

-- The primary metric against R: prop.test(c(326, 240), c(2048, 1952), correct = FALSE) gives
-- p-value 0.001015835627 and a 95% interval of the difference 0.01470536766 .. 0.05775236800.
SELECT variant, n, mean * n AS converted, round(p_value::numeric, 12) AS p_value,
       round(abs_lift_lower::numeric, 11) AS lower, round(abs_lift_upper::numeric, 11) AS upper
  FROM abx.results('checkout') WHERE metric = 'conversion' ORDER BY variant;
-- Every statistic, rounded (the formulas are unit-tested against R in tests/unit/).
SELECT variant, metric, kind, role, n, round(mean::numeric, 4) AS mean, round(rel_lift::numeric, 4) AS rel_lift,
       round(rel_lift_lower::numeric, 4) AS rel_lo, round(rel_lift_upper::numeric, 4) AS rel_hi,
       round(p_value::numeric, 4) AS p, round(p_value_holm::numeric, 4) AS p_holm,
       round(seq_p_value::numeric, 4) AS seq_p, round(chance_to_beat_control::numeric, 4) AS beat,
       round(expected_loss::numeric, 6) AS loss, round(prob_best::numeric, 4) AS best, note
  FROM abx.results('checkout') ORDER BY variant, role, metric;
SELECT count(*) AS running_result_rows FROM abx.running_results WHERE experiment = 'checkout';
SELECT t.err($$SELECT * FROM abx.results('nope')$$);

-- Insights and the winner policy (evaluation only: nothing changes).
SELECT abx.insights('checkout')->>'recommendation' AS recommendation;
SELECT jsonb_pretty(abx.insights('checkout')->'leader') AS leader;
SELECT key, (value->>'passed')::bool AS passed, value->>'detail' AS detail
  FROM jsonb_each(abx.evaluate_winner('checkout')->'checks') ORDER BY key;
SELECT w->>'eligible' AS eligible, w->>'winner' AS winner, round((w->>'improvement')::numeric, 4) AS improvement,
       w->'warnings' AS warnings
  FROM abx.evaluate_winner('checkout') w;
-- Two days later the runtime check passes; the sequential confidence still decides.
SET abx.pinned_now = '2026-02-03 11:00:00+00';
SELECT key, (value->>'passed')::bool AS passed FROM jsonb_each(abx.evaluate_winner('checkout')->'checks') ORDER BY key;
SELECT count(*) AS stored_promotions_or_changes FROM abx.experiments WHERE code = 'checkout' AND status <> 'running';

-- Sample-ratio mismatch: 5000 vs 5400 subjects under 50/50 weights.
-- R: chisq.test(c(5000, 5400), p = c(0.5, 0.5))$p.value = 8.769942376e-05.
SELECT abx.create_experiment('{"code": "srm", "salt": "srm", "variants": [{"key": "a"}, {"key": "b"}],
  "metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "purchase"}}}')->>'code';
SELECT abx.start('srm')->>'status';
-- (Written directly, as a broken client-side cache or a biased redirect would skew them.)
INSERT INTO abx.assignments (experiment_id, organization_id, subject, variant_id, assigned_at)
SELECT x.id, 0, 'srm-' || i, v.id, abx.now()
  FROM abx.experiments x JOIN abx.variants v ON v.experiment_id = x.id,
       generate_series(1, 10400) i
 WHERE x.code = 'srm' AND v.key = CASE WHEN i <= 5000 THEN 'a' ELSE 'b' END;
SELECT assignments FROM abx.aggregate('srm');  -- results use the counts as of the last aggregation
SELECT s->'mismatch' AS mismatch, round((s->>'p_value')::numeric, 13) AS p_value, s->'observed' AS observed
  FROM abx.srm('srm') s;
SELECT key, (value->>'passed')::bool AS passed FROM jsonb_each(abx.evaluate_winner('srm')->'checks')
 WHERE key = 'srm_clean';

-- A bandit: Thompson sampling moves new subjects to the arm that converts better.
SELECT abx.create_experiment('{"code": "bandit", "kind": "bandit", "salt": "bandit",
  "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "click_rate", "kind": "rate", "event": "click"}},
  "analysis": {"bandit": {"min_share": 0.05, "min_samples": 50, "draws": 20000, "seed": 7}}}')->>'kind';
SELECT abx.start('bandit')->>'status';
CREATE TEMP TABLE bandit_round1 AS
SELECT i, (abx.assign('bandit', 'b' || i)).variant FROM generate_series(1, 900) i;
SELECT variant, count(*) BETWEEN 250 AND 350 AS about_a_third FROM bandit_round1 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS clicks FROM bandit_round1 r,
       LATERAL abx.track('bandit', 'b' || r.i, 'click')
 WHERE (r.variant = 'a' AND r.i % 20 = 0) OR (r.variant = 'b' AND r.i % 4 = 0) OR (r.variant = 'c' AND r.i % 10 = 0);
SELECT events FROM abx.aggregate('bandit');
SELECT v.key, round(b.alpha) AS alpha, round(b.beta) AS beta, round(b.share::numeric, 3) AS share
  FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id ORDER BY 1;
SELECT (abx.assign('bandit', 'late-' || i)).variant, count(*) FROM generate_series(1, 1000) i GROUP BY 1 ORDER BY 1;
-- Assignments stay sticky under the new shares.
SELECT count(*) AS moved FROM bandit_round1 r WHERE (abx.assign('bandit', 'b' || r.i)).variant <> r.variant;
RESET abx.pinned_now;
