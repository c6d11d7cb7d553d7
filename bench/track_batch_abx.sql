-- 4 abx: abx.track_batch of 100 events. The document is built in the statement from the same
-- generate_series and subjects as the raw side, as JSON text cast to jsonb: what a client sending
-- the batch as a JSON text parameter costs the server (jsonb input).
\set seed random(0, 99999)
SELECT count(*) FROM abx.track_batch((
  SELECT ('[' || string_agg(format('{"experiment": "bench", "subject": "u%s", "event": "purchase", "value": 1.0}',
                                   1 + (:seed + g * 7919) % 100000), ', ') || ']')::jsonb
    FROM generate_series(1, 100) AS g));
