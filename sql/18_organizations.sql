-- Organizations isolated (docs/security.md): members of one organization never see or change
-- another's experiments, assignments, events, buckets, results or audit rows, through any
-- function, view or table; the fast paths apply the same rule; a session's organization is tied
-- to membership, and a JWT claim counts only on a gateway's session.
SET abx.pinned_now = '2026-04-02 10:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;
SELECT abx.create_organization('acme') > 0 AS acme, abx.create_organization('globex') > 0 AS globex;
CREATE ROLE acme_analyst NOLOGIN IN ROLE abx_analyst;
CREATE ROLE acme_service NOLOGIN IN ROLE abx_service;
CREATE ROLE acme_admin NOLOGIN IN ROLE abx_admin;
CREATE ROLE globex_service NOLOGIN IN ROLE abx_service;
CREATE ROLE free_service NOLOGIN IN ROLE abx_service;  -- a member of no organization
SELECT abx.add_member('acme', 'acme_analyst'), abx.add_member('acme', 'acme_service'),
       abx.add_member('acme', 'acme_admin'), abx.add_member('globex', 'globex_service');

-- The same code in both organizations, and a global experiment both use.
CREATE FUNCTION t.setup_org(org text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('abx.organization', org, true);
    PERFORM abx.create_experiment(t.spec('iso', '{"metrics": {"primary": {"kind": "rate", "event": "buy"}}}'));
    PERFORM abx.start('iso');
END $$;
SELECT t.setup_org('acme'), t.setup_org('globex');
SELECT abx.create_experiment(t.spec('iso_global'))->>'code', abx.start('iso_global')->>'status';

SET ROLE acme_service;
SET abx.organization = 'acme';
SELECT count(*) FILTER (WHERE a.variant IS NOT NULL) AS acme_assigned
  FROM generate_series(1, 20) i, abx.assign('iso', 'a' || i) a;
SELECT count(*) FROM generate_series(1, 20) i, abx.track('iso', 'a' || i, 'buy') WHERE i <= 10;
SELECT (abx.assign('iso_global', 'a1')).variant IS NOT NULL AS acme_in_global;
SELECT (abx.track('iso_global', 'a1', 'buy')).status;
RESET ROLE;
SET ROLE globex_service;
SET abx.organization = 'globex';
SELECT count(*) FILTER (WHERE a.variant IS NOT NULL) AS globex_assigned
  FROM generate_series(1, 30) i, abx.assign('iso', 'g' || i) a;
SELECT count(*) FROM generate_series(1, 30) i, abx.track('iso', 'g' || i, 'buy');
SELECT (abx.assign('iso_global', 'g1')).variant IS NOT NULL AS globex_in_global;
SELECT (abx.track('iso_global', 'g1', 'buy')).status;
RESET ROLE;
RESET abx.organization;
SELECT count(*) AS aggregated
  FROM (SELECT abx.aggregate('iso', 'acme') UNION ALL SELECT abx.aggregate('iso', 'globex')
        UNION ALL SELECT abx.aggregate('iso_global')) a;

-- A session names only an organization its role belongs to.
SET ROLE acme_analyst;
SELECT t.err($$SELECT abx.results('iso')$$);  -- bound role, no organization
SET abx.organization = 'globex';
SELECT t.err($$SELECT abx.results('iso')$$);
SET abx.organization = 'acme';
SELECT t.err($$SELECT abx.results('iso', 'globex')$$);
SELECT t.err($$SELECT abx.insights('iso', 'globex')$$);
SELECT t.err($$SELECT abx.srm('iso', 'globex')$$);
SELECT t.err($$SELECT abx.evaluate_winner('iso', 'globex')$$);
SELECT t.err($$SELECT abx.experiment('iso', 'globex')$$);
SELECT t.err($$SELECT abx.aggregate('iso', 'globex')$$);
RESET ROLE;
-- Changes: acme's ops admin changes nothing of globex's, through any function.
SET ROLE acme_admin;
SET abx.organization = 'acme';
SELECT f, split_part(t.err(format('SELECT abx.%s', f)), ':', 1) AS sqlstate
  FROM unnest(ARRAY[$$update_experiment('iso', '{"name": "x"}', 'globex')$$, $$pause('iso', 'globex')$$,
                    $$complete('iso', 'globex')$$, $$archive('iso', 'globex')$$,
                    $$delete_experiment('iso', 'globex')$$, $$create_experiment(t.spec('iso2'), 'globex')$$,
                    $$aggregate(NULL, 'globex')$$, $$winner('iso', 'globex')$$]) f;
-- Acting for acme, the same calls reach acme's own experiment only.
SELECT abx.pause('iso')->>'organization' AS paused_own, abx.resume('iso')->>'status' AS resumed;
SELECT organization_key FROM abx.aggregate() ORDER BY 1;
RESET ROLE;
SET ROLE acme_analyst;
SET abx.organization = 'acme';
-- Acme's own figures: 20 subjects, 10 converting.
SELECT variant, n, mean * n AS conversions FROM abx.results('iso') ORDER BY variant;
SELECT sum(n) AS acme_subjects FROM abx.results('iso');
-- The global experiment's figures pool every organization: not from inside one.
SELECT t.err($$SELECT abx.results('iso_global')$$);

-- Views show acme's rows only.
SELECT DISTINCT organization, experiment FROM abx.running_results ORDER BY 1, 2;
SELECT organization, experiment, sum(assignments) AS assignments, sum(events) AS events
  FROM abx.variant_overview GROUP BY 1, 2 ORDER BY 1, 2;
SELECT DISTINCT organization FROM abx.audit_trail;
SELECT DISTINCT organization FROM abx.experiment_history;

-- Tables, read directly by an analyst: row-level security leaves acme's rows (and the global
-- experiments' documents) only. (visible: acme's rows; for experiments and variants, those of
-- acme's experiments, the global ones of earlier tests left aside.)
SELECT 'experiments' AS t, count(*) FILTER (WHERE organization_id IS DISTINCT FROM abx.session_organization_id() AND organization_id IS NOT NULL) AS foreign_rows, count(*) FILTER (WHERE organization_id IS NOT NULL) AS visible FROM abx.experiments
UNION ALL SELECT 'variants', count(*) FILTER (WHERE experiment_id NOT IN (SELECT id FROM abx.experiments)), count(*) FILTER (WHERE experiment_id IN (SELECT id FROM abx.experiments WHERE organization_id IS NOT NULL)) FROM abx.variants
UNION ALL SELECT 'assignments', count(*) FILTER (WHERE organization_id <> abx.session_organization_id()), count(*) FROM abx.assignments
UNION ALL SELECT 'events', count(*) FILTER (WHERE organization_id <> abx.session_organization_id()), count(*) FROM abx.events
UNION ALL SELECT 'subject_events', count(*) FILTER (WHERE organization_id <> abx.session_organization_id()), count(*) FROM abx.subject_events
UNION ALL SELECT 'metric_buckets', count(*) FILTER (WHERE experiment_id <> ALL (SELECT id FROM abx.experiments WHERE organization_id = abx.session_organization_id())), count(*) FROM abx.metric_buckets
UNION ALL SELECT 'variant_metric_stats', count(*) FILTER (WHERE experiment_id <> ALL (SELECT id FROM abx.experiments WHERE organization_id = abx.session_organization_id())), count(*) FROM abx.variant_metric_stats
UNION ALL SELECT 'variant_assignments', count(*) FILTER (WHERE experiment_id <> ALL (SELECT id FROM abx.experiments WHERE organization_id = abx.session_organization_id())), count(*) FROM abx.variant_assignments
UNION ALL SELECT 'aggregation_state', count(*) FILTER (WHERE experiment_id <> ALL (SELECT id FROM abx.experiments WHERE organization_id = abx.session_organization_id())), count(*) FROM abx.aggregation_state
UNION ALL SELECT 'audit_log', count(*) FILTER (WHERE organization_id IS DISTINCT FROM abx.session_organization_id()), count(*) FROM abx.audit_log
UNION ALL SELECT 'audit_head', 0, count(*) FROM abx.audit_head
UNION ALL SELECT 'organizations', count(*) FILTER (WHERE key <> 'acme'), count(*) FROM abx.organizations
UNION ALL SELECT 'organization_members', count(*) FILTER (WHERE organization_id <> abx.session_organization_id()), count(*) FROM abx.organization_members;
-- A predicate that would print what it sees runs after the views' filter (security_barrier).
CREATE FUNCTION pg_temp.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN RAISE NOTICE 'peeked at %', $1; RETURN true; END $$;
SELECT count(*) FROM abx.variant_overview WHERE pg_temp.peek(organization);
RESET ROLE;

-- The service paths: assign, assignment, track, track_batch, winner.
SET ROLE acme_service;
SELECT t.err($$SELECT abx.assign('iso', 'x', '{}', 'globex')$$);
SELECT t.err($$SELECT abx.assignment('iso', 'g1', 'globex')$$);
SELECT t.err($$SELECT abx.track('iso', 'g1', 'buy', organization => 'globex')$$);
-- A batch item naming another organization is refused; the others are stored.
SELECT item, status, error_code, error_message FROM abx.track_batch(jsonb_build_array(
    jsonb_build_object('experiment', 'iso', 'subject', 'a1', 'event', 'buy'),
    jsonb_build_object('experiment', 'iso', 'subject', 'g1', 'event', 'buy', 'organization', 'globex'),
    jsonb_build_object('experiment', 'iso', 'subject', 'a2', 'event', 'buy', 'organization', 'acme')))
 ORDER BY item;
-- acme's subject a1 is not globex's: the same subject name in acme's scope is its own.
SELECT variant IS NOT NULL AS own_assignment FROM abx.assignment('iso', 'a1');
SELECT variant IS NULL AS no_such_subject_in_acme FROM abx.assignment('iso', 'g1');
SELECT abx.winner('iso_global') ? 'winner' AS global_winner_readable;
RESET ROLE;
RESET abx.organization;

-- The fast path: a superuser warms the per-backend cache for globex; acme's service still cannot
-- reach globex's experiment through it, and a role without an organization cannot either.
SELECT (abx.assign('iso', 'g1', '{}', 'globex')).variant IS NOT NULL AS warmed;
SET ROLE acme_service;
SELECT t.err($$SELECT abx.assign('iso', 'g1', '{}', 'globex')$$);
RESET abx.organization;
SELECT t.err($$SELECT abx.assign('iso', 'g1')$$);
RESET ROLE;
SET ROLE free_service;
SELECT t.err($$SELECT abx.assign('iso', 'g1', '{}', 'globex')$$);
-- Without an organization, free_service acts in the global scope only.
SELECT (abx.assign('iso_global', 'f1')).variant IS NOT NULL AS global_assigned;
SELECT t.err($$SELECT abx.assign('iso', 'f1')$$);
RESET ROLE;

-- Memberships take effect at once in other sessions' caches (relcache invalidation): removing
-- acme_service from acme closes its next call.
SET ROLE acme_service;
SET abx.organization = 'acme';
SELECT (abx.assign('iso', 'a1')).variant IS NOT NULL AS member;
RESET ROLE;
RESET abx.organization;
SELECT abx.remove_member('acme', 'acme_service');
SET ROLE acme_service;
SET abx.organization = 'acme';
SELECT t.err($$SELECT abx.assign('iso', 'a1')$$);
RESET ROLE;
RESET abx.organization;
SELECT abx.add_member('acme', 'acme_service');

-- JWT claims count only on a gateway's session (session user a member of abx_gateway); there the
-- org claim wins and needs no membership (the gateway verified the token), and a different
-- abx.organization is refused.
CREATE ROLE gw_login NOLOGIN IN ROLE abx_gateway;
GRANT free_service TO gw_login;
SET SESSION AUTHORIZATION gw_login;
SET ROLE free_service;
SET request.jwt.claims = '{"sub": "user-7", "org": "globex"}';
RESET abx.organization;
SELECT (abx.assign('iso', 'g1')).variant IS NOT NULL AS globex_by_claim;
SET abx.organization = 'acme';
SELECT t.err($$SELECT abx.assign('iso', 'g1')$$);
RESET abx.organization;
RESET ROLE;
RESET SESSION AUTHORIZATION;
-- The same claims from a session that is not a gateway's are ignored: free_service acts without an
-- organization (and "iso" exists only inside organizations).
SET SESSION AUTHORIZATION free_service;
SET request.jwt.claims = '{"sub": "user-7", "org": "globex"}';
SELECT t.err($$SELECT abx.assign('iso', 'g1')$$);
RESET SESSION AUTHORIZATION;
RESET request.jwt.claims;
-- abx.organization takes keys only.
SELECT t.err($$SET abx.organization = 'Not A Key'$$);
RESET abx.pinned_now;
DROP FUNCTION pg_temp.peek(text);
DROP OWNED BY acme_analyst, acme_service, acme_admin, globex_service, free_service, gw_login;
DROP ROLE acme_analyst, acme_service, acme_admin, globex_service, free_service, gw_login;
