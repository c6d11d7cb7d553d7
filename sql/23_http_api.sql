-- abx-http's routes (docs/sql-api.md, "HTTP routes"), called the way the gateway calls them: in one
-- transaction, set_config of the role, the JWT claims, abx.organization (x-org-id), request.id and
-- request.internal_token, then the route's function with (path, query, body). Every route, and the
-- refusals: missing right, another organization, bad fields, unknown experiments, a variant_id that
-- is not the subject's, the internal token, and autonomy off.
SET abx.pinned_now = '2026-10-01 10:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;
SELECT abx.create_organization('shop') > 0 AS shop, abx.create_organization('rival') > 0 AS rival;
-- The gateway's login role: a member of abx_gateway (its JWT claims are trusted) and of the roles
-- its tokens name.
CREATE ROLE http_gw NOLOGIN IN ROLE abx_gateway;
GRANT abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader TO http_gw;

-- One request: the gateway's set_config calls, then the route. A refusal is returned as
-- {"error": SQLSTATE, "message": ...} (the transaction of the request rolls back).
CREATE FUNCTION t.http(fn text, role text, path jsonb DEFAULT '{}', query jsonb DEFAULT '{}',
                       body jsonb DEFAULT 'null', org text DEFAULT NULL, header_org text DEFAULT '',
                       token text DEFAULT '') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM set_config('role', role, true),
            set_config('request.jwt.claims',
                       jsonb_strip_nulls(jsonb_build_object('sub', 'user-1', 'role', role, 'org', org))::text, true),
            set_config('abx.organization', header_org, true),
            set_config('request.id', 'req-' || fn, true),
            set_config('request.internal_token', token, true);
    EXECUTE format('SELECT abx.%I($1, $2, $3)', fn) INTO result USING path, query, body;
    PERFORM set_config('role', 'none', true);
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    RETURN jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
END $$;
-- The seed 002 payload of a two-variant experiment.
CREATE FUNCTION t.seed002(name text) RETURNS jsonb LANGUAGE sql AS $$
SELECT jsonb_build_object('name', name, 'description', 'Test blue vs green button', 'salt', 'http-' || name,
    'targeting', '{"country": ["SN", "FR"]}'::jsonb,
    'metrics', '{"primary": {"key": "conv", "kind": "rate", "event": "conversion"}}'::jsonb,
    'variants', '[{"name": "Control (Blue)", "config": {"button_color": "blue"}, "traffic_share": 50, "is_control": true},
                  {"name": "Green Button", "config": {"button_color": "green"}, "traffic_share": 50}]'::jsonb)
$$;

-- ---------------------------------------------------------------------------------------------
-- The internal token: none set yet, then set by a platform admin (digest only, audited).
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_internal_aggregate', 'abx_gateway', token => 'no-token-is-set-yet');
RESET SESSION AUTHORIZATION;
SELECT abx.set_internal_token('cron-0123456789abcdef0123456789abcdef') - 'updated_at' AS token_set;
SELECT t.err($$SELECT abx.set_internal_token('short')$$);
SELECT t.err($$SELECT abx.set_internal_token(NULL)$$);
SELECT key, value ? 'sha256' AS digest_only, value::text LIKE '%cron-0123%' AS token_kept FROM abx.global_settings;
SELECT action, target, change FROM abx.audit_log WHERE action = 'settings.set';
-- Tenants cannot set it: an organization's ops admin acting for it is refused.
CREATE ROLE shop_admin NOLOGIN IN ROLE abx_admin;
SELECT abx.add_member('shop', 'shop_admin');
SET ROLE shop_admin;
SET abx.organization = 'shop';
SELECT t.err($$SELECT abx.set_internal_token('cron-0123456789abcdef0123456789abcdef')$$);
RESET abx.organization;
RESET ROLE;

-- ---------------------------------------------------------------------------------------------
-- Seed 002: experiments by id or code, as an organization's experimenter and service.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION http_gw;
CREATE TEMP TABLE created AS
SELECT t.http('http_create_experiment', 'abx_experimenter', body => t.seed002('Checkout Button Color'), org => 'shop') AS doc;
SELECT doc ->> 'code' AS code, doc ->> 'status' AS status, doc ->> 'organization' AS organization,
       jsonb_path_query_array(doc, '$.variants[*].variant_id') AS variant_ids,
       jsonb_path_query_array(doc, '$.variants[*].traffic_share') AS traffic_shares
  FROM created;
-- Bad fields are named as the body names them.
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop',
              body => t.seed002('Bad') || '{"variants": [{"name": "A", "traffic_share": "50"}, {"name": "B"}]}');
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop', body => t.seed002('Bad') || '{"colour": "red"}');
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop',
              body => t.seed002('Bad') || '{"variants": [{"name": "!!"}, {"name": "B"}]}');
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop', body => '{"description": "no name"}');
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop', body => '[1]');
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop', body => t.seed002('Checkout Button Color'));
-- The right is the route's: a service does not create experiments.
SELECT t.http('http_create_experiment', 'abx_service', org => 'shop', body => t.seed002('Nope'));
-- The organization: a claim and a different x-org-id are refused; so is an x-org-id alone for a
-- role that is no member.
SELECT t.http('http_create_experiment', 'abx_experimenter', org => 'shop', header_org => 'rival', body => t.seed002('Nope'));
SELECT t.http('http_create_experiment', 'abx_experimenter', header_org => 'shop', body => t.seed002('Nope'));

