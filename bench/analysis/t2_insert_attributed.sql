-- raw one-row INSERT that attributes the event itself: variant from the assignment's PK
\set n random(1, 100000)
INSERT INTO raw.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT a.experiment_id, a.organization_id, a.subject, a.variant_id, 'purchase', 1.0, now()
  FROM raw.assignments a
 WHERE a.experiment_id = :experiment_id AND a.organization_id = 0 AND a.subject = 'u' || :n::text;
