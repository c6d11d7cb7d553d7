-- raw PK lookup that also returns the variant key and config (what abx.assign returns)
\set n random(1, 100000)
SELECT v.key, v.config FROM raw.assignments a JOIN abx.variants v ON v.id = a.variant_id
 WHERE a.experiment_id = :experiment_id AND a.organization_id = 0 AND a.subject = 'u' || :n::text;