-- :id is the numeric id or the code; another organization's id is not found.
SELECT (SELECT (doc ->> 'id') FROM created) AS id \gset
SELECT t.http('http_get_experiment', 'abx_reader', path => jsonb_build_object('id', :'id'), org => 'shop') ->> 'code' AS by_id,
       t.http('http_get_experiment', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'shop') ->> 'code' AS by_code;
SELECT t.http('http_get_experiment', 'abx_reader', path => jsonb_build_object('id', :'id'), org => 'rival') ->> 'error' AS other_organization;
SELECT t.http('http_get_experiment', 'abx_reader', path => '{"id": "no-such-experiment"}', org => 'shop');
-- A global experiment's id reaches it from an organization, unless the organization's own
-- experiment of the same code hides it (by code, the organization's own wins).
RESET SESSION AUTHORIZATION;
SELECT abx.create_experiment(t.spec('h_global')) ->> 'id' AS global_id \gset
SELECT abx.create_experiment(t.spec('h_shadow')) ->> 'id' AS shadowed_id \gset
SELECT abx.create_experiment(t.spec('h_shadow'), 'shop') ->> 'organization' AS own_shadow;
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_get_experiment', 'abx_reader', path => jsonb_build_object('id', :'global_id'), org => 'shop') ->> 'code' AS global_by_id,
       t.http('http_get_experiment', 'abx_reader', path => '{"id": "h_shadow"}', org => 'shop') ->> 'organization' AS by_code;
SELECT h ->> 'error' AS error, h ->> 'message' LIKE '%global experiment this organization''s own experiment "h_shadow" hides' AS hidden
  FROM t.http('http_get_experiment', 'abx_reader', path => jsonb_build_object('id', :'shadowed_id'), org => 'shop') h;
SELECT t.http('http_get_experiment', 'abx_reader', path => '{}', org => 'shop');
SELECT t.http('http_get_experiment', 'abx_reader', path => '{"id": "checkout-button-color"}', query => '{"expand": "all"}', org => 'shop');
-- The list: the organization's experiments and the global ones, filtered and paged.
SELECT jsonb_path_query_array(l, '$.experiments[*] ? (@.organization == "shop").code') AS own,
       jsonb_path_exists(l, '$.experiments[*] ? (@.organization == null)') AS global_too,
       jsonb_path_exists(l, '$.experiments[*] ? (@.status != "draft")') AS other_status, l ->> 'limit' AS lim
  FROM t.http('http_list_experiments', 'abx_reader', query => '{"status": "draft", "limit": "1000"}', org => 'shop') l;
SELECT jsonb_array_length(l -> 'experiments') AS page, l ->> 'offset' AS off
  FROM t.http('http_list_experiments', 'abx_reader', query => '{"limit": "2", "offset": "1"}', org => 'shop') l;
SELECT t.http('http_list_experiments', 'abx_reader', query => '{"status": "stopped"}', org => 'shop');
SELECT t.http('http_list_experiments', 'abx_reader', query => '{"limit": "0"}', org => 'shop');
SELECT t.http('http_list_experiments', 'abx_reader', query => '{"limit": "ten"}', org => 'shop');
SELECT t.http('http_list_experiments', 'abx_service', org => 'shop');
SELECT jsonb_path_exists(t.http('http_list_experiments', 'abx_reader', query => '{"limit": "1000"}', org => 'rival'),
                         '$.experiments[*] ? (@.organization == "shop")') AS rival_sees_shop;
-- Start, stop (pause), start again (resume).
SELECT t.http('http_start', 'abx_experimenter', path => jsonb_build_object('id', :'id'), org => 'shop') ->> 'status' AS started,
       t.http('http_stop', 'abx_experimenter', path => jsonb_build_object('id', :'id'), org => 'shop') ->> 'status' AS stopped;
SELECT t.http('http_stop', 'abx_experimenter', path => jsonb_build_object('id', :'id'), org => 'shop');
SELECT t.http('http_start', 'abx_experimenter', path => jsonb_build_object('id', :'id'), org => 'shop') ->> 'status' AS resumed;
SELECT t.http('http_start', 'abx_experimenter', path => jsonb_build_object('id', :'id'), org => 'shop');
SELECT t.http('http_stop', 'abx_service', path => jsonb_build_object('id', :'id'), org => 'shop');
-- Update with seed 002's fields: running, a variant is matched by its key (its name made a key).
SELECT u ->> 'name' AS name, jsonb_path_query_array(u, '$.variants[*].traffic_share') AS traffic_shares
  FROM t.http('http_update_experiment', 'abx_experimenter', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"name": "Checkout button", "variants": [{"name": "Green Button", "traffic_share": 70}]}') u;
SELECT t.http('http_update_experiment', 'abx_experimenter', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variants": [{"name": "Green Button", "traffic_share": -5}]}');
SELECT t.http('http_update_experiment', 'abx_experimenter', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variants": [{"key": "green-button", "traffic_share": 5, "weight": 5}]}');
SELECT t.http('http_update_experiment', 'abx_experimenter', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"coverage": 2}');
SELECT t.http('http_update_experiment', 'abx_experimenter', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"salt": "other"}');
SELECT t.http('http_update_experiment', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'shop', body => '{}');

-- Assign (molam_id) and read the assignment.
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "context": {"country": "SN"}}');
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u2", "context": {"country": "US"}}');
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop', body => '{}');
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop', body => '{"molam_id": 42}');
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop', body => '{"molam_id": ""}');
SELECT t.http('http_assign', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u3", "context": [1]}');
SELECT t.http('http_assign', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'shop', body => '{"molam_id": "u3"}');
SELECT t.http('http_get_assignment', 'abx_service', path => '{"id": "checkout-button-color", "molam_id": "u1"}', org => 'shop') - 'assigned_at';
SELECT t.http('http_get_assignment', 'abx_service', path => '{"id": "checkout-button-color", "molam_id": "u2"}', org => 'shop');
SELECT t.http('http_get_assignment', 'abx_service', path => '{"id": "checkout-button-color", "molam_id": "u1"}', org => 'rival');

-- Track: a variant_id the client sends must be the subject's; a mismatch stores nothing.
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variant_id": "control-blue", "molam_id": "u1", "event_type": "conversion", "value": 49.99,
                        "metadata": {"source": "web", "page": "checkout"}}') - 'event_id';
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variant_id": "green-button", "molam_id": "u1", "event_type": "conversion"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variant_id": "no-such-variant", "molam_id": "u1", "event_type": "conversion"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"variant_id": "control-blue", "molam_id": "u2", "event_type": "conversion"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click"}') ->> 'status' AS without_variant_id;
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "bad type"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "value": "9"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "value": null}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "value": 1e20}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "metadata": [1]}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "ts": "2026-02-30T00:00:00Z"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "ts": "2026-10-02T00:00:00Z"}');
SELECT t.http('http_track', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click", "variant": "control-blue"}');
SELECT t.http('http_track', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'shop',
              body => '{"molam_id": "u1", "event_type": "click"}');
RESET SESSION AUTHORIZATION;
SELECT e.event_key, count(*) FROM abx.events e JOIN abx.experiments x ON x.id = e.experiment_id
 WHERE x.code = 'checkout-button-color' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS aggregated FROM abx.aggregate('checkout-button-color', 'shop');
SET SESSION AUTHORIZATION http_gw;
SELECT r ->> 'experiment' AS experiment, jsonb_path_query_array(r, '$.results[*].variant') AS variants,
       jsonb_path_query_array(r, '$.results[*].n') AS n, r #>> '{srm,mismatch}' AS srm_mismatch
  FROM t.http('http_results', 'abx_analyst', path => '{"id": "checkout-button-color"}', org => 'shop') r;
SELECT t.http('http_results', 'abx_service', path => '{"id": "checkout-button-color"}', org => 'shop');
SELECT i ->> 'recommendation' AS recommendation, jsonb_path_query_array(i, '$.insights[*].variant') AS variants,
       jsonb_path_query_array(i, '$.insights[*].samples') AS samples, i -> 'bandit' AS bandit
  FROM t.http('http_insights', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'shop') i;
SELECT t.http('http_insights', 'abx_reader', path => '{"id": "checkout-button-color"}', org => 'rival');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Seed 004, public API (by code): assignment with the winner snapshot, events, winner.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}',
              query => '{"subjectId": "s1", "country": "FR", "orgId": "shop"}', org => 'shop');
