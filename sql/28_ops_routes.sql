-- The ops page's routes (docs/http-api.md, "The ops page"), called as the gateway calls them: GET
-- /api/me per role with its rights checked against what the functions allow, the lifecycle and
-- approval routes, the audit log (filters, paging, visibility, bad input), the jobs, and the
-- experiment list's filters. Organization isolation throughout.
SET abx.pinned_now = '2026-11-01 09:00:00+00';
SET timezone = 'UTC';
GRANT USAGE ON SCHEMA t TO PUBLIC;
SELECT abx.create_organization('opsa', 'Ops A') > 0 AS opsa, abx.create_organization('opsb', 'Ops B') > 0 AS opsb;
CREATE ROLE ops_admin NOLOGIN IN ROLE abx_admin;
CREATE ROLE ops_exp NOLOGIN IN ROLE abx_experimenter;
CREATE ROLE ops_analyst NOLOGIN IN ROLE abx_analyst;
CREATE ROLE ops_service NOLOGIN IN ROLE abx_service;
CREATE ROLE ops_reader NOLOGIN IN ROLE abx_reader;
CREATE ROLE ops_rival NOLOGIN IN ROLE abx_analyst;             -- opsb's analyst
CREATE ROLE ops_multi NOLOGIN IN ROLE abx_experimenter;        -- member of both
CREATE ROLE ops_platform NOLOGIN IN ROLE abx_admin;            -- platform roles: no organization
CREATE ROLE ops_platform_analyst NOLOGIN IN ROLE abx_analyst;
CREATE ROLE ops_nobody NOLOGIN;                                -- no abx role
SELECT count(*) AS members FROM (
    SELECT abx.add_member('opsa', r) FROM unnest(ARRAY['ops_admin', 'ops_exp', 'ops_analyst', 'ops_service',
                                                       'ops_reader', 'ops_multi']) r
    UNION ALL SELECT abx.add_member('opsb', r) FROM unnest(ARRAY['ops_rival', 'ops_multi']) r) m;
-- The gateway's login role: its JWT claims are trusted; it becomes the token's role.
CREATE ROLE ops_gw NOLOGIN NOINHERIT IN ROLE abx_gateway;  -- as abx-http's login (docs/http-api.md)
GRANT abx_experimenter, ops_admin, ops_exp, ops_analyst, ops_service, ops_reader, ops_rival, ops_multi,
      ops_platform, ops_platform_analyst, ops_nobody TO ops_gw;

-- One request: the gateway's set_config calls (role, JWT claims with sub and, when given, org;
-- x-org-id as abx.organization; request.id), then the route. A refusal comes back as
-- {"error": SQLSTATE, "message": ...}.
CREATE FUNCTION t.ops(fn text, role text, header_org text DEFAULT '', path jsonb DEFAULT '{}',
                      query jsonb DEFAULT '{}', body jsonb DEFAULT 'null', claim_org text DEFAULT NULL)
    RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM set_config('role', role, true),
            set_config('request.jwt.claims',
                       jsonb_strip_nulls(jsonb_build_object('sub', 'u-' || role, 'role', role, 'org', claim_org))::text, true),
            set_config('abx.organization', header_org, true),
            set_config('request.id', 'ops-' || fn, true);
    EXECUTE format('SELECT abx.%I($1, $2, $3)', fn) INTO result USING path, query, body;
    PERFORM set_config('role', 'none', true);
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    RETURN jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
END $$;

