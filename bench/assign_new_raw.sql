-- 2 raw: store a new subject's assignment with INSERT ... ON CONFLICT DO NOTHING, then read it back
-- (abx.assign returns the variant). Two autocommit statements, as an application would send them.
-- The variant is derived from the subject's number in pgbench (no hashing on the raw side).
\set r random(1, 1000000000000000)
\set v 1 + :r % 2
INSERT INTO raw.assignments (experiment_id, organization_id, subject, variant_id, assigned_at, context)
VALUES (:experiment_id, 0, 'n' || :r::text, :v, now(), NULL) ON CONFLICT DO NOTHING;
SELECT variant_id FROM raw.assignments
 WHERE experiment_id = :experiment_id AND organization_id = 0 AND subject = 'n' || :r::text;