SELECT a ->> 'variantKey' AS variant, a ->> 'isNew' AS is_new, a ->> 'reason' AS reason
  FROM t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}',
              query => '{"subjectId": "s1"}', org => 'shop') a;
-- The other query parameters are the targeting context.
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}',
              query => '{"subjectId": "s2", "country": "US"}', org => 'shop') - 'winner';
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{}', org => 'shop');
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": ""}', org => 'shop');
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "nope"}', query => '{"subjectId": "s1"}', org => 'shop');
SELECT t.http('http_assignment', 'abx_reader', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}', org => 'shop');
SELECT t.http('http_assignment', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}', org => 'rival');
-- Events: one, or {events: [...]} with a result per event (subjectId from the event or the query).
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}',
              body => '{"eventKey": "conversion", "value": 20, "idempotencyKey": "order-1"}', org => 'shop') #- '{results,0,eventId}';
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}',
              body => '{"eventKey": "conversion", "value": 20, "idempotencyKey": "order-1"}', org => 'shop') #>> '{results,0,status}' AS again;
SELECT x ->> 'index' AS i, x ->> 'status' AS status, x ->> 'variantKey' AS variant, x #>> '{error,code}' AS code,
       x #>> '{error,message}' AS message
  FROM t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}', org => 'shop',
              body => '{"events": [{"eventKey": "click"}, {"eventKey": "click", "subjectId": "u1", "meta": {"page": 2}},
                                   {"eventKey": "click", "colour": 1}, {"value": 2}, {"eventKey": null}, {"eventKey": "click", "subjectId": 7},
                                   {"eventKey": "click", "subjectId": "nobody"}, {"eventKey": "bad key"},
                                   {"eventKey": "click", "value": "x"}, {"eventKey": "click", "value": null},
                                   {"eventKey": "click", "ts": "yesterday"}, 7]}') r,
       jsonb_array_elements(r -> 'results') x;
SELECT r - 'results' AS counts
  FROM t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', org => 'shop',
              body => '{"events": [{"eventKey": "view", "subjectId": "s1"}, {"eventKey": "view"}]}') r;
