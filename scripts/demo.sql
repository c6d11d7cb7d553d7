-- The abx demo: a three-variant checkout experiment, 20,000 simulated subjects, different true
-- conversion rates. Run by `make demo` against a fresh database.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS abx;
SELECT setseed(0.2026) \gset

\echo
\echo '1. Define the experiment (targeting: Senegal, France and Côte d''Ivoire; French or English)'
SELECT abx.create_experiment($${
  "code": "checkout-button",
  "name": "Checkout button colour",
  "description": "Blue (control) vs green vs orange on the checkout page",
  "targeting": {"country": ["SN", "FR", "CI"], "lang": {"in": ["fr", "en"]}},
  "metrics": {
    "primary":    {"key": "conversion", "kind": "rate", "event": "purchase"},
    "secondary":  [{"key": "revenue", "kind": "sum", "event": "purchase"},
                   {"key": "order_value", "kind": "avg", "event": "purchase"}]
  },
  "winner_policy": {"min_assignments": 1000, "pick_after_hours": 0, "min_improvement": 0.05},
  "variants": [
    {"key": "blue",   "name": "Control (blue)", "weight": 34, "config": {"button_color": "#1f6feb"}, "is_control": true},
    {"key": "green",  "name": "Green button",   "weight": 33, "config": {"button_color": "#2ea043"}},
    {"key": "orange", "name": "Orange button",  "weight": 33, "config": {"button_color": "#fb8500"}}
  ]
}$$)->>'status' AS status;
SELECT abx.start('checkout-button')->>'status' AS status;

\echo
\echo '2. 20,000 visitors ask for their variant (abx.assign); a tenth are outside the targeting'
CREATE TEMP TABLE visitors AS
SELECT 'visitor-' || i AS subject,
       jsonb_build_object('country', (ARRAY['SN', 'FR', 'CI', 'SN', 'FR', 'CI', 'SN', 'FR', 'CI', 'US'])[1 + i % 10],
                          'lang', (ARRAY['fr', 'en'])[1 + i % 2]) AS context
  FROM generate_series(1, 20000) AS i;
CREATE TEMP TABLE assigned AS
SELECT v.subject, a.variant, a.reason FROM visitors v, LATERAL abx.assign('checkout-button', v.subject, v.context) a;
SELECT coalesce(variant, '(not assigned)') AS variant, split_part(reason, ':', 1) AS reason, count(*) AS subjects
  FROM assigned GROUP BY 1, 2 ORDER BY 1;

\echo
\echo '3. Assigned visitors view the page, some convert (true rates: blue 10%, green 12%, orange 8%)'
CREATE TEMP TABLE outcomes AS
SELECT subject, variant,
       random() < CASE variant WHEN 'blue' THEN 0.10 WHEN 'green' THEN 0.12 ELSE 0.08 END AS converts,
       round((20 + random() * 60)::numeric, 2) AS amount
  FROM assigned WHERE variant IS NOT NULL;
-- Page views arrive in batches of 500 (abx.track_batch), purchases one by one (abx.track).
SELECT count(*) FILTER (WHERE r.status = 'stored') AS views_stored, count(*) FILTER (WHERE r.status <> 'stored') AS not_stored
  FROM (SELECT n / 500 AS chunk, jsonb_agg(jsonb_build_object('experiment', 'checkout-button', 'subject', subject,
                                                             'event', 'view')) AS batch
          FROM (SELECT subject, row_number() OVER () AS n FROM outcomes) o GROUP BY 1) b,
       LATERAL abx.track_batch(b.batch) r;
SELECT count(*) AS purchases_stored
  FROM outcomes o, LATERAL abx.track('checkout-button', o.subject, 'purchase', o.amount::float8,
                                     idempotency_key => 'order-' || o.subject) t
 WHERE o.converts AND t.status = 'stored';
-- A retried purchase is recognised by its idempotency key and not counted twice.
SELECT t.status AS retried_purchase
  FROM (SELECT subject, amount FROM outcomes WHERE converts LIMIT 1) o,
       LATERAL abx.track('checkout-button', o.subject, 'purchase', o.amount::float8, idempotency_key => 'order-' || o.subject) t;

\echo
\echo '4. What the experiment shows (abx.variant_overview plus purchases per variant)'
SELECT v.variant, v.is_control AS control, v.assignments, v.events,
       p.purchases, p.buyers,
       round(100.0 * p.buyers / nullif(v.assignments, 0), 2) AS "conversion %",
       p.revenue
  FROM abx.variant_overview v
  LEFT JOIN LATERAL (
        SELECT count(*) AS purchases, count(DISTINCT e.subject) AS buyers, round(sum(e.value)::numeric, 2) AS revenue
          FROM abx.events e JOIN abx.variants x ON x.id = e.variant_id
         WHERE e.experiment_id = v.experiment_id AND x.key = v.variant AND e.event_key = 'purchase') p ON true
 WHERE v.experiment = 'checkout-button'
 ORDER BY v.variant;

