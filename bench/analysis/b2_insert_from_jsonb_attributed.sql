-- raw SQL doing track_batch's job from the same document: unpack it, attribute each event to its subject's variant (PK join), insert
\set seed random(0, 99999)
INSERT INTO raw.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts)
SELECT a.experiment_id, a.organization_id, x.subject, a.variant_id, x.event, x.value, now()
  FROM jsonb_to_recordset((
         SELECT ('[' || string_agg(format('{"experiment": "bench", "subject": "u%s", "event": "purchase", "value": 1.0}',
                                          1 + (:seed + g * 7919) % 100000), ', ') || ']')::jsonb
           FROM generate_series(1, 100) AS g)) AS x(experiment text, subject text, event text, value float8)
  JOIN raw.assignments a
    ON a.experiment_id = :experiment_id AND a.organization_id = 0 AND a.subject = x.subject;
