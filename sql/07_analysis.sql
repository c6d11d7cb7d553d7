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

-- ---------------------------------------------------------------------------------------------
-- Independent reference values (R; tests/reference/analysis_07.R, README there) for every
-- statistic above: abx.results, the bandit arms, the insights leader. Every boolean must be t.
-- Generated by: Rscript tests/reference/analysis_07.R --sql (the sequential values after the
-- metric update are the script's full-history ones: the memory of unchanged metrics is kept).
-- References are written with 15 significant digits (the R script's table shows 10).
--
-- Tolerances (agreement observed with abx 0.1.0: <= 5e-15 absolute everywhere, <= 2e-14 relative
-- except P(best) of bandit arm a = 2.4e-9, 7e-16 absolute):
--   closed forms (z / Welch p-values, Holm, delta-method relative lift, mSPRT p and interval,
--     normal posteriors of means): |x - ref| <= 1e-9 |ref|. Both sides evaluate the same closed form
--     in double precision (~1e-14 relative at worst, for the bounds that are differences of close
--     numbers); any change of formula, quantile, variance estimate or tau^2 moves them by > 1e-6.
--   Beta-posterior probabilities (chance to beat control, probability of being best):
--     |x - ref| <= 1e-11 + 1e-9 min(ref, 1 - ref). abx computes them with Evan Miller's closed-form
--     sum (chance to beat: every smallest integer parameter here is <= 1000) or Gauss-Legendre
--     quadrature (P(best)), not Monte Carlo (docs/statistics-bayesian.md §1.1, §1.3, §5); the
--     reference uses integrate(rel.tol = 1e-12) and agrees with Miller's sum in R to 1e-13. The
--     absolute term is needed near 0 and 1: a normal approximation of the bandit's P(b > a) is off
--     by only 1.1e-10, and P(a > b) (forgetting arm c) by 1.2e-10 from P(a is best) = 2.4e-9 --
--     both pass a plain 1e-9 but fail 1e-11.
--   Expected loss of Beta posteriors: |x - ref| <= 1e-14 + 1e-9 ref. Reference: the nested integral
--     int f_X(x) int_x^1 (1 - F_Y(y)) dy dx (agrees with Stucchio's identity to 4e-13 relative;
--     the identity itself loses ~1e-18 absolute to cancellation for the bandit's 1.2e-11).
--   bandit alpha / beta are integers: |x - ref| <= 1e-9.
--   bandit shares come from 20000 Thompson draws (Monte Carlo): |x - ref| <= 0.015, more than 4
--     standard errors (4 * 0.5 / sqrt(20000) = 0.0141), against the exact P(best) through the floor
--     (exact P(best) of a and c is 2.4e-9 and 4.8e-5, far below the 0.05 floor).
SET extra_float_digits = 0;
-- p_value: raw p-value (input of Holm): prop.test(correct = FALSE) for rates, t.test(var.equal = FALSE) for means
SELECT variant, metric, abs(p_value - 0.00101583562689852) <= 1e-9 * 0.00101583562689852 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(p_value - 0.00479837213134006) <= 1e-9 * 0.00479837213134006 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(p_value - 0.973027921689684) <= 1e-9 * 0.973027921689684 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(p_value - 0.0576987124904492) <= 1e-9 * 0.0576987124904492 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(p_value - 0.00906273800135521) <= 1e-9 * 0.00906273800135521 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(p_value - 0.704340898010814) <= 1e-9 * 0.704340898010814 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(p_value - 0.644854714243415) <= 1e-9 * 0.644854714243415 AS p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(p_value - 1.07064020690714e-08) <= 1e-9 * 1.07064020690714e-08 AS p_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(p_value - 0.0507304984609877) <= 1e-9 * 0.0507304984609877 AS p_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- p_value_holm: p.adjust(method = "holm") over green x {conversion, cart_to_purchase, carts, order_value, revenue, views}
-- (bandit: b, c); the guardrail 'errors' is outside the family and stays NULL
SELECT variant, metric, abs(p_value_holm - 0.0060950137613911) <= 1e-9 * 0.0060950137613911 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(p_value_holm - 0.0239918606567003) <= 1e-9 * 0.0239918606567003 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(p_value_holm - 1) <= 1e-9 * 1 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(p_value_holm - 0.173096137471348) <= 1e-9 * 0.173096137471348 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(p_value_holm - 0.0362509520054208) <= 1e-9 * 0.0362509520054208 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(p_value_holm - 1) <= 1e-9 * 1 AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, p_value_holm IS NULL AS holm_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(p_value_holm - 2.14128041381429e-08) <= 1e-9 * 2.14128041381429e-08 AS holm_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(p_value_holm - 0.0507304984609877) <= 1e-9 * 0.0507304984609877 AS holm_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- rel_lift: m_t/m_c - 1
SELECT variant, metric, abs(rel_lift - 0.294661458333333) <= 1e-9 * 0.294661458333333 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(rel_lift - 0.465092085998305) <= 1e-9 * 0.465092085998305 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(rel_lift - 0.00151442307692307) <= 1e-9 * 0.00151442307692307 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(rel_lift - 0.107418026878534) <= 1e-9 * 0.107418026878534 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(rel_lift - 0.270055197377899) <= 1e-9 * 0.270055197377899 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(rel_lift - (-0.00399412065439675)) <= 1e-9 * 0.00399412065439675 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(rel_lift - 0.107685810810811) <= 1e-9 * 0.107685810810811 AS rel_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(rel_lift - 2.7041847041847) <= 1e-9 * 2.7041847041847 AS rel_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(rel_lift - 0.735632183908046) <= 1e-9 * 0.735632183908046 AS rel_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- rel_lift_lower: delta method: rel -/+ qnorm(0.975) sqrt(Var m_t/m_c^2 + m_t^2 Var m_c/m_c^4)
SELECT variant, metric, abs(rel_lift_lower - 0.0943190432173837) <= 1e-9 * 0.0943190432173837 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(rel_lift_lower - 0.0723922925650097) <= 1e-9 * 0.0723922925650097 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(rel_lift_lower - (-0.0863367547614219)) <= 1e-9 * 0.0863367547614219 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(rel_lift_lower - (-0.00951185244431149)) <= 1e-9 * 0.00951185244431149 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(rel_lift_lower - 0.0410420551123455) <= 1e-9 * 0.0410420551123455 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(rel_lift_lower - (-0.0245802937946058)) <= 1e-9 * 0.0245802937946058 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(rel_lift_lower - (-0.374273097349591)) <= 1e-9 * 0.374273097349591 AS rel_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(rel_lift_lower - 0.871776948983989) <= 1e-9 * 0.871776948983989 AS rel_lo_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(rel_lift_lower - (-0.239256414200194)) <= 1e-9 * 0.239256414200194 AS rel_lo_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- rel_lift_upper: delta method, upper bound
SELECT variant, metric, abs(rel_lift_upper - 0.495003873449283) <= 1e-9 * 0.495003873449283 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(rel_lift_upper - 0.8577918794316) <= 1e-9 * 0.8577918794316 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(rel_lift_upper - 0.0893656009152681) <= 1e-9 * 0.0893656009152681 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(rel_lift_upper - 0.22434790620138) <= 1e-9 * 0.22434790620138 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(rel_lift_upper - 0.499068339643453) <= 1e-9 * 0.499068339643453 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(rel_lift_upper - 0.0165920524858123) <= 1e-9 * 0.0165920524858123 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(rel_lift_upper - 0.589644718971212) <= 1e-9 * 0.589644718971212 AS rel_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(rel_lift_upper - 4.53659245938542) <= 1e-9 * 4.53659245938542 AS rel_hi_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(rel_lift_upper - 1.71052078201629) <= 1e-9 * 1.71052078201629 AS rel_hi_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- The sequential test's memory spans all four aggregation runs (running minimum of p, running
-- intersection of the interval) for the metrics whose definition the update left unchanged; carts,
-- added by the update, starts with its first look (docs/statistics.md).
SELECT metric, seq_looks FROM abx.results('checkout') WHERE variant = 'green' ORDER BY metric;
-- seq_p_value: mSPRT p = min(1, 1/Lambda), tau^2 = x* (s_t^2 + s_c^2)/10000, x* = 8.211968062, alpha = 0.05.
-- One look in the memory: the rebuild of run 4 (after update_experiment) deleted the looks of runs 1-3,
-- and abx.results() folds in the same final data again (see README.md)
SELECT variant, metric, abs(seq_p_value - 0.0551035457) <= 1e-9 * 0.0551035457 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(seq_p_value - 0.2980512704) <= 1e-9 * 0.2980512704 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(seq_p_value - 1) <= 1e-9 * 1 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(seq_p_value - 0.4924386511) <= 1e-9 * 0.4924386511 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(seq_p_value - 0.190021013) <= 1e-9 * 0.190021013 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(seq_p_value - 1) <= 1e-9 * 1 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(seq_p_value - 1) <= 1e-9 * 1 AS seq_p_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(seq_p_value - 0.0334521712777689) <= 1e-9 * 0.0334521712777689 AS seq_p_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(seq_p_value - 0.769500434139125) <= 1e-9 * 0.769500434139125 AS seq_p_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- seq_lower: always-valid interval theta_hat - sqrt(V (V + tau^2)/tau^2 (ln((V + tau^2)/V) + 2 ln(1/alpha)))
SELECT variant, metric, abs(seq_lower - (-0.0005164246287)) <= 1e-9 * 0.0005164246287 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(seq_lower - (-0.0271718442)) <= 1e-9 * 0.0271718442 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(seq_lower - (-0.0494180637996377)) <= 1e-9 * 0.0494180637996377 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(seq_lower - (-4.165022091)) <= 1e-9 * 4.165022091 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(seq_lower - (-0.2624684662)) <= 1e-9 * 0.2624684662 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(seq_lower - (-0.05895702342)) <= 1e-9 * 0.05895702342 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(seq_lower - (-0.01276161561)) <= 1e-9 * 0.01276161561 AS seq_lo_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(seq_lower - 0.00950837440273042) <= 1e-9 * 0.00950837440273042 AS seq_lo_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(seq_lower - (-0.0831010737859826)) <= 1e-9 * 0.0831010737859826 AS seq_lo_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- seq_upper: always-valid interval, upper bound
SELECT variant, metric, abs(seq_upper - 0.05553180065) <= 1e-9 * 0.05553180065 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(seq_upper - 0.1088915907) <= 1e-9 * 0.1088915907 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(seq_upper - 0.0504266447422606) <= 1e-9 * 0.0504266447422606 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(seq_upper - 10.10469389) <= 1e-9 * 10.10469389 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(seq_upper - 2.181894055) <= 1e-9 * 2.181894055 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(seq_upper - 0.04695010744) <= 1e-9 * 0.04695010744 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(seq_upper - 0.01684396705) <= 1e-9 * 0.01684396705 AS seq_hi_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(seq_upper - 0.312844769142466) <= 1e-9 * 0.312844769142466 AS seq_hi_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(seq_upper - 0.170792327496876) <= 1e-9 * 0.170792327496876 AS seq_hi_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- chance_to_beat_control: P(T > C) (errors, minimize: P(T < C)); Beta(1 + x, 1 + n - x) posteriors; means: pnorm(mu/sigma)
SELECT variant, metric, abs(chance_to_beat_control - 0.999497009595772) <= 1e-11 + 1e-9 * 0.000502990404227854 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(chance_to_beat_control - 0.997613108209968) <= 1e-11 + 1e-9 * 0.00238689179003237 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(chance_to_beat_control - 0.513486885040182) <= 1e-9 * 0.513486885040182 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(chance_to_beat_control - 0.971413335114737) <= 1e-9 * 0.971413335114737 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(chance_to_beat_control - 0.995485586428533) <= 1e-9 * 0.995485586428533 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(chance_to_beat_control - 0.352160348156828) <= 1e-9 * 0.352160348156828 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(chance_to_beat_control - 0.324739897309803) <= 1e-11 + 1e-9 * 0.324739897309803 AS beat_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(chance_to_beat_control - 0.999999997448473) <= 1e-11 + 1e-9 * 2.55152698969141e-09 AS beat_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(chance_to_beat_control - 0.97399827607743) <= 1e-11 + 1e-9 * 0.0260017239225704 AS beat_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- expected_loss: E[max(C - T, 0)] (errors: E[max(T - C, 0)]); Beta: nested integral; means: sigma phi(mu/sigma) - mu Phi(-mu/sigma)
SELECT variant, metric, abs(expected_loss - 1.46779578315561e-06) <= 1e-14 + 1e-9 * 1.46779578315561e-06 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(expected_loss - 1.37066600731373e-05) <= 1e-14 + 1e-9 * 1.37066600731373e-05 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(expected_loss - 0.0057011121948434) <= 1e-9 * 0.0057011121948434 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(expected_loss - 0.0145373202101483) <= 1e-9 * 0.0145373202101483 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(expected_loss - 0.000519900920235497) <= 1e-9 * 0.000519900920235497 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(expected_loss - 0.00976191811640829) <= 1e-9 * 0.00976191811640829 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(expected_loss - 0.00296668554300079) <= 1e-14 + 1e-9 * 0.00296668554300079 AS loss_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(expected_loss - 1.20358867182053e-11) <= 1e-14 + 1e-9 * 1.20358867182053e-11 AS loss_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(expected_loss - 0.000224636664117338) <= 1e-14 + 1e-9 * 0.000224636664117338 AS loss_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- prob_best: integrate(f_i * prod_j F_j) over all variants (errors: survival functions); bandit: 3 arms
SELECT variant, metric, abs(prob_best - 0.000502990404228917) <= 1e-11 + 1e-9 * 0.000502990404228917 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'conversion';
SELECT variant, metric, abs(prob_best - 0.999497009595772) <= 1e-11 + 1e-9 * 0.000502990404227854 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'conversion';
SELECT variant, metric, abs(prob_best - 0.00238689179003192) <= 1e-11 + 1e-9 * 0.00238689179003192 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(prob_best - 0.997613108209968) <= 1e-11 + 1e-9 * 0.00238689179003237 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'cart_to_purchase';
SELECT variant, metric, abs(prob_best - 0.486513114959817) <= 1e-11 + 1e-9 * 0.486513114959817 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'carts';
SELECT variant, metric, abs(prob_best - 0.513486885040182) <= 1e-11 + 1e-9 * 0.486513114959818 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'carts';
SELECT variant, metric, abs(prob_best - 0.0285866648852631) <= 1e-11 + 1e-9 * 0.0285866648852631 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'order_value';
SELECT variant, metric, abs(prob_best - 0.971413335114737) <= 1e-11 + 1e-9 * 0.028586664885263 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'order_value';
SELECT variant, metric, abs(prob_best - 0.00451441357146677) <= 1e-11 + 1e-9 * 0.00451441357146677 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'revenue';
SELECT variant, metric, abs(prob_best - 0.995485586428532) <= 1e-11 + 1e-9 * 0.00451441357146765 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'revenue';
SELECT variant, metric, abs(prob_best - 0.647839651843172) <= 1e-11 + 1e-9 * 0.352160348156828 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'views';
SELECT variant, metric, abs(prob_best - 0.352160348156828) <= 1e-11 + 1e-9 * 0.352160348156828 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'views';
SELECT variant, metric, abs(prob_best - 0.675260102690197) <= 1e-11 + 1e-9 * 0.324739897309803 AS best_ok FROM abx.results('checkout') WHERE variant = 'control' AND metric = 'errors';
SELECT variant, metric, abs(prob_best - 0.324739897309803) <= 1e-11 + 1e-9 * 0.324739897309803 AS best_ok FROM abx.results('checkout') WHERE variant = 'green' AND metric = 'errors';
SELECT variant, metric, abs(prob_best - 2.43329309287215e-09) <= 1e-11 + 1e-9 * 2.43329309287215e-09 AS best_ok FROM abx.results('bandit') WHERE variant = 'a' AND metric = 'click_rate';
SELECT variant, metric, abs(prob_best - 0.999951661786598) <= 1e-11 + 1e-9 * 4.83382134019994e-05 AS best_ok FROM abx.results('bandit') WHERE variant = 'b' AND metric = 'click_rate';
SELECT variant, metric, abs(prob_best - 4.83357801092626e-05) <= 1e-11 + 1e-9 * 4.83357801092626e-05 AS best_ok FROM abx.results('bandit') WHERE variant = 'c' AND metric = 'click_rate';
-- alpha: abx.bandit_arms.alpha = 1 + clicks
SELECT v.key AS variant, abs(b.alpha - 19) <= 1e-9 AS alpha_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'a';
SELECT v.key AS variant, abs(b.alpha - 69) <= 1e-9 AS alpha_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'b';
SELECT v.key AS variant, abs(b.alpha - 31) <= 1e-9 AS alpha_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'c';
-- beta: abx.bandit_arms.beta = 1 + n - clicks
SELECT v.key AS variant, abs(b.beta - 285) <= 1e-9 AS beta_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'a';
SELECT v.key AS variant, abs(b.beta - 241) <= 1e-9 AS beta_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'b';
SELECT v.key AS variant, abs(b.beta - 261) <= 1e-9 AS beta_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'c';
-- share: Thompson share (20000 draws, seed 7) against the exact P(best) through the min_share = 0.05 floor
SELECT v.key AS variant, abs(b.share - 0.05) <= 0.015 AS share_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'a';
SELECT v.key AS variant, abs(b.share - 0.9) <= 0.015 AS share_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'b';
SELECT v.key AS variant, abs(b.share - 0.05) <= 0.015 AS share_ok FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit' AND v.key = 'c';
-- insights leader (checkout, conversion): P(best), chance to beat control, Wilson interval
-- (prop.test(326, 2048, correct = FALSE)$conf.int); evaluate_winner confidence = 1 - seq_p_value
SELECT abs((l->>'prob_best')::float8 - 0.999497009595772) <= 1e-11 + 1e-9 * 0.000502990404227854 AS leader_best_ok, abs((l->>'chance_to_beat_control')::float8 - 0.999497009595772) <= 1e-11 + 1e-9 * 0.000502990404227854 AS leader_beat_ok, abs((l->>'lower')::float8 - 0.143975255414243) <= 1e-9 * 0.143975255414243 AS leader_lo_ok, abs((l->>'upper')::float8 - 0.175660287576316) <= 1e-9 * 0.175660287576316 AS leader_hi_ok FROM (SELECT abx.insights('checkout')->'leader' AS l) s;
SELECT abs((abx.evaluate_winner('checkout')->>'confidence')::float8 - 0.944896454304759) <= 1e-9 * 0.944896454304759 AS winner_confidence_ok;