-- One event's error is the request's error.
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "s1"}',
              body => '{"eventKey": "bad key"}', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', query => '{"subjectId": "nobody"}',
              body => '{"eventKey": "click"}', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', body => '{"eventKey": "click"}', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', body => 'null', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', body => '[]', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', body => '{"events": {}}', org => 'shop');
SELECT t.http('http_events', 'abx_service', path => '{"code": "checkout-button-color"}', body => '{"events": [], "more": 1}', org => 'shop');
SELECT t.http('http_events', 'abx_analyst', path => '{"code": "checkout-button-color"}', body => '{"eventKey": "click"}', org => 'shop');
-- The winner: the stored snapshot and the policy's candidate now; every role reads it.
SELECT t.http('http_winner', 'abx_service', path => '{"code": "checkout-button-color"}', org => 'shop');
SELECT t.http('http_winner', 'abx_reader', path => '{"code": "no-such"}', org => 'shop');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Seed 004, admin API: ops admins (the Basic-auth superadmin runs as abx_admin, without an
-- organization: global experiments).
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION http_gw;
SELECT c ->> 'code' AS code, c ->> 'status' AS status, c ->> 'organization' AS organization
  FROM t.http('http_admin_create', 'abx_admin',
              body => t.spec('h_admin', '{"metrics": {"primary": {"key": "buy", "kind": "rate", "event": "buy"}}}')) c;
SELECT t.http('http_admin_create', 'abx_admin', body => t.spec('h_bad') || '{"coverage": "all"}');
SELECT t.http('http_admin_create', 'abx_admin', body => '{"code": "h_bad", "variants": [{"key": "a", "weight": -1}, {"key": "b"}]}');
SELECT t.http('http_admin_create', 'abx_admin', body => 'null');
SELECT t.http('http_admin_create', 'abx_experimenter', body => t.spec('h_nope'));
SELECT t.http('http_admin_get', 'abx_admin', path => '{"id": "h_admin"}') ->> 'status' AS status;
SELECT t.http('http_admin_update', 'abx_admin', path => '{"id": "h_admin"}', body => '{"name": "Admin test"}') ->> 'name' AS name;
SELECT t.http('http_admin_update', 'abx_admin', path => '{"id": "h_admin"}', body => '{"variants": [{"key": "control", "weight": "x"}]}');
SELECT t.http('http_admin_update', 'abx_admin', path => '{"id": "h_admin"}', body => '[]');
SELECT jsonb_path_query_array(l, '$.experiments[*] ? (@.code starts with "h_").code') AS global_h, l ->> 'limit' AS lim
  FROM t.http('http_admin_list', 'abx_admin', query => '{"limit": "1000"}') l;
SELECT t.http('http_admin_list', 'abx_admin', query => '{"offset": "-1"}');
SELECT t.http('http_admin_list', 'abx_reader');
-- Delete: a draft is deleted, anything that ran is archived.
SELECT t.http('http_admin_create', 'abx_admin', body => t.spec('h_draft')) ->> 'status' AS draft;
SELECT d ->> 'deleted' AS deleted, d ->> 'archived' AS archived, d #>> '{experiment,code}' AS code
  FROM t.http('http_admin_delete', 'abx_admin', path => '{"id": "h_draft"}') d;
SELECT t.http('http_admin_get', 'abx_admin', path => '{"id": "h_draft"}');
RESET SESSION AUTHORIZATION;
SELECT abx.start('h_admin') ->> 'status' AS started;
SELECT count(*) FILTER (WHERE a.variant IS NOT NULL) AS assigned FROM generate_series(1, 20) i, abx.assign('h_admin', 'a' || i) a;
SELECT count(*) AS tracked FROM generate_series(1, 20, 2) i, abx.track('h_admin', 'a' || i, 'click', ts => '2026-10-01 08:30:00+00');
SELECT count(*) AS tracked FROM generate_series(1, 20, 4) i, abx.track('h_admin', 'a' || i, 'buy');
SELECT count(*) AS aggregated FROM abx.aggregate('h_admin');
SET SESSION AUTHORIZATION http_gw;
SELECT x ->> 'variantKey' AS variant, x ->> 'metricKey' AS metric, x ->> 'bucketStart' AS bucket_start,
       x ->> 'bucketMs' AS bucket_ms, x ->> 'count' AS count, x ->> 'sum' AS sum
  FROM t.http('http_admin_metrics', 'abx_admin', path => '{"id": "h_admin"}', query => '{"from": "2026-10-01T08:00:00Z"}') m,
       jsonb_array_elements(m -> 'buckets') x;
SELECT jsonb_array_length(m -> 'buckets') AS buckets, jsonb_array_length(m -> 'results') AS results
  FROM t.http('http_admin_metrics', 'abx_admin', path => '{"id": "h_admin"}',
              query => '{"eventKey": "buy", "to": "2026-10-01T12:30:00+02:00"}') m;
SELECT t.http('http_admin_metrics', 'abx_admin', path => '{"id": "h_admin"}', query => '{"from": "yesterday"}');
SELECT t.http('http_admin_metrics', 'abx_admin', path => '{"id": "h_admin"}', query => '{"limit": "1.5"}');
-- An organization's admin reads its own experiments' metrics, not a global one's pooled figures.
SELECT t.http('http_admin_metrics', 'abx_admin', path => '{"id": "h_admin"}', org => 'shop');
SELECT d ->> 'archived' AS archived, d #>> '{experiment,status}' AS status
  FROM t.http('http_admin_delete', 'abx_admin', path => '{"id": "h_admin"}') d;
