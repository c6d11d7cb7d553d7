-- abx.assign's lookup statement sent directly by the client (no function, no SPI)
\set n random(1, 100000)
SELECT e.id, e.status, e.salt, e.coverage, e.targeting,
       coalesce(o.id, 0) AS organization_scope,
       (o.id IS NULL AND NULL::text IS NOT NULL) AS unknown_organization,
       v.key, v.config, a.assigned_at
  FROM (SELECT 1) AS one
  LEFT JOIN abx.organizations o ON o.key = NULL::text
  JOIN abx.experiments e ON e.code = 'bench' AND (e.organization_id IS NULL OR e.organization_id = o.id)
  LEFT JOIN abx.assignments a
         ON a.experiment_id = e.id AND a.organization_id = coalesce(o.id, 0) AND a.subject = 'u' || :n::text
  LEFT JOIN abx.variants v ON v.id = a.variant_id
 ORDER BY e.organization_id NULLS LAST
 LIMIT 1;