\echo
\echo '5. Aggregate (abx.aggregate: buckets, per-subject totals, per-variant statistics) and analyse'
SELECT experiment_code, events, subjects, buckets FROM abx.aggregate('checkout-button');
SELECT variant, metric, n::int, round(mean::numeric, 4) AS mean,
       round(100 * rel_lift::numeric, 1) AS "lift %",
       '[' || round(100 * rel_lift_lower::numeric, 1) || ', ' || round(100 * rel_lift_upper::numeric, 1) || ']' AS "lift 95% CI",
       round(p_value::numeric, 4) AS p, round(seq_p_value::numeric, 4) AS "always-valid p",
       round(chance_to_beat_control::numeric, 3) AS "P(beat control)", round(prob_best::numeric, 3) AS "P(best)"
  FROM abx.results('checkout-button') ORDER BY metric, variant;
SELECT abx.insights('checkout-button')->>'recommendation' AS insight;
SELECT s->>'mismatch' AS "sample ratio mismatch", round((s->>'p_value')::numeric, 3) AS "SRM p" FROM abx.srm('checkout-button') s;
SELECT w->>'eligible' AS "winner eligible", w->>'winner' AS candidate, w->'reasons' AS reasons
  FROM abx.evaluate_winner('checkout-button') w;

\echo
\echo '6. The workers act by themselves: a scheduler in this database runs abx.jobs'
SELECT name, coalesce(schedule_interval::text, cron) AS every, command FROM abx.jobs ORDER BY name;
-- A second experiment with a clear winner and an automatic winner policy.
SELECT abx.create_experiment($${
  "code": "welcome-banner", "salt": "demo-banner",
  "metrics": {"primary": {"key": "signup", "kind": "rate", "event": "signup"}},
  "winner_policy": {"mode": "automatic", "min_assignments": 200, "pick_after_hours": 0,
                    "confidence": 0.95, "min_improvement": 0.05},
  "variants": [{"key": "plain", "is_control": true, "config": {"banner": "Welcome"}},
               {"key": "offer", "config": {"banner": "Welcome: first transfer free"}}]
}$$)->>'code' AS experiment, abx.start('welcome-banner')->>'status' AS status;
SELECT count(*) AS signups
  FROM generate_series(1, 2000) i, LATERAL abx.assign('welcome-banner', 'member-' || i) a,
       LATERAL abx.track('welcome-banner', 'member-' || i, 'signup')
 WHERE random() < CASE a.variant WHEN 'offer' THEN 0.30 ELSE 0.10 END;
-- Due now: the scheduler aggregates, then the hourly auto-promotion check runs (no one calls them).
SELECT abx.alter_job('aggregate', jsonb_build_object('next_run_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))->>'name' AS due_now;
CREATE FUNCTION pg_temp.wait_for_run(job text, after timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    FOR i IN 1 .. 300 LOOP
        SELECT r.status INTO s FROM abx.job_runs r JOIN abx.jobs j ON j.id = r.job_id
         WHERE j.name = job AND r.started_at >= after AND r.status <> 'running' ORDER BY r.id DESC LIMIT 1;
        IF s IS NOT NULL THEN RETURN s; END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN 'not yet';
END $$;
SELECT now() AS t0 \gset
SELECT pg_temp.wait_for_run('aggregate', :'t0') AS "scheduled aggregation";
SELECT abx.alter_job('auto_promotion', jsonb_build_object('next_run_at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))->>'name' AS due_now;
SELECT pg_temp.wait_for_run('auto_promotion', :'t0') AS "scheduled auto-promotion";
SELECT status, winner->>'variant' AS winner, promoted_variant
  FROM jsonb_to_record(abx.experiment('welcome-banner')) AS x(status text, winner jsonb, promoted_variant text);
SELECT h->>'type' AS type, h->>'winner' AS winner, h->>'promoted_by' AS by, round((h->>'confidence')::numeric, 4) AS confidence
  FROM jsonb_array_elements(abx.promotion_history('welcome-banner')) h;
\echo 'Every member now gets the winner (returning or new); stored assignments stay for analysis:'
SELECT a.variant, a.reason FROM abx.assign('welcome-banner', 'member-new') a;

\echo
\echo '7. A rollback restores the experiment exactly; every change left an outbox row (NOTIFY abx_outbox)'
SELECT r->>'rolled_back' AS rolled_back, r->>'reason' AS reason FROM abx.rollback('welcome-banner', 'demo: undo') r;
SELECT status FROM jsonb_to_record(abx.experiment('welcome-banner')) AS x(status text);
SELECT type, level, count(*) FROM abx.outbox GROUP BY 1, 2 ORDER BY 1;
SELECT seq, actor, action, outcome FROM abx.audit_trail ORDER BY seq DESC LIMIT 6;
SELECT ok AS "audit chain verifies" FROM abx.verify_audit();