SELECT t.http('http_admin_delete', 'abx_admin', path => '{"id": "h_admin"}');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Seed 000, META experiments: started with SLO targets, refused with a policy denial when
-- autonomy is off.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION http_gw;
SELECT m ->> 'code' AS code, m ->> 'status' AS status, m ->> 'description' AS goal, m -> 'sla_target' AS sla_target,
       m #>> '{prometheus,baseUrl}' AS prometheus, jsonb_path_query_array(m, '$.variants[*].key') AS variants
  FROM t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-1", "goal": "reduce latency",
     "sla_target": {"p95_latency_ms": 800, "error_rate_threshold": 0.02},
     "prometheus": {"baseUrl": "http://prometheus:9090", "intervalMs": 30000, "window": "5m",
                    "queryLatency": "histogram_quantile(0.95, sum(rate(x[5m])) by (le)) * 1000"}}') m;
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-2", "sla_target": {"p95_latency_ms": -1}}');
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-2", "sla_target": {"p99": 1}}');
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-2", "prometheus": {"baseUrl": "ftp://x"}}');
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"goal": "no name"}');
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-2", "variants": [{"key": "only"}]}');
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-1"}');
SELECT t.http('http_meta_start', 'abx_reader', org => 'shop', body => '{"name": "exp-2"}');
SELECT x ->> 'variant' AS variant, x ->> 'assigned' AS assigned
  FROM t.http('http_meta_metrics', 'abx_reader', path => '{"id": "exp-1"}', org => 'shop') m, jsonb_array_elements(m -> 'assignments') x;
SELECT m -> 'sla_target' AS sla_target, m #>> '{experiment,status}' AS status, m ? 'results' AS has_results, m ? 'srm' AS has_srm
  FROM t.http('http_meta_metrics', 'abx_reader', path => '{"id": "exp-1"}', org => 'shop') m;
SELECT t.http('http_meta_metrics', 'abx_service', path => '{"id": "exp-1"}', org => 'shop');
SELECT t.http('http_meta_metrics', 'abx_reader', path => '{"id": "exp-1"}', org => 'rival');
RESET SESSION AUTHORIZATION;
SELECT code, sla_target, prometheus ->> 'intervalMs' AS interval_ms FROM abx.experiments WHERE code = 'exp-1';
SELECT action, change -> 'after' -> 'sla_target' AS sla_target FROM abx.audit_log WHERE action = 'experiment.slo';

-- Autonomy off for shop: start and stop are refused, nothing changes, and each refusal is a
-- policy denial in the audit log (appended by the denial writer: the refused request rolled back).
SELECT abx.set_autonomy('shop', false) ->> 'allow_autonomy' AS allow_autonomy;
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_meta_start', 'abx_experimenter', org => 'shop', body => '{"name": "exp-3"}');
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"id": "exp-1"}');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS exp_3_created FROM abx.experiments WHERE code = 'exp-3';
SELECT status FROM abx.experiments WHERE code = 'exp-1';
SELECT t.wait_for($$SELECT count(*) = 2 FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'feature' LIKE 'meta.%'$$) AS denials_audited;
SELECT actor, jwt_subject, request_id, target, outcome, error_code, change ->> 'feature' AS feature,
       change ->> 'reason' AS reason, change ->> 'organization' AS organization
  FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'feature' LIKE 'meta.%' ORDER BY seq;
SELECT abx.set_autonomy('shop', true) ->> 'allow_autonomy' AS allow_autonomy;
SET SESSION AUTHORIZATION http_gw;
SELECT s ->> 'status' AS status, s #>> '{prometheus,baseUrl}' AS kept_base_url, s #>> '{prometheus,intervalMs}' AS interval_ms
  FROM t.http('http_meta_stop', 'abx_experimenter', org => 'shop',
              body => '{"id": "exp-1", "prometheus": {"baseUrl": "http://prometheus:9090", "intervalMs": 60000}}') s;
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"id": "exp-1"}');
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"id": 1.5}');
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"id": true}');
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"code": "exp-1"}');
SELECT t.http('http_meta_stop', 'abx_experimenter', org => 'shop', body => '{"id": "no-such"}');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Seed 001, promotion (envelope {success, data, message}).
-- ---------------------------------------------------------------------------------------------
SELECT abx.create_experiment(t.promo_spec('h_promo', '{}'), 'shop') ->> 'code' AS code;
SELECT abx.start('h_promo', 'shop') ->> 'status' AS status;
SELECT t.fill('h_promo', 'shop') > 0 AS filled;
SELECT count(*) AS aggregated FROM abx.aggregate('h_promo', 'shop');
SET SESSION AUTHORIZATION http_gw;
-- Eligible under the experiment's policy (confidence 0.9); a stricter query is not, and says
-- which checks fail.
SELECT e ->> 'success' AS success, e ->> 'message' AS message, e #>> '{data,winner}' AS winner,
       e #> '{data,safetyChecks}' AS checks, e #>> '{data,confidence}' AS confidence,
       e #>> '{data,improvement}' AS improvement
  FROM t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop') e;
SELECT e ->> 'message' AS message, e #> '{data,reasons}' AS reasons
  FROM t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop',
              query => '{"minConfidenceLevel": "99"}') e;
