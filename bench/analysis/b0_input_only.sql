-- only the input generation of track_batch_abx.sql: the 100-item document, as text cast to jsonb
\set seed random(0, 99999)
SELECT jsonb_array_length((
  SELECT ('[' || string_agg(format('{"experiment": "bench", "subject": "u%s", "event": "purchase", "value": 1.0}',
                                   1 + (:seed + g * 7919) % 100000), ', ') || ']')::jsonb
    FROM generate_series(1, 100) AS g));
