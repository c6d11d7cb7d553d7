-- 4 abx: abx.track_batch of 100 events, the jsonb built in the statement from the same
-- generate_series and subjects as the raw side.
\set seed random(0, 99999)
SELECT count(*) FROM abx.track_batch((
  SELECT jsonb_agg(jsonb_build_object('experiment', 'bench',
                                      'subject', 'u' || (1 + (:seed + g * 7919) % 100000),
                                      'event', 'purchase', 'value', 1.0))
    FROM generate_series(1, 100) AS g));
