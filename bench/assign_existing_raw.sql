-- 1 raw: primary-key lookup of a returning subject in raw.assignments (same shape as abx.assignments).
\set n random(1, 100000)
SELECT variant_id FROM raw.assignments
 WHERE experiment_id = :experiment_id AND organization_id = 0 AND subject = 'u' || :n::text;
