-- stricter raw baseline for a new subject: one statement, INSERT ... ON CONFLICT DO NOTHING RETURNING
\set r random(1, 1000000000000000)
\set v 1 + :r % 2
INSERT INTO raw.assignments (experiment_id, organization_id, subject, variant_id, assigned_at, context)
VALUES (:experiment_id, 0, 'm' || :r::text, :v, now(), NULL) ON CONFLICT DO NOTHING RETURNING variant_id;
