-- The rights matrix (docs/security.md): every group role against every function and view, with
-- the right each refusal names. Every call runs in a subtransaction that is rolled back, so the
-- calls do not depend on one another.
SET abx.pinned_now = '2026-04-01 10:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;

SELECT abx.create_organization('rights') > 0 AS created;
CREATE ROLE r_admin NOLOGIN IN ROLE abx_admin;
CREATE ROLE r_experimenter NOLOGIN IN ROLE abx_experimenter;
CREATE ROLE r_analyst NOLOGIN IN ROLE abx_analyst;
CREATE ROLE r_service NOLOGIN IN ROLE abx_service;
CREATE ROLE r_reader NOLOGIN IN ROLE abx_reader;
CREATE ROLE r_nobody NOLOGIN;  -- no abx role at all
CREATE ROLE p_admin NOLOGIN IN ROLE abx_admin;    -- platform roles: members of no organization
CREATE ROLE p_analyst NOLOGIN IN ROLE abx_analyst;
CREATE ROLE p_experimenter NOLOGIN IN ROLE abx_experimenter;
SELECT abx.add_member('rights', r) FROM unnest(ARRAY['r_admin', 'r_experimenter', 'r_analyst',
                                                     'r_service', 'r_reader', 'r_nobody']) r;

-- The organization's experiments in every state the calls need.
SET abx.organization = 'rights';
SELECT abx.create_experiment(t.spec('m_draft'))->>'status' AS m_draft;
SELECT abx.create_experiment(t.spec('m_run', '{"metrics": {"primary": {"kind": "rate", "event": "click"}}}'))->>'code';
SELECT abx.start('m_run')->>'status' AS m_run;
SELECT abx.create_experiment(t.spec('m_paused'))->>'code';
SELECT abx.start('m_paused')->>'code', abx.pause('m_paused')->>'status' AS m_paused;
SELECT abx.create_experiment(t.spec('m_done'))->>'code';
SELECT abx.start('m_done')->>'code', abx.complete('m_done')->>'status' AS m_done;
SELECT variant IS NOT NULL AS assigned FROM abx.assign('m_run', 's1');
SELECT status FROM abx.track('m_run', 's1', 'click');
SELECT count(*) AS aggregated FROM abx.aggregate('m_run');
RESET abx.organization;
SELECT abx.create_experiment(t.spec('g_draft'))->>'code' AS global_draft;

CREATE TEMP TABLE calls (n serial, label text, q text);
INSERT INTO calls (label, q) VALUES
  ('create_experiment', $$SELECT abx.create_experiment(t.spec('m_new'))$$),
  ('update_experiment', $$SELECT abx.update_experiment('m_draft', '{"name": "renamed"}')$$),
  ('experiment', $$SELECT abx.experiment('m_run')$$),
  ('start', $$SELECT abx.start('m_draft')$$),
  ('pause', $$SELECT abx.pause('m_run')$$),
  ('resume', $$SELECT abx.resume('m_paused')$$),
  ('complete', $$SELECT abx.complete('m_run')$$),
  ('archive', $$SELECT abx.archive('m_done')$$),
  ('delete_experiment', $$SELECT abx.delete_experiment('m_draft')$$),
  ('assign', $$SELECT abx.assign('m_run', 's2')$$),
  ('assignment', $$SELECT abx.assignment('m_run', 's1')$$),
  ('track', $$SELECT abx.track('m_run', 's1', 'click')$$),
  ('track_batch', $$SELECT abx.track_batch('[{"experiment": "m_run", "subject": "s1", "event": "click"}]')$$),
  ('ensure_partitions', $$SELECT abx.ensure_partitions(1)$$),
  ('aggregate', $$SELECT abx.aggregate('m_run')$$),
  ('results', $$SELECT abx.results('m_run')$$),
  ('srm', $$SELECT abx.srm('m_run')$$),
  ('insights', $$SELECT abx.insights('m_run')$$),
  ('timeline', $$SELECT abx.timeline('m_run')$$),
  ('table result_looks', $$SELECT * FROM abx.result_looks$$),
  ('evaluate_winner', $$SELECT abx.evaluate_winner('m_run')$$),
  ('winner', $$SELECT abx.winner('m_run')$$),
  ('set_slo', $$SELECT abx.set_slo('m_run', '{"p95_latency_ms": 800}', '{"baseUrl": "http://127.0.0.1:9"}')$$),
  ('slo_status', $$SELECT abx.slo_status('m_run')$$),
  ('slo_config', $$SELECT abx.slo_config('{"baseUrl": "http://127.0.0.1:9"}')$$),
  ('table slo_observations', $$SELECT * FROM abx.slo_observations$$),
  ('now', $$SELECT abx.now()$$),
  ('view variant_overview', $$SELECT * FROM abx.variant_overview$$),
  ('view running_results', $$SELECT * FROM abx.running_results$$),
  ('view audit_trail', $$SELECT * FROM abx.audit_trail$$),
  ('view experiment_history', $$SELECT * FROM abx.experiment_history$$),
  ('view audit_failures', $$SELECT * FROM abx.audit_failures$$),
  ('table events', $$SELECT * FROM abx.events$$),
  ('table audit_log', $$SELECT * FROM abx.audit_log$$),
  ('insert experiments', $$INSERT INTO abx.experiments (code, name, salt, created_at, updated_at) VALUES ('x', 'x', 'x', now(), now())$$),
  ('update assignments', $$UPDATE abx.assignments SET variant_id = variant_id$$),
  ('delete events', $$DELETE FROM abx.events$$),
  ('partition events_default', $$SELECT * FROM abx.events_default$$),
  ('internal audit_append', $$SELECT abx.audit_append('x', 'y', NULL, NULL, '{}')$$);
