-- 2 raw, one statement: store a new subject's assignment unless one exists and return the stored
-- variant, in one round trip as abx.assign does. The INSERT's RETURNING yields the row it wrote; the
-- SELECT (run on the statement's snapshot, taken before the INSERT) yields a row stored before; one
-- of the two is empty. (A row committed by another session after the snapshot would make both empty:
-- not a case of this single-client benchmark.) The variant is derived from the subject's number in
-- pgbench, as in assign_new_raw.sql.
\set r random(1, 1000000000000000)
\set v 1 + :r % 2
WITH ins AS (
  INSERT INTO raw.assignments (experiment_id, organization_id, subject, variant_id, assigned_at, context)
  VALUES (:experiment_id, 0, 'n' || :r::text, :v, now(), NULL) ON CONFLICT DO NOTHING
  RETURNING variant_id)
SELECT variant_id FROM ins
UNION ALL
SELECT variant_id FROM raw.assignments
 WHERE experiment_id = :experiment_id AND organization_id = 0 AND subject = 'n' || :r::text;
