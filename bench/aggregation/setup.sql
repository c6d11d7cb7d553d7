-- Fixture of the aggregation benchmarks (psql -v subjects=N -v events=M): one experiment with
-- :subjects assigned subjects and :events events over the days covered by daily partitions. Rows are
-- written with plain SQL: the benchmark measures aggregation, not ingestion, and the split of
-- subjects is irrelevant to it. Event g belongs to subject 1 + (g * 7919) % :subjects (7919 is
-- prime: with :events >= :subjects every subject has events, unless :subjects is a multiple of it).
\set ON_ERROR_STOP on
CREATE EXTENSION abx;
SELECT abx.create_experiment('{
  "code": "agg", "salt": "agg",
  "variants": [{"key": "control", "is_control": true}, {"key": "treatment"}],
  "metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
              "secondary": [{"key": "revenue", "kind": "sum", "event": "purchase"},
                            {"key": "order_value", "kind": "avg", "event": "purchase"},
                            {"key": "views", "kind": "count", "event": "view"}]}}') IS NOT NULL AS created;
SELECT abx.start('agg') IS NOT NULL AS started;
SELECT x.id AS exp, (SELECT id FROM abx.variants WHERE experiment_id = x.id AND position = 0) AS v0,
       (SELECT id FROM abx.variants WHERE experiment_id = x.id AND position = 1) AS v1
  FROM abx.experiments x WHERE x.code = 'agg' \gset
-- Subject u<i> is in variant i % 2.
INSERT INTO abx.assignments (experiment_id, organization_id, subject, variant_id, assigned_at)
SELECT :exp, 0, 'u' || i, CASE WHEN i % 2 = 0 THEN :v0 ELSE :v1 END, now()
  FROM generate_series(1, :subjects) i;
-- :events events: 80 % views, 15 % carts, 5 % purchases, over the last day and the next 4.
INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT :exp, 0, 'u' || s, CASE WHEN s % 2 = 0 THEN :v0 ELSE :v1 END,
       CASE WHEN r < 0.80 THEN 'view' WHEN r < 0.95 THEN 'cart' ELSE 'purchase' END,
       CASE WHEN r < 0.95 THEN 1 ELSE round((10 + 90 * r)::numeric, 2)::float8 END,
       now() - interval '1 day' + (g % 432000) * interval '1 second'
  FROM generate_series(1::bigint, :events) g,
       LATERAL (SELECT 1 + (g * 7919) % :subjects AS s, random() AS r) x;
-- Hint bits and visibility map set now, not by the first timed statement or a background vacuum.
VACUUM ANALYZE;