-- Experiments of opsa in every state the calls need, and one of opsb.
SELECT abx.create_experiment(t.spec('ops_draft', '{"name": "Draft checkout"}'), 'opsa')->>'status' AS ops_draft;
SELECT abx.create_experiment(t.spec('ops_run', '{"name": "Blue Button", "description": "Checkout colour",
    "metrics": {"primary": {"key": "c", "kind": "rate", "event": "click"}}}'), 'opsa')->>'code';
SELECT abx.start('ops_run', 'opsa')->>'status' AS ops_run;
SELECT abx.create_experiment(t.spec('ops_done'), 'opsa')->>'code';
SELECT abx.start('ops_done', 'opsa')->>'code', abx.complete('ops_done', 'opsa')->>'status' AS ops_done;
SELECT abx.create_experiment(t.spec('ops_paused'), 'opsa')->>'code';
SELECT abx.start('ops_paused', 'opsa')->>'code', abx.pause('ops_paused', 'opsa')->>'status' AS ops_paused;
SELECT abx.create_experiment(t.spec('ops_cycle', '{"name": "Cycle"}'), 'opsa')->>'code';
SELECT abx.start('ops_cycle', 'opsa')->>'status' AS ops_cycle;
SELECT abx.create_experiment(t.spec('ops_b_run', '{"name": "Rival checkout", "kind": "bandit",
    "metrics": {"primary": {"key": "c", "kind": "rate", "event": "click"}}}'), 'opsb')->>'code';
SELECT abx.start('ops_b_run', 'opsb')->>'status' AS ops_b_run;
SELECT variant IS NOT NULL AS assigned FROM abx.assign('ops_run', 's1', '{}', 'opsa');

SET SESSION AUTHORIZATION ops_gw;

-- ---------------------------------------------------------------------------------------------
-- GET /api/me: every working role acting for opsa (x-org-id), its rights and organizations.
-- ---------------------------------------------------------------------------------------------
SELECT r AS role, t.ops('http_me', r, 'opsa') AS me
  FROM unnest(ARRAY['ops_admin', 'ops_exp', 'ops_analyst', 'ops_service', 'ops_reader']) r;
-- A role of two organizations naming none: no organization (not a refusal), both to pick from;
-- then acting for opsb.
SELECT t.ops('http_me', 'ops_multi') AS multi_without_org;
SELECT t.ops('http_me', 'ops_multi', 'opsb') -> 'organization' AS multi_for_opsb;
-- A group role acting for the JWT's org claim (no membership needed): that organization.
SELECT t.ops('http_me', 'abx_experimenter', claim_org => 'opsb') - 'rights' AS jwt_org;
-- Platform roles act without organization and may pick none: abx.organization naming one they
-- are no member of is refused, so none is offered (the ops admin as much as the analyst).
SELECT t.ops('http_me', 'ops_platform') - 'subject' AS platform_admin;
SELECT t.ops('http_me', 'ops_platform', 'opsa') AS platform_admin_for_opsa;
SELECT t.ops('http_me', 'ops_platform_analyst') -> 'organizations' AS platform_analyst_organizations;
-- Refusals: another organization's x-org-id, a role outside abx, an unknown query field.
SELECT t.ops('http_me', 'ops_exp', 'opsb');
SELECT t.ops('http_me', 'ops_nobody');
SELECT t.ops('http_me', 'ops_exp', 'opsa', query => '{"verbose": "1"}');
RESET SESSION AUTHORIZATION;
-- A superuser holds every right (its list is every right abx has, so a new right shows here) and
-- may act for every organization.
SELECT m ->> 'superuser' AS superuser, m -> 'rights' AS every_right,
       jsonb_array_length(m -> 'organizations') = (SELECT count(*) FROM abx.organizations) AS all_organizations,
       m -> 'organizations' @> '[{"key": "opsa", "name": "Ops A"}, {"key": "opsb", "name": "Ops B"}]' AS both
  FROM abx.http_me('{}', '{}', 'null') m;

-- The rights /api/me lists are the ones the functions grant: per role and right, a call guarded
-- by that right is refused naming it exactly when the right is not listed. Each call rolls back.
CREATE TEMP TABLE right_calls (right_name text, q text);
INSERT INTO right_calls VALUES
  ('experiments:read', $$SELECT abx.experiment('ops_run')$$),
  ('experiments:write', $$SELECT abx.update_experiment('ops_draft', '{"name": "x"}')$$),
  ('experiments:lifecycle', $$SELECT abx.pause('ops_run')$$),
  ('experiments:admin', $$SELECT abx.archive('ops_done')$$),
  ('experiments:analyze', $$SELECT abx.aggregate('ops_run')$$),
  ('experiments:assign', $$SELECT abx.assign('ops_run', 's9')$$),
  ('experiments:events:write', $$SELECT abx.track('ops_run', 's1', 'click')$$),
  ('experiments:winner:read', $$SELECT abx.winner('ops_run')$$),
  ('audit:read', $$SELECT abx.http_audit('{}', '{}', 'null')$$),
  ('meta:read', $$SELECT abx.http_audit_stats('{}', '{}', 'null')$$);
-- Every right is exercised.
SELECT array_agg(right_name ORDER BY right_name) = (SELECT array_agg(r ORDER BY r)
         FROM jsonb_array_elements_text(abx.http_me('{}', '{}', 'null') -> 'rights') r) AS every_right_called
  FROM right_calls;
CREATE FUNCTION t.right_outcomes(who text) RETURNS TABLE (right_name text, listed boolean, refused boolean)
LANGUAGE plpgsql AS $$
DECLARE
    rights text[] := ARRAY(SELECT c.right_name FROM right_calls c ORDER BY 1);
    queries text[] := ARRAY(SELECT c.q FROM right_calls c ORDER BY c.right_name);
    held jsonb;
BEGIN
    EXECUTE format('SET ROLE %I', who);
    PERFORM set_config('abx.organization', 'opsa', true);
    held := abx.http_me('{}', '{}', 'null') -> 'rights';
    FOR i IN 1 .. cardinality(rights) LOOP
        BEGIN
            EXECUTE queries[i];
            RAISE EXCEPTION USING ERRCODE = 'T0001', MESSAGE = 'rollback';
        EXCEPTION WHEN OTHERS THEN
            -- Allowed (rolled back), or refused naming this right; anything else is a mistake here.
            IF SQLSTATE = 'T0001' THEN
                refused := false;
            ELSIF SQLSTATE = '42501' AND SQLERRM LIKE '%needs the right ' || rights[i] || ',%' THEN
                refused := true;
            ELSE
                RAISE EXCEPTION '% as %: % %', queries[i], who, SQLSTATE, SQLERRM;
            END IF;
        END;
        right_name := rights[i];
        listed := held ? rights[i];
        RETURN NEXT;
    END LOOP;
    RESET ROLE;
END $$;
SELECT r AS role,
       string_agg(o.right_name, ' ' ORDER BY o.right_name) FILTER (WHERE NOT o.refused) AS allowed,
       count(*) FILTER (WHERE o.listed = o.refused) AS disagreements
  FROM unnest(ARRAY['ops_admin', 'ops_exp', 'ops_analyst', 'ops_service', 'ops_reader']) r,
       LATERAL t.right_outcomes(r) o
 GROUP BY r ORDER BY r;

-- ---------------------------------------------------------------------------------------------
-- Lifecycle routes: the experiment document as GET /api/experiments/:id answers it; :id is the
-- numeric id or the code; forbidden transitions 55000; rights as the functions'.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION ops_gw;
SELECT t.ops('http_pause', 'ops_exp', 'opsa', '{"id": "ops_cycle"}') AS paused \gset
SELECT :'paused'::jsonb ->> 'status' AS status,
       :'paused'::jsonb = t.ops('http_get_experiment', 'ops_exp', 'opsa', '{"id": "ops_cycle"}') AS as_get,
       :'paused'::jsonb #>> '{variants,0,variant_id}' AS variant_id;
SELECT t.ops('http_pause', 'ops_exp', 'opsa', '{"id": "ops_cycle"}');
SELECT t.ops('http_resume', 'ops_exp', 'opsa',
             jsonb_build_object('id', (SELECT (t.ops('http_get_experiment', 'ops_exp', 'opsa', '{"id": "ops_cycle"}') ->> 'id')))) ->> 'status' AS resumed_by_id;
SELECT t.ops('http_resume', 'ops_exp', 'opsa', '{"id": "ops_cycle"}');
SELECT t.ops('http_complete', 'ops_reader', 'opsa', '{"id": "ops_cycle"}');
SELECT t.ops('http_complete', 'ops_exp', 'opsa', '{"id": "ops_cycle"}') ->> 'status' AS completed;
SELECT t.ops('http_complete', 'ops_exp', 'opsa', '{"id": "ops_draft"}');
SELECT t.ops('http_archive', 'ops_exp', 'opsa', '{"id": "ops_cycle"}');
SELECT t.ops('http_archive', 'ops_admin', 'opsa', '{"id": "ops_cycle"}') ->> 'status' AS archived;
SELECT t.ops('http_resume', 'ops_admin', 'opsa', '{"id": "ops_cycle"}');
-- Another organization's experiment does not exist for opsa; a missing :id is named.
SELECT t.ops('http_pause', 'ops_exp', 'opsa', '{"id": "ops_b_run"}');
SELECT t.ops('http_pause', 'ops_rival', 'opsb', '{"id": "ops_b_run"}');
SELECT t.ops('http_pause', 'ops_exp', 'opsa');

-- ---------------------------------------------------------------------------------------------
-- The experiment list: status filters (active = running or paused), q, type and promoted.
-- ---------------------------------------------------------------------------------------------
SELECT q AS query,
       (SELECT (l ->> 'total')::int = jsonb_array_length(l -> 'experiments')
          FROM t.ops('http_list_experiments', 'ops_reader', 'opsa', query => q) l) AS total_is_listed,
       (SELECT string_agg(e ->> 'code' || ':' || (e ->> 'status'), ' ' ORDER BY e ->> 'code')
          FROM jsonb_array_elements(t.ops('http_list_experiments', 'ops_reader', 'opsa', query => q) -> 'experiments') e
         WHERE e ->> 'organization' = 'opsa') AS opsa_experiments
  FROM unnest(ARRAY['{}', '{"status": "active"}', '{"status": "draft"}', '{"status": "completed"}',
                    '{"status": "archived"}', '{"status": "running"}', '{"q": "BLUE"}', '{"q": "colour"}',
                    '{"q": "ops_d"}', '{"q": "%"}', '{"status": "active", "q": "PAUSED"}']::jsonb[]) q;
SELECT e - 'created_at' - 'updated_at' - 'started_at' - 'id' AS listed
  FROM jsonb_array_elements(t.ops('http_list_experiments', 'ops_reader', 'opsa', query => '{"q": "Blue Button"}') -> 'experiments') e;
SELECT t.ops('http_list_experiments', 'ops_reader', 'opsa', query => '{"status": "live"}');
-- opsb sees its own experiments only, with their type.
SELECT e ->> 'code' AS code, e ->> 'type' AS type, e ->> 'organization' AS organization
  FROM jsonb_array_elements(t.ops('http_list_experiments', 'ops_rival', 'opsb') -> 'experiments') e
 WHERE e ->> 'organization' IS NOT NULL;
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Approvals (seed 001's envelope): the hourly job asks, a person rejects (reason required) or
-- approves (reason optional); both reasons are recorded; a rollback's reason is audited.
-- ---------------------------------------------------------------------------------------------
SELECT abx.create_experiment(t.promo_spec('ops_promo', '{"mode": "automatic", "require_manual_approval": true}'), 'opsa')->>'code';
SELECT abx.start('ops_promo', 'opsa')->>'status';
SELECT t.fill('ops_promo', 'opsa') > 0 AS filled;
SELECT count(*) > 0 AS aggregated FROM abx.aggregate('ops_promo', 'opsa');
SELECT o->>'action' AS asked FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'ops_promo';
SET SESSION AUTHORIZATION ops_gw;
-- The eligibility says that a promotion waits for approval (the page offers approve and reject then).
SELECT (t.ops('http_promotion_eligibility', 'ops_analyst', 'opsa', '{"name": "ops_promo"}') #> '{data,pendingApproval}') - 'id' - 'requestedAt' AS pending;
SELECT t.ops('http_promotion_eligibility', 'ops_rival', 'opsb', '{"name": "ops_promo"}') AS other_organization;
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}');
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{}');
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "  "}');
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": 7}');
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "x", "why": "y"}');
SELECT t.ops('http_reject', 'ops_analyst', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "x"}');
SELECT t.ops('http_reject', 'ops_rival', 'opsb', '{"name": "ops_promo"}', body => '{"reason": "x"}');
SELECT t.ops('http_reject', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "not during the sale"}') #- '{data,approvalId}' AS rejected;
SELECT t.ops('http_promotion_eligibility', 'ops_analyst', 'opsa', '{"name": "ops_promo"}') #> '{data,pendingApproval}' AS pending_after_reject;
SELECT t.ops('http_approve', 'ops_exp', 'opsa', '{"name": "ops_promo"}');
RESET SESSION AUTHORIZATION;
-- The WebSocket feed tells of the request and of the rejection (0.6.0).
SELECT e -> 'message' AS feed_message FROM jsonb_array_elements(abx.feed_since(0, 10000) -> 'events') e
 WHERE e #>> '{message,type}' = 'approval' AND e #>> '{message,experimentCode}' = 'ops_promo' ORDER BY (e ->> 'id')::bigint;
SELECT o->>'action' AS asked_again FROM jsonb_array_elements(abx.auto_promote()) o WHERE o->>'experiment' = 'ops_promo';
SET SESSION AUTHORIZATION ops_gw;
SELECT t.ops('http_approve', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "sale is over"}')
       #- '{data,approvalId}' #- '{data,promotionId}' AS approved;
SELECT t.ops('http_rollback', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "refunds up"}') -> 'success' AS rolled_back;
-- A person's promotion carries its reason (0.6.0), kept as the winner's reason.
SELECT t.ops('http_promote', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": "refunds are back to normal", "promotedBy": "pm"}')
       #> '{data,promotion,reason}' AS promoted_with_reason;
SELECT t.ops('http_promote', 'ops_exp', 'opsa', '{"name": "ops_promo"}', body => '{"reason": 5}') AS reason_must_be_text;
RESET SESSION AUTHORIZATION;
SELECT winner_reason FROM abx.experiments WHERE code = 'ops_promo';
SELECT status, decided_by, reason FROM abx.approvals
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ops_promo') ORDER BY id;
-- The audit log keeps each reason and the JWT subject that acted.
SELECT action, actor, jwt_subject, coalesce(change #>> '{after,reason}', change #>> '{promotion,reason}', change ->> 'reason') AS reason
  FROM abx.audit_log
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ops_promo')
   AND action IN ('experiment.approval_rejected', 'experiment.promote', 'experiment.rollback')
 ORDER BY seq;

-- ---------------------------------------------------------------------------------------------
-- GET /api/audit: what the session may see, newest first, filters, paging by seq, bad input.
-- Compared with the log itself, so run by the superuser (t.ops still sets each request's role).
-- ---------------------------------------------------------------------------------------------
SET abx.pinned_now = '2026-11-02 09:00:00+00';
SELECT abx.update_experiment('ops_draft', '{"name": "Second day"}', 'opsa') ->> 'name' AS day_two;
SELECT abx.update_experiment('ops_b_run', '{"name": "Rival, day two"}', 'opsb') ->> 'name' AS rival_day_two;
RESET abx.pinned_now;
-- The page as opsa's analyst sees it equals the log's opsa rows, newest first.
SELECT (SELECT array_agg((e ->> 'seq')::bigint ORDER BY n)
          FROM jsonb_array_elements(t.ops('http_audit', 'ops_analyst', 'opsa', query => '{"limit": "1000"}') -> 'entries')
               WITH ORDINALITY x(e, n))
       = (SELECT array_agg(seq ORDER BY seq DESC) FROM abx.audit_log
           WHERE organization_id = (SELECT id FROM abx.organizations WHERE key = 'opsa')) AS opsa_rows_newest_first;
-- The newest entry in full (what the page shows).
SELECT (t.ops('http_audit', 'ops_analyst', 'opsa', query => '{"limit": "1"}') -> 'entries' -> 0) - 'seq' - 'target' AS newest;
-- Paging: limit 3 then before = next_before, until next_before is null; the pages together are
-- the whole list, in order, without overlap.
CREATE FUNCTION t.audit_pages(who text, org text, q jsonb) RETURNS TABLE (pages integer, seqs bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    page jsonb;
    before jsonb := NULL;
BEGIN
    pages := 0;
    seqs := '{}';
    LOOP
        page := t.ops('http_audit', who, org, query => q || jsonb_strip_nulls(jsonb_build_object('before', before #>> '{}')));
        pages := pages + 1;
        seqs := seqs || ARRAY(SELECT (e ->> 'seq')::bigint FROM jsonb_array_elements(page -> 'entries') WITH ORDINALITY x(e, n) ORDER BY n);
        before := page -> 'next_before';
        EXIT WHEN jsonb_typeof(before) <> 'number' OR pages > 100;
    END LOOP;
    RETURN NEXT;
END $$;
SELECT p.pages > 2 AS several_pages,
       p.seqs = (SELECT array_agg(seq ORDER BY seq DESC) FROM abx.audit_log
                  WHERE organization_id = (SELECT id FROM abx.organizations WHERE key = 'opsa')) AS whole_log_in_order
  FROM t.audit_pages('ops_analyst', 'opsa', '{"limit": "3"}') p;
-- Filters, each against the log itself: an experiment (by code or id), an actor (role or JWT
-- subject), an action prefix, an outcome, a time range.
SELECT f AS filter,
       (SELECT string_agg(e ->> 'action' || ' ' || (e ->> 'experiment') || ' by ' || (e ->> 'actor') || '/' || (e ->> 'subject'), ', ')
          FROM jsonb_array_elements(t.ops('http_audit', 'ops_admin', 'opsa', query => f) -> 'entries') e) AS entries
  FROM unnest(ARRAY['{"experiment": "ops_promo", "action": "experiment.rollback"}',
                    '{"actor": "u-ops_exp", "action": "experiment.pro"}']::jsonb[]) f;
SELECT f AS filter,
       coalesce((SELECT array_agg((e ->> 'seq')::bigint ORDER BY n)
          FROM jsonb_array_elements(t.ops('http_audit', 'ops_admin', 'opsa', query => f) -> 'entries') WITH ORDINALITY x(e, n)), '{}')
       = coalesce((SELECT array_agg(a.seq ORDER BY a.seq DESC) FROM abx.audit_log a
           WHERE a.organization_id = (SELECT id FROM abx.organizations WHERE key = 'opsa')
             AND (NOT f ? 'experiment' OR a.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ops_promo'))
             AND (NOT f ? 'actor' OR a.actor = f ->> 'actor' OR a.jwt_subject = f ->> 'actor')
             AND (NOT f ? 'action' OR a.action LIKE (f ->> 'action') || '%')
             AND (NOT f ? 'outcome' OR a.outcome = f ->> 'outcome')
             AND (NOT f ? 'from' OR a.at >= (f ->> 'from')::timestamptz)
             AND (NOT f ? 'to' OR a.at < (f ->> 'to')::timestamptz)), '{}') AS matches_log,
       jsonb_array_length(t.ops('http_audit', 'ops_admin', 'opsa', query => f) -> 'entries') AS entries
  FROM unnest(ARRAY['{"experiment": "ops_promo"}', '{"actor": "ops_exp"}', '{"actor": "u-ops_exp"}',
                    '{"action": "experiment."}', '{"action": "experiment.promote"}', '{"outcome": "ok"}',
                    '{"outcome": "denied"}', '{"from": "2026-11-02T00:00:00Z"}', '{"to": "2026-11-02T00:00:00Z"}',
                    '{"from": "2026-11-01T00:00:00+02:00", "to": "2026-11-01T09:00:00.5Z", "action": "experiment.start"}']::jsonb[]) f;
SELECT jsonb_array_length(t.ops('http_audit', 'ops_admin', 'opsa',
           query => jsonb_build_object('experiment', (SELECT id FROM abx.experiments WHERE code = 'ops_promo')::text)) -> 'entries')
     = jsonb_array_length(t.ops('http_audit', 'ops_admin', 'opsa', query => '{"experiment": "ops_promo"}') -> 'entries') AS by_id_as_by_code;
-- Policy and right refusals are denied entries: opsa's experimenter refused opsa's audit.
SELECT t.ops('http_audit', 'ops_exp', 'opsa');
-- Isolation: opsb's analyst sees opsb's entries only, and nothing of opsa's experiments.
SELECT count(*) > 0 AS some, bool_and(e ->> 'organization' = 'opsb') AS only_opsb
  FROM jsonb_array_elements(t.ops('http_audit', 'ops_rival', 'opsb', query => '{"limit": "1000"}') -> 'entries') e;
SELECT t.ops('http_audit', 'ops_rival', 'opsb', query => '{"experiment": "ops_promo"}');
SELECT t.ops('http_audit', 'ops_rival', 'opsa');
-- A platform analyst sees the entries without organization only.
SELECT count(*) > 0 AS some, bool_and(e -> 'organization' = 'null') AS only_without_organization
  FROM jsonb_array_elements(t.ops('http_audit', 'ops_platform_analyst', query => '{"limit": "1000"}') -> 'entries') e;
-- Refusals and policy denials belong to no organization (docs/security.md §3): the platform's
-- page lists them with outcome=denied, policy.deny included. A background worker appends them
-- (they outlive the refused transaction): the last one is waited for before comparing.
BEGIN;
SET LOCAL ROLE ops_exp;
SET LOCAL abx.organization = 'opsa';
SET LOCAL request.id = 'ops-last-refusal';
\set VERBOSITY terse
SELECT abx.http_jobs('{}', '{}', 'null');
\set VERBOSITY default
ROLLBACK;
SELECT t.wait_for($$SELECT EXISTS (SELECT FROM abx.audit_log WHERE request_id = 'ops-last-refusal')$$) AS refusals_written;
SELECT count(*) > 0 AS some, bool_and(e ->> 'outcome' = 'denied') AS all_denied,
       count(*) FILTER (WHERE e ->> 'action' = 'policy.deny') > 0 AS policy_denials
  FROM jsonb_array_elements(t.ops('http_audit', 'ops_platform_analyst', query => '{"outcome": "denied", "limit": "1000"}') -> 'entries') e;
SELECT (SELECT array_agg((e ->> 'seq')::bigint ORDER BY n)
          FROM jsonb_array_elements(t.ops('http_audit', 'ops_platform_analyst', query => '{"outcome": "denied", "limit": "1000"}') -> 'entries')
               WITH ORDINALITY x(e, n))
       = (SELECT array_agg(seq ORDER BY seq DESC) FROM (SELECT seq FROM abx.audit_log WHERE outcome = 'denied' AND organization_id IS NULL
                                                       ORDER BY seq DESC LIMIT 1000) d) AS denied_match_log;
-- Bad input, each naming its field.
SELECT f AS query, t.ops('http_audit', 'ops_analyst', 'opsa', query => f) AS refused
  FROM unnest(ARRAY['{"from": "yesterday"}', '{"to": "2026-02-30T00:00:00Z"}', '{"limit": "0"}',
                    '{"limit": "1001"}', '{"limit": "ten"}', '{"before": "0"}', '{"outcome": "maybe"}',
                    '{"page": "2"}']::jsonb[]) f;

-- GET /api/audit/verify: the chain. Acting for an organization: whether the whole chain holds,
-- with the organization's own entries counted, no head (the chain spans every organization).
-- (Refusals are appended by a background worker, so the head may move on between two reads: the
-- head reported is checked against the log's entry at that seq.)
SELECT max(seq) AS seq_before FROM abx.audit_log \gset
SELECT v - 'checked' - 'head_seq' - 'head_hash' AS verified,
       (v ->> 'head_seq')::bigint >= :seq_before AS head_is_current,
       v ->> 'head_hash' = (SELECT encode(a.hash, 'hex') FROM abx.audit_log a WHERE a.seq = (v ->> 'head_seq')::bigint) AS head_is_that_entry
  FROM t.ops('http_audit_verify', 'ops_platform_analyst') v;
SELECT v - 'checked' AS verified_for_opsa,
       (v ->> 'checked')::bigint = (SELECT count(*) FROM abx.audit_log a JOIN abx.organizations o ON o.id = a.organization_id
                                     WHERE o.key = 'opsa') AS counts_opsa_entries
  FROM t.ops('http_audit_verify', 'ops_analyst', 'opsa') v;
SELECT t.ops('http_audit_verify', 'ops_exp', 'opsa');

-- ---------------------------------------------------------------------------------------------
-- GET /api/jobs: the jobs and their runs (a failing job's run included); platform-wide.
-- ---------------------------------------------------------------------------------------------
SELECT abx.add_job('ops_failing', 'SELECT 1 / 0', schedule => '1 hour', enabled => false) ->> 'name' AS job;
SELECT abx.run_job('ops_failing') - 'result' AS run;
SELECT j - 'last_run_at' AS failing_job
  FROM jsonb_array_elements(t.ops('http_jobs', 'ops_platform_analyst') -> 'jobs') j WHERE j ->> 'name' = 'ops_failing';
SELECT jsonb_array_length(t.ops('http_jobs', 'ops_platform_analyst') -> 'jobs') = (SELECT count(*) FROM abx.jobs) AS every_job,
       (SELECT array_agg((r ->> 'id')::bigint ORDER BY n)
          FROM jsonb_array_elements(t.ops('http_jobs', 'ops_platform_analyst', query => '{"limit": "5"}') -> 'runs') WITH ORDINALITY x(r, n))
       = (SELECT array_agg(id) FROM (SELECT id FROM abx.job_runs ORDER BY id DESC LIMIT 5) r) AS runs_newest_first,
       (SELECT array_agg((r ->> 'id')::bigint ORDER BY n)
          FROM jsonb_array_elements(t.ops('http_jobs', 'ops_platform_analyst', query => '{"status": "failed", "limit": "500"}') -> 'runs') WITH ORDINALITY x(r, n))
       = (SELECT array_agg(id ORDER BY id DESC) FROM abx.job_runs WHERE status IN ('failed', 'timeout', 'interrupted')) AS failures;
SELECT r - 'id' - 'started_at' - 'finished_at' - 'slot' AS failed_run
  FROM jsonb_array_elements(t.ops('http_jobs', 'ops_platform_analyst', query => '{"status": "failed", "limit": "1"}') -> 'runs') r;
-- Acting for an organization: no job is the organization's.
SELECT t.ops('http_jobs', 'ops_analyst', 'opsa') AS org_jobs;
SELECT t.ops('http_jobs', 'ops_exp', 'opsa');
SELECT f AS query, t.ops('http_jobs', 'ops_platform_analyst', query => f) AS refused
  FROM unnest(ARRAY['{"limit": "501"}', '{"status": "broken"}']::jsonb[]) f;
DELETE FROM abx.jobs WHERE name = 'ops_failing';

SELECT ok FROM abx.verify_audit();
DROP FUNCTION t.ops(text, text, text, jsonb, jsonb, jsonb, text), t.right_outcomes(text),
              t.audit_pages(text, text, jsonb);
SELECT count(*) AS memberships_removed FROM (
    SELECT abx.remove_member('opsa', r) FROM unnest(ARRAY['ops_admin', 'ops_exp', 'ops_analyst', 'ops_service',
                                                          'ops_reader', 'ops_multi']) r
    UNION ALL SELECT abx.remove_member('opsb', r) FROM unnest(ARRAY['ops_rival', 'ops_multi']) r) m;
DROP OWNED BY ops_gw, ops_admin, ops_exp, ops_analyst, ops_service, ops_reader, ops_rival, ops_multi,
              ops_platform, ops_platform_analyst, ops_nobody;
DROP ROLE ops_gw, ops_admin, ops_exp, ops_analyst, ops_service, ops_reader, ops_rival, ops_multi,
          ops_platform, ops_platform_analyst, ops_nobody;
