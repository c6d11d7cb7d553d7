-- the same document built with jsonb_build_object + jsonb_agg instead (not used: twice as costly)
\set seed random(0, 99999)
SELECT jsonb_array_length((
  SELECT jsonb_agg(jsonb_build_object('experiment', 'bench',
                                      'subject', 'u' || (1 + (:seed + g * 7919) % 100000),
                                      'event', 'purchase', 'value', 1.0))
    FROM generate_series(1, 100) AS g));
