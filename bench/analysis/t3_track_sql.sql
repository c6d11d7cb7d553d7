-- abx.track's statement sent directly by the client (no function, no SPI)
\set n random(1, 100000)
WITH target AS (
  SELECT e.id, coalesce(o.id, 0) AS org
    FROM (SELECT 1) AS one
    LEFT JOIN abx.organizations o ON o.key = NULL::text
    JOIN abx.experiments e ON e.code = 'bench' AND (e.organization_id IS NULL OR e.organization_id = o.id)
   WHERE NOT (o.id IS NULL AND NULL::text IS NOT NULL)
     AND e.status IN ('running', 'paused', 'completed')
   ORDER BY e.organization_id NULLS LAST LIMIT 1),
subject AS (
  SELECT a.experiment_id, a.organization_id, a.subject, a.variant_id
    FROM target t JOIN abx.assignments a
      ON a.experiment_id = t.id AND a.organization_id = t.org AND a.subject = 'u' || :n::text),
ins AS (
  INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts, meta)
  SELECT s.experiment_id, s.organization_id, s.subject, s.variant_id, 'purchase', 1.0, now(), NULL
    FROM subject s
  RETURNING id, variant_id)
SELECT ins.id, v.key FROM ins JOIN abx.variants v ON v.id = ins.variant_id;
