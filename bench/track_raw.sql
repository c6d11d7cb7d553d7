-- 3 raw: one-row INSERT into raw.events (same shape, defaults and partitions as abx.events).
\set n random(1, 100000)
\set v 1 + :n % 2
INSERT INTO raw.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
VALUES (:experiment_id, 0, 'u' || :n::text, :v, 'purchase', 1.0, now());
