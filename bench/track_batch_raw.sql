-- 4 raw: 100-row INSERT ... SELECT into raw.events, rows from the same generate_series and subjects
-- as the abx side's 100 items (100 pseudo-random pool subjects derived from :seed).
\set seed random(0, 99999)
INSERT INTO raw.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT :experiment_id, 0, 'u' || (1 + (:seed + g * 7919) % 100000), 1 + g % 2, 'purchase', 1.0, now()
  FROM generate_series(1, 100) AS g;