-- The ops page's routes (0.6.0): each checks the right of the functions it stands for.
INSERT INTO calls (label, q) VALUES
  ('http_me', $$SELECT abx.http_me('{}', '{}', 'null')$$),
  ('http_pause', $$SELECT abx.http_pause('{"id": "m_run"}', '{}', 'null')$$),
  ('http_resume', $$SELECT abx.http_resume('{"id": "m_paused"}', '{}', 'null')$$),
  ('http_complete', $$SELECT abx.http_complete('{"id": "m_run"}', '{}', 'null')$$),
  ('http_archive', $$SELECT abx.http_archive('{"id": "m_done"}', '{}', 'null')$$),
  ('http_approve', $$SELECT abx.http_approve('{"name": "m_run"}', '{}', 'null')$$),
  ('http_reject', $$SELECT abx.http_reject('{"name": "m_run"}', '{}', '{"reason": "r"}')$$),
  ('http_audit', $$SELECT abx.http_audit('{}', '{}', 'null')$$),
  ('http_audit_verify', $$SELECT abx.http_audit_verify('{}', '{}', 'null')$$),
  ('http_jobs', $$SELECT abx.http_jobs('{}', '{}', 'null')$$),
  ('session_access', $$SELECT abx.session_access()$$);

-- Runs every call as `who` (acting for `org`), rolling each back; 'ok' or the SQLSTATE and the
-- right named (or the PostgreSQL privilege message for objects a role has no grant on).
CREATE FUNCTION t.outcomes(who text, org text) RETURNS TABLE (label text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    queries text[] := ARRAY(SELECT c.q FROM calls c ORDER BY c.n);
    labels text[] := ARRAY(SELECT c.label FROM calls c ORDER BY c.n);
    results text[] := '{}';
    o text;
BEGIN
    EXECUTE format('SET ROLE %I', who);
    PERFORM set_config('abx.organization', coalesce(org, ''), true);
    FOR i IN 1 .. cardinality(queries) LOOP
        BEGIN
            EXECUTE queries[i];
            RAISE EXCEPTION USING ERRCODE = 'T0001', MESSAGE = 'rollback';
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE = 'T0001' THEN
                o := 'ok';
            ELSIF SQLSTATE = '42501' THEN
                o := coalesce('42501 ' || substring(SQLERRM FROM 'needs the right ([a-z:]+)'),
                              '42501 ' || substring(SQLERRM FROM '^(permission denied for [a-z]+)'),
                              '42501 ' || SQLERRM);
            ELSE
                o := SQLSTATE || ' ' || SQLERRM;
            END IF;
        END;
        results := results || o;
    END LOOP;
    RESET ROLE;
    RETURN QUERY SELECT * FROM unnest(labels, results);
END $$;

CREATE TEMP TABLE matrix AS
SELECT r.who, o.label, o.outcome
  FROM unnest(ARRAY['r_admin', 'r_experimenter', 'r_analyst', 'r_service', 'r_reader', 'r_nobody']) r(who),
       LATERAL t.outcomes(r.who, 'rights') o;

-- Acting for the organization: every role against every call.
SELECT c.label,
       max(m.outcome) FILTER (WHERE m.who = 'r_admin') AS admin,
       max(m.outcome) FILTER (WHERE m.who = 'r_experimenter') AS experimenter,
       max(m.outcome) FILTER (WHERE m.who = 'r_analyst') AS analyst,
       max(m.outcome) FILTER (WHERE m.who = 'r_service') AS service,
       max(m.outcome) FILTER (WHERE m.who = 'r_reader') AS reader,
       max(m.outcome) FILTER (WHERE m.who = 'r_nobody') AS nobody
  FROM calls c JOIN matrix m ON m.label = c.label
 GROUP BY c.n, c.label ORDER BY c.n;

-- Platform functions and global experiments: only without an organization, and only ops admins
-- change them. An organization's ops admin (r_admin) must act for its organization; acting for
-- it, the platform calls are refused (create_organization ... "only without an organization").
TRUNCATE calls;
INSERT INTO calls (label, q) VALUES
  ('create_organization', $$SELECT abx.create_organization('newco')$$),
  ('add_member', $$SELECT abx.add_member('rights', 'p_analyst')$$),
  ('remove_member', $$SELECT abx.remove_member('rights', 'r_reader')$$),
  ('verify_audit', $$SELECT abx.verify_audit()$$),
  ('slo_record', $$SELECT abx.slo_record(0)$$),
  ('create global experiment', $$SELECT abx.create_experiment(t.spec('g_new'))$$),
  ('update global experiment', $$SELECT abx.update_experiment('g_draft', '{"name": "x"}')$$),
  ('start global experiment', $$SELECT abx.start('g_draft')$$),
  ('read global experiment', $$SELECT abx.experiment('g_draft')$$),
  ('http_audit_verify', $$SELECT abx.http_audit_verify('{}', '{}', 'null')$$),
  ('http_jobs', $$SELECT abx.http_jobs('{}', '{}', 'null')$$),
  ('http_me', $$SELECT abx.http_me('{}', '{}', 'null')$$);
CREATE TEMP TABLE platform AS
SELECT r.who, r.org, o.label, o.outcome
  FROM (VALUES ('p_admin', NULL), ('p_analyst', NULL), ('p_experimenter', NULL),
               ('r_admin', NULL)) r(who, org),
       LATERAL t.outcomes(r.who, r.org) o;
SELECT c.label,
       max(m.outcome) FILTER (WHERE m.who = 'p_admin') AS platform_admin,
       max(m.outcome) FILTER (WHERE m.who = 'p_analyst') AS platform_analyst,
       max(m.outcome) FILTER (WHERE m.who = 'p_experimenter') AS platform_experimenter,
       max(m.outcome) FILTER (WHERE m.who = 'r_admin') AS org_admin_without_org
  FROM calls c JOIN platform m ON m.label = c.label
 GROUP BY c.n, c.label ORDER BY c.n;

SET ROLE r_admin;
SET abx.organization = 'rights';
SELECT t.err($$SELECT abx.create_organization('newco')$$);
SELECT t.err($$SELECT abx.verify_audit()$$);
RESET ROLE;

-- A refusal's full text: the right, the role, and who grants it.
SET ROLE r_reader;
SET abx.organization = 'rights';
\set VERBOSITY default
SELECT abx.track('m_run', 's1', 'click');
\set VERBOSITY terse
RESET ROLE;
RESET abx.organization;

-- Refusals are audited although the refused transaction rolls back: a background worker appends
-- them (outcome denied, SQLSTATE, the refused role and message) to the same chain.
BEGIN;
SET LOCAL ROLE r_reader;
SET LOCAL request.id = 'deny-1';
SELECT abx.track('m_run', 's1', 'click');
ROLLBACK;
CREATE FUNCTION t.wait_for(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found boolean;
BEGIN
    FOR i IN 1 .. 200 LOOP  -- 10 s at most
        EXECUTE q INTO found;
        IF found THEN RETURN true; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
SELECT t.wait_for($$SELECT EXISTS (SELECT FROM abx.audit_log WHERE request_id = 'deny-1')$$) AS denial_audited;
SELECT actor, action, target, outcome, error_code, change->>'message' AS message, at
  FROM abx.audit_log WHERE request_id = 'deny-1';
SELECT count(*) > 50 AS matrix_refusals_audited FROM abx.audit_log WHERE outcome = 'denied';
SELECT ok FROM abx.verify_audit();

-- Nothing in abx is open to PUBLIC, and every table is closed to writes by anyone but the owner.
SELECT count(*) AS public_grants
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
 WHERE n.nspname = 'abx' AND a.grantee = 0;
SELECT count(*) AS functions_executable_by_public
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'abx' AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT DISTINCT a.privilege_type AS granted_on_tables
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
 WHERE n.nspname = 'abx' AND a.grantee <> c.relowner ORDER BY 1;
-- Functions that touch abx's tables run as the owner: SQL-language ones are SECURITY DEFINER with a
-- pinned path; C functions switch to their owner at the error boundary (the matrix above: r_service
-- assigns and tracks without any grant on a table) and resolve names through pg_catalog, abx only.
SELECT p.proname, p.prosecdef, l.lanname, p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE n.nspname = 'abx' AND l.lanname <> 'c'
 ORDER BY 1;
RESET abx.pinned_now;
DROP OWNED BY r_admin, r_experimenter, r_analyst, r_service, r_reader, r_nobody, p_admin, p_analyst, p_experimenter;
DROP ROLE r_admin, r_experimenter, r_analyst, r_service, r_reader, r_nobody, p_admin, p_analyst, p_experimenter;
