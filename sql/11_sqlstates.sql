-- One rule for SQLSTATEs, swept over every function of the API (docs/sql-api.md, "Errors"):
-- a NULL required argument is 22004, a JSON value of the wrong type 22P02.
SET abx.pinned_now = '2026-03-05 10:00:00+00';
SELECT abx.create_experiment(t.spec('sweep'))->>'code';
SELECT abx.start('sweep')->>'status';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('sweep', 's1');

-- Valid values for each argument name; the sweep passes NULL at one required position at a time.
CREATE TEMP TABLE valid_arg (name text PRIMARY KEY, value text);
INSERT INTO valid_arg VALUES
  ('key', '''sweep-org'''), ('name', '''n'''), ('spec', 't.spec(''sweep2'')'), ('code', '''sweep'''),
  ('patch', '''{}''::jsonb'), ('experiment', '''sweep'''), ('subject', '''s1'''), ('event', '''view'''),
  ('events', '''[]''::jsonb'), ('days_ahead', '1'), ('context', '''{}''::jsonb'), ('value', '1'),
  ('organization', '''sweep-org'''), ('role', '''abx_reader'''), ('right_name', '''experiments:read'''),
  ('function_name', '''f'''), ('without_organization', 'false'), ('organization_id', '1'),
  ('command', '''SELECT 1'''), ('changes', '''{}''::jsonb'), ('at', 'now()'), ('by', '''1 second''::interval'),
  ('reason', '''r'''), ('allow', 'true'),
  -- the HTTP routes (upgrade 0.4.0) and their helpers
  ('path', '''{}''::jsonb'), ('query', '''{}''::jsonb'), ('body', '''null''::jsonb'), ('policy', '''{}''::jsonb'),
  ('ref', '''sweep'''), ('field', '''path.id'''), ('doc', '''{}''::jsonb'), ('prefix', '''body'''),
  ('kind', '''string'''), ('allowed', 'ARRAY[''a'']'), ('state', '''22023'''), ('message', '''m'''),
  ('names', '''{}''::jsonb'), ('creating', 'true'), ('max_length', '64'), ('experiment_id', '1'),
  ('feature', '''f'''), ('evaluation', '''{}''::jsonb'), ('facts', '''{}''::jsonb'),
  ('token', '''0123456789abcdef0123456789abcdef'''),
  -- delivery of the outbox (upgrade 0.5.0)
  ('delivery_id', '1'), ('target_id', '1'), ('worker', '''w'''), ('max_rows', '1'), ('lease_seconds', '60'),
  ('attempt', '1'), ('outcome', '''failed'''), ('attempts', '1'), ('first_attempt_at', 'now()'),
  ('failed_at', 'now()'), ('ids', 'ARRAY[1]::bigint[]'),
  -- the ops page's routes and the feed's approval messages (upgrade 0.6.0)
  ('required', 'true'), ('type', '''experiment.status_changed'''), ('payload', '''{}''::jsonb');

CREATE TEMP TABLE sweep AS
WITH fns AS (
  -- The API: every abx function but triggers and abx.audit_append, an internal helper of abx's own
  -- SQL-language functions (no EXECUTE for anyone else).
  SELECT p.oid, p.proname, p.pronargs, p.pronargdefaults, p.proargnames, p.proargmodes
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'abx' AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
     AND p.proname <> 'audit_append'),
args AS (
  SELECT f.proname, f.pronargs, f.pronargdefaults, a.name, a.pos
    FROM fns f, unnest(f.proargnames) WITH ORDINALITY a(name, pos)
   WHERE coalesce(f.proargmodes[a.pos], 'i') IN ('i', 'b'))
SELECT a.proname, a.name AS null_arg,
       (SELECT array_agg(b.name) FROM args b LEFT JOIN valid_arg v ON v.name = b.name
         WHERE b.proname = a.proname AND b.pos <= a.pronargs - a.pronargdefaults AND b.pos <> a.pos
           AND v.value IS NULL) AS lacking,
       format('SELECT abx.%I(%s)', a.proname,
              (SELECT string_agg(CASE WHEN b.pos = a.pos THEN 'NULL' ELSE v.value END, ', ' ORDER BY b.pos)
                 FROM args b LEFT JOIN valid_arg v ON v.name = b.name
                WHERE b.proname = a.proname AND b.pos <= a.pronargs - a.pronargdefaults)) AS q
  FROM args a
 WHERE a.pos <= a.pronargs - a.pronargdefaults;
-- Every required argument of every function is swept (none lacks a valid value).
SELECT proname, null_arg, lacking FROM sweep WHERE lacking IS NOT NULL ORDER BY 1, 2;
-- organization_visible(NULL) is no mistake: NULL is the organization of global rows.
SELECT proname, null_arg, split_part(t.err(q), ':', 1) AS sqlstate FROM sweep ORDER BY 1, 2;
-- The internal helper follows the rule too.
SELECT t.err($$SELECT abx.audit_append(NULL, 'x', NULL, NULL, '{}')$$);

-- JSON of the wrong type, wherever a JSON document or field is taken.
SELECT t.err($$SELECT abx.create_experiment('[]')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": 42, "variants": [{"key": "a"}, {"key": "b"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "w", "variants": [{"key": "a", "weight": "50"}, {"key": "b"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "w", "coverage": "0.5", "variants": [{"key": "a"}, {"key": "b"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "w", "variants": "ab"}')$$);
SELECT t.err($$SELECT abx.update_experiment('sweep', '"x"')$$);
SELECT t.err($$SELECT abx.assign('sweep', 's2', '[]')$$);
SELECT t.err($$SELECT abx.track('sweep', 's1', 'view', meta => '[1]')$$);
SELECT t.err($$SELECT * FROM abx.track_batch('"x"')$$);
SELECT t.err($$SELECT * FROM abx.track_batch('{"events": 3}')$$);
SELECT item, error_code, error_message FROM abx.track_batch('[{"experiment": "sweep", "subject": "s1", "event": 7}, "x"]') ORDER BY item;
RESET abx.pinned_now;