SELECT e #> '{data,safetyChecks}' AS checks
  FROM t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop',
              query => '{"minConfidenceLevel": "80", "minSampleSize": "5000", "minImprovementPercent": "1000",
                         "minRuntimeHours": "1", "maxErrorRate": "0.01"}') e;
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', query => '{"minConfidenceLevel": "120"}');
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', query => '{"minSampleSize": "many"}');
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', query => '{"minSampleSize": "2.5"}');
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', query => '{"maxErrorRate": "5"}');
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', query => '{"verbose": "1"}');
SELECT t.http('http_promotion_eligibility', 'abx_service', path => '{"name": "h_promo"}', org => 'shop');
SELECT t.http('http_promotion_eligibility', 'abx_reader', path => '{"name": "h_promo"}', org => 'rival');
-- Promote: a person's promotion of the winner, eligible under the policy and body.config.
SELECT t.http('http_promote', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', body => '{}');
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"promotionType": "auto"}');
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"because": "x"}');
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"config": {"minSampleSize": "10"}}');
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"config": {"minConfidenceLevel": 99}}');
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "no-such"}', org => 'shop', body => '{}');
SELECT p ->> 'success' AS success, p ->> 'message' AS message, (p #> '{data,promotion}') - 'id' - 'warnings' AS promotion,
       p #>> '{data,eligibility,isEligible}' AS eligible
  FROM t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop',
              body => '{"promotionType": "manual", "promotedBy": "user-123", "config": {"minSampleSize": 50}}') p;
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{}');
SELECT h #> '{data,count}' AS count, h #>> '{data,latestPromotion,promotedVariantName}' AS latest,
       h #>> '{data,latestPromotion,promotionType}' AS type, h #>> '{data,latestPromotion,rollbackAt}' AS rollback_at
  FROM t.http('http_promotion_history', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop') h;
-- Roll back: a reason is required; twice is refused.
SELECT t.http('http_rollback', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{}');
SELECT t.http('http_rollback', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"reason": "  "}');
SELECT t.http('http_rollback', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop', body => '{"reason": "x"}');
SELECT r ->> 'message' AS message, (r -> 'data') - 'promotionId' AS data
  FROM t.http('http_rollback', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop',
              body => '{"reason": "Winner showing increased errors", "rolledBackBy": "user-123"}') r;
SELECT t.http('http_rollback', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => '{"reason": "again"}');
-- Running again: a body-less promotion uses the experiment's own policy.
SELECT t.http('http_promote', 'abx_experimenter', path => '{"name": "h_promo"}', org => 'shop', body => 'null') ->> 'message' AS promoted_again;
SELECT h ->> 'message' AS message, h #> '{data,count}' AS count, h #>> '{data,history,1,rollbackReason}' AS rollback_reason,
       h #>> '{data,history,1,promotedBy}' AS promoted_by, h #>> '{data,history,0,rollbackAt}' AS latest_rollback_at
  FROM t.http('http_promotion_history', 'abx_reader', path => '{"name": "h_promo"}', org => 'shop') h;
SELECT t.http('http_promotion_history', 'abx_reader', path => '{"name": "no-such"}', org => 'shop');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Internal cron routes, as abx_gateway with the bearer token (seed 001's check also takes
-- body.cronSecret); they run as the extension owner.
-- ---------------------------------------------------------------------------------------------
-- (09's slow-bandit spends seconds of Monte-Carlo draws on every aggregation by design: archived,
-- it is aggregated no more.)
SELECT abx.complete('slow-bandit') ->> 'status' AS completed, abx.archive('slow-bandit') ->> 'status' AS archived;
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_internal_aggregate', 'abx_gateway');
SELECT t.http('http_internal_aggregate', 'abx_gateway', token => 'cron-wrong-wrong-wrong-wrong-wrong-wrong');
SELECT t.http('http_internal_retention', 'abx_gateway', token => 'cron-wrong-wrong-wrong-wrong-wrong-wrong');
SELECT t.http('http_auto_promotion_check', 'abx_gateway', body => '{"cronSecret": "cron-wrong-wrong-wrong-wrong-wrong-wrong"}');
-- Only abx_gateway may call them at all.
SELECT t.http('http_internal_aggregate', 'abx_admin', token => 'cron-0123456789abcdef0123456789abcdef');
SET client_min_messages = error;  -- (09's "poisoned" experiment warns on every aggregation)
SELECT a ->> 'failed' AS failed, jsonb_path_query_array(a, '$.runs[*] ? (@.organization_key == "shop").experiment_code') AS shop_runs
  FROM t.http('http_internal_aggregate', 'abx_gateway', token => 'cron-0123456789abcdef0123456789abcdef') a;
RESET client_min_messages;
SELECT r ? 'events_before' AS retention_report, r ? 'dropped_partitions' AS has_dropped
  FROM t.http('http_internal_retention', 'abx_gateway', token => 'cron-0123456789abcdef0123456789abcdef') r;
SELECT c ->> 'success' AS success, c #>> '{data,promoted}' AS promoted, c ->> 'message' LIKE 'Auto-promotion check complete:%' AS message,
       jsonb_path_query_array(c, '$.data.results[*] ? (@.experiment == "h_promo").action') AS h_promo
  FROM t.http('http_auto_promotion_check', 'abx_gateway',
              body => '{"userId": "admin-user-123", "cronSecret": "cron-0123456789abcdef0123456789abcdef",
                        "config": {"requireManualApproval": false}}') c;
SELECT t.http('http_auto_promotion_check', 'abx_gateway', token => 'cron-0123456789abcdef0123456789abcdef',
              body => '{"config": {"requireManualApproval": true}}');
SELECT t.http('http_auto_promotion_check', 'abx_gateway', token => 'cron-0123456789abcdef0123456789abcdef',
              body => '{"schedule": "hourly"}');
RESET SESSION AUTHORIZATION;
SELECT t.wait_for($$SELECT count(*) = 5 FROM abx.audit_log WHERE action LIKE 'abx.http_%' AND change ->> 'message' LIKE '%internal%token%'$$) AS token_refusals_audited;
SELECT actor, action, outcome, error_code, change ->> 'message' AS message
  FROM abx.audit_log WHERE action LIKE 'abx.http_%' AND change ->> 'message' LIKE '%internal%token%' ORDER BY seq;
-- The routes' own right checks are audited like every refusal.
SELECT action, count(*) FROM abx.audit_log WHERE action LIKE 'abx.http_%' AND change ->> 'message' LIKE '%needs the right%'
 GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------------------------------
-- Seed 003: readiness, metrics, audit statistics.
-- ---------------------------------------------------------------------------------------------
-- Readiness (public, as abx_gateway). Notifications delivered and no failed job run in the last
-- hour: ready.
UPDATE abx.outbox SET delivered_at = abx.now() WHERE delivered_at IS NULL;
SET SESSION AUTHORIZATION http_gw;
SELECT t.http('http_readiness', 'abx_gateway') - 'checks' AS readiness,
       t.http('http_readiness', 'abx_gateway') #> '{checks,queue}' AS queue;
RESET SESSION AUTHORIZATION;
-- A notification waiting 20 minutes: outbound warns, the service is degraded. (Since 0.5.0 a
-- notification waits for a delivery target: shop gets a webhook, removed after the check.)
SET abx.organization = 'shop';
SELECT abx.create_delivery_target('{"name": "waiting", "kind": "webhook", "url": "https://hooks.example.com/abx"}') ->> 'name' AS target;
RESET abx.organization;
SELECT abx.pause('checkout-button-color', 'shop') ->> 'status' AS paused;
SET abx.pinned_now = '2026-10-01 10:20:00+00';
SET SESSION AUTHORIZATION http_gw;
SELECT r ->> 'status' AS status, r #>> '{checks,outbound,status}' AS outbound, r #>> '{checks,outbound,oldest_undelivered_seconds}' AS waiting,
       r #>> '{checks,queue,outbox_backlog}' AS backlog
  FROM t.http('http_readiness', 'abx_gateway') r;
RESET SESSION AUTHORIZATION;
SET abx.organization = 'shop';
SELECT abx.delete_delivery_target('waiting') ->> 'name' AS removed;
RESET abx.organization;
UPDATE abx.outbox SET delivered_at = abx.now() WHERE delivered_at IS NULL;
-- A failed job run in the last hour: the queue warns.
INSERT INTO abx.job_runs (job_id, slot, attempt, status, started_at, finished_at, sqlstate, message, manual)
SELECT id, abx.now(), 1, 'failed', abx.now() - interval '5 minutes', abx.now() - interval '4 minutes', '57014', 'timeout', true
  FROM abx.jobs WHERE name = 'retention';
SET SESSION AUTHORIZATION http_gw;
SELECT r ->> 'status' AS status, r #>> '{checks,queue,status}' AS queue, r #>> '{checks,queue,failed_job_runs_last_hour}' AS failed
  FROM t.http('http_readiness', 'abx_gateway') r;
-- The probe is abx_gateway's only; the other routes are not abx_gateway's.
SELECT t.http('http_readiness', 'abx_service');
SELECT t.http('http_metrics', 'abx_gateway');
RESET SESSION AUTHORIZATION;
-- The states of seed 003's runbook: no scheduler is a failing queue (not_ready).
SELECT f AS facts, abx.readiness_report(f::jsonb) ->> 'status' AS status
  FROM unnest(ARRAY['{"scheduler_enabled": true, "scheduler_running": true}',
                    '{"scheduler_enabled": true, "scheduler_running": false}',
                    '{"scheduler_enabled": false, "scheduler_running": true}',
                    '{"scheduler_enabled": true, "scheduler_running": true, "outbox_backlog": 10001}',
                    '{"scheduler_enabled": true, "scheduler_running": true, "oldest_undelivered_seconds": 901}',
                    '{"scheduler_enabled": true, "scheduler_running": false, "failed_job_runs": 3}']) f;

-- Metrics (meta:read): the database's counters, the session organization's rows.
SET SESSION AUTHORIZATION http_gw;
SELECT c ->> 'name' AS name, (c -> 'labels') - 'experiment_id' AS labels, c #>> '{labels,experiment_id}' ~ '^[0-9]+$' AS has_id,
       c ->> 'value' AS value
  FROM t.http('http_metrics', 'abx_analyst', org => 'shop') m, jsonb_array_elements(m -> 'counters') c
 WHERE c ->> 'name' IN ('experiments_total', 'experiment_assignments_total', 'experiment_metrics_total')
 ORDER BY 1, 2::text;
-- Without an organization: the global experiments (the platform's view).
SELECT (c -> 'labels') - 'experiment_id' AS labels, c ->> 'value' AS value
  FROM t.http('http_metrics', 'abx_analyst') m, jsonb_array_elements(m -> 'counters') c
 WHERE c ->> 'name' = 'experiment_metrics_total' AND c #>> '{labels,experiment}' LIKE 'h\_%';
SELECT DISTINCT c ->> 'name' AS name, c ->> 'help' AS help
  FROM t.http('http_metrics', 'abx_admin') m, jsonb_array_elements(m -> 'counters') c ORDER BY 1;
-- The policy denials, by feature and reason (platform view: denials belong to no organization).
SELECT c -> 'labels' AS labels, c ->> 'value' AS value
  FROM t.http('http_metrics', 'abx_admin') m, jsonb_array_elements(m -> 'counters') c
 WHERE c ->> 'name' = 'policy_denies_total' AND c #>> '{labels,feature}' LIKE 'meta.%';
SELECT t.http('http_metrics', 'abx_reader', org => 'shop');
SELECT t.http('http_metrics', 'abx_analyst', org => 'shop', query => '{"format": "json"}');
-- Audit statistics (meta:read): top_errors from abx.audit_failures.
SELECT jsonb_array_length(s -> 'top_errors') AS top_errors, (s ->> 'total_failures')::bigint > 0 AS has_failures,
       s #> '{top_errors,0}' ?& ARRAY['action', 'error_code', 'count', 'first_at', 'last_at'] AS shape
  FROM t.http('http_audit_stats', 'abx_admin', query => '{"limit": "3"}') s;
SELECT x ->> 'feature' AS feature, x ->> 'reason' AS reason, x ->> 'count' AS count
  FROM t.http('http_audit_stats', 'abx_admin') s, jsonb_array_elements(s -> 'policy_denies') x
 WHERE x ->> 'feature' LIKE 'meta.%';
SELECT t.http('http_audit_stats', 'abx_admin', query => '{"limit": "0"}');
SELECT t.http('http_audit_stats', 'abx_experimenter');
RESET SESSION AUTHORIZATION;

-- The read-only routes run in the gateway's BEGIN READ ONLY: none of them writes.
SET SESSION AUTHORIZATION http_gw;
BEGIN READ ONLY;
SELECT r.fn, coalesce(t.http(r.fn, r.role, r.path::jsonb, org => r.org) ->> 'error', 'ok') AS outcome
  FROM (VALUES ('http_readiness', 'abx_gateway', '{}', NULL), ('http_metrics', 'abx_analyst', '{}', 'shop'),
               ('http_audit_stats', 'abx_admin', '{}', NULL), ('http_meta_metrics', 'abx_reader', '{"id": "exp-1"}', 'shop'),
               ('http_winner', 'abx_service', '{"code": "h_promo"}', 'shop'), ('http_admin_list', 'abx_admin', '{}', NULL),
               ('http_admin_get', 'abx_admin', '{"id": "h_admin"}', NULL), ('http_admin_metrics', 'abx_admin', '{"id": "h_admin"}', NULL),
               ('http_list_experiments', 'abx_reader', '{}', 'shop'), ('http_get_experiment', 'abx_reader', '{"id": "h_promo"}', 'shop'),
               ('http_get_assignment', 'abx_service', '{"id": "h_promo", "molam_id": "s1"}', 'shop'),
               ('http_results', 'abx_reader', '{"id": "h_promo"}', 'shop'), ('http_insights', 'abx_reader', '{"id": "h_promo"}', 'shop'),
               ('http_promotion_eligibility', 'abx_reader', '{"name": "h_promo"}', 'shop'),
               ('http_promotion_history', 'abx_reader', '{"name": "h_promo"}', 'shop')) r(fn, role, path, org);
COMMIT;
RESET SESSION AUTHORIZATION;

-- Every SQL function of src/http/routes.cpp exists with the gateway's signature, closed to PUBLIC;
-- abx_gateway reaches only the probe and the internal-token routes.
SELECT r.fn, p.prosecdef AS security_definer,
       has_function_privilege('abx_gateway', p.oid, 'EXECUTE') AS gateway,
       has_function_privilege('abx_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public
  FROM unnest(ARRAY['http_readiness', 'http_metrics', 'http_audit_stats', 'http_meta_start', 'http_meta_stop',
                    'http_meta_metrics', 'http_assignment', 'http_events', 'http_winner', 'http_admin_list',
                    'http_admin_create', 'http_admin_get', 'http_admin_update', 'http_admin_delete',
                    'http_admin_metrics', 'http_internal_aggregate', 'http_internal_retention',
                    'http_create_experiment', 'http_list_experiments', 'http_get_experiment',
                    'http_update_experiment', 'http_start', 'http_stop', 'http_assign', 'http_get_assignment',
                    'http_track', 'http_results', 'http_insights', 'http_promotion_eligibility', 'http_promote',
                    'http_rollback', 'http_promotion_history', 'http_auto_promotion_check']) r(fn)
  LEFT JOIN pg_proc p ON p.pronamespace = 'abx'::regnamespace AND p.proname = r.fn
   AND pg_get_function_identity_arguments(p.oid) = 'path jsonb, query jsonb, body jsonb'
   AND p.prorettype = 'jsonb'::regtype
 ORDER BY 1;
SELECT ok FROM abx.verify_audit();
RESET abx.pinned_now;
DROP OWNED BY http_gw, shop_admin;
DROP ROLE http_gw, shop_admin;
