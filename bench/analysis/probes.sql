-- Helpers for bench/analysis/run.sh (not part of make bench): PL/pgSQL functions that run abx's own
-- statements through SPI, as abx's C++ functions do, to separate the cost of the SQL abx runs
-- from the cost of the C++ glue around it.
CREATE SCHEMA probe;

-- abx.assign's lookup statement (src/pg/assign.cpp, kLookupSql) with its 3 parameters.
CREATE FUNCTION probe.assign_lookup(experiment text, subject text, organization text DEFAULT NULL,
    OUT variant text, OUT config jsonb, OUT assigned_at timestamptz) LANGUAGE plpgsql AS $f$
BEGIN
  SELECT v.key, v.config, a.assigned_at INTO variant, config, assigned_at
    FROM (SELECT 1) AS one
    LEFT JOIN abx.organizations o ON o.key = organization
    JOIN abx.experiments e ON e.code = experiment AND (e.organization_id IS NULL OR e.organization_id = o.id)
    LEFT JOIN abx.assignments a
           ON a.experiment_id = e.id AND a.organization_id = coalesce(o.id, 0) AND a.subject = assign_lookup.subject
    LEFT JOIN abx.variants v ON v.id = a.variant_id
   ORDER BY e.organization_id NULLS LAST
   LIMIT 1;
END $f$;

-- What a returning subject could cost with the experiment resolved once per backend (cached):
-- one primary-key probe joined to the variant, through SPI.
CREATE FUNCTION probe.assign_pk(experiment_id bigint, subject text,
    OUT variant text, OUT config jsonb, OUT assigned_at timestamptz) LANGUAGE plpgsql AS $f$
BEGIN
  SELECT v.key, v.config, a.assigned_at INTO variant, config, assigned_at
    FROM abx.assignments a JOIN abx.variants v ON v.id = a.variant_id
   WHERE a.experiment_id = assign_pk.experiment_id AND a.organization_id = 0 AND a.subject = assign_pk.subject;
END $f$;

-- abx.track's statement (src/pg/track.cpp, track_plain) with the same parameters.
CREATE FUNCTION probe.track_cte(experiment text, subject text, event text, value float8,
    ts timestamptz DEFAULT NULL, meta jsonb DEFAULT NULL, organization text DEFAULT NULL,
    OUT event_id bigint, OUT variant text) LANGUAGE plpgsql AS $f$
BEGIN
  ts := coalesce(ts, now());
  WITH target AS (
    SELECT e.id, coalesce(o.id, 0) AS org
      FROM (SELECT 1) AS one
      LEFT JOIN abx.organizations o ON o.key = organization
      JOIN abx.experiments e ON e.code = experiment AND (e.organization_id IS NULL OR e.organization_id = o.id)
     WHERE NOT (o.id IS NULL AND organization IS NOT NULL)
       AND e.status IN ('running', 'paused', 'completed')
     ORDER BY e.organization_id NULLS LAST LIMIT 1),
  subj AS (
    SELECT a.experiment_id, a.organization_id, a.subject, a.variant_id
      FROM target t JOIN abx.assignments a
        ON a.experiment_id = t.id AND a.organization_id = t.org AND a.subject = track_cte.subject),
  ins AS (
    INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts, meta)
    SELECT s.experiment_id, s.organization_id, s.subject, s.variant_id, event, track_cte.value, ts, meta
      FROM subj s
    RETURNING id, variant_id)
  SELECT ins.id, v.key INTO event_id, variant FROM ins JOIN abx.variants v ON v.id = ins.variant_id;
END $f$;
