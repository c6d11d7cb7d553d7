-- Delivery of the outbox (docs/integrations.md): targets per organization, fan-out at emit time
-- by seed 001's routing, claims in order per experiment, retries with backoff for 24 h, dead
-- letters, operators' retry and discard, secrets never shown, readiness, and the admin routes.
-- Uses 23_http_api's organizations (shop, rival) and t.http.
SET abx.pinned_now = '2026-11-01 10:00:00+00';
CREATE ROLE hooks_admin NOLOGIN IN ROLE abx_admin;
SELECT abx.add_member('shop', 'hooks_admin');
-- The gateway's login role: abx_gateway (the deliverer's functions) and the roles its tokens name.
CREATE ROLE hooks_gw NOLOGIN IN ROLE abx_gateway;
GRANT abx_admin, abx_analyst TO hooks_gw;
CREATE ROLE shop_analyst NOLOGIN IN ROLE abx_analyst;
SELECT abx.add_member('shop', 'shop_analyst');
CREATE ROLE rival_admin NOLOGIN IN ROLE abx_admin;
SELECT abx.add_member('rival', 'rival_admin');

-- ---------------------------------------------------------------------------------------------
-- Targets: created by an organization's admin; fields checked (22023 naming the field).
-- ---------------------------------------------------------------------------------------------
SET ROLE hooks_admin;
SET abx.organization = 'shop';
SELECT abx.create_delivery_target('{"name": "hook", "kind": "webhook", "url": "https://hooks.example.com/abx",
                                    "secret": "whsec_0123456789abcdef"}') - '{created_at,updated_at}'::text[] AS hook;
SELECT abx.create_delivery_target('{"name": "only-promotions", "kind": "webhook", "url": "http://127.0.0.1:9/x",
                                    "event_types": ["experiment.promoted"]}') ->> 'secret' ~ '^whsec_[0-9a-f]{64}$' AS generated_secret_shown_once;
SELECT abx.create_delivery_target('{"name": "slack", "kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/SECRETPATH"}') ->> 'url' AS slack_url_cut;
SELECT abx.create_delivery_target('{"name": "pd", "kind": "pagerduty", "secret": "R0UTINGKEY0123"}') ->> 'url' AS pagerduty_default_url;
SELECT abx.create_delivery_target('{"name": "mail", "kind": "email", "url": "smtp://127.0.0.1:2525",
                                    "settings": {"from": "abx@example.com", "to": ["oncall@example.com"]}}') ->> 'kind' AS email;
-- Refusals.
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "ftp://example.com/"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "file:///etc/passwd"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "https://user:pw@example.com/"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "https:///nohost"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "email", "url": "https://example.com/", "settings": {"from": "a@b.c", "to": ["d@e.f"]}}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "email", "url": "smtp://mx", "settings": {"from": "a@b.c", "to": []}}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "https://example.com/", "secret": "short"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "pagerduty"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "sms", "url": "https://example.com/"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "X Y", "kind": "webhook", "url": "https://example.com/"}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "https://example.com/", "colour": 1}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": 42}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "x", "kind": "webhook", "url": "https://example.com/", "event_types": ["Bad Type"]}')$$);
SELECT t.err($$SELECT abx.create_delivery_target('{"name": "hook", "kind": "webhook", "url": "https://example.com/"}')$$);
SELECT t.err($$SELECT abx.update_delivery_target('nope', '{}')$$);
-- The list never shows a secret; the table is the owner's alone.
SELECT string_agg(x ->> 'name' || ':' || (x ->> 'has_secret'), ', ') AS targets,
       bool_or(x::text LIKE '%whsec_0123%' OR x::text LIKE '%R0UTING%' OR x::text LIKE '%SECRETPATH%') AS secret_shown
  FROM jsonb_array_elements(abx.delivery_targets()) x;
SELECT t.err($$SELECT * FROM abx.delivery_targets$$);
RESET ROLE;
-- The audit keeps fingerprints, never a secret.
SELECT action, count(*), bool_or(change::text LIKE '%whsec_%' OR change::text LIKE '%R0UTING%') AS secret_in_audit
  FROM abx.audit_log WHERE action LIKE 'delivery_target.%' GROUP BY 1 ORDER BY 1;
-- Other roles and organizations: an analyst cannot manage targets; a rival sees none of shop's.
SET ROLE shop_analyst;
SELECT t.err($$SELECT abx.delivery_targets()$$);
RESET ROLE;
SET ROLE rival_admin;
SET abx.organization = 'rival';
SELECT abx.delivery_targets() AS rival_targets;
SELECT t.err($$SELECT abx.delete_delivery_target('hook')$$);
RESET ROLE;
RESET abx.organization;
-- The email and the slack target stay disabled until the routing checks below.
SET ROLE hooks_admin;
SET abx.organization = 'shop';
SELECT abx.update_delivery_target('mail', '{"enabled": false}') ->> 'enabled' AS mail_enabled,
       abx.update_delivery_target('slack', '{"enabled": false}') ->> 'enabled' AS slack_enabled;
RESET ROLE;
RESET abx.organization;

-- ---------------------------------------------------------------------------------------------
-- Fan-out at emit time: a status change (info) goes to webhooks whose event types include it.
-- ---------------------------------------------------------------------------------------------
SELECT abx.create_experiment(t.spec('hooked'), 'shop') ->> 'code' AS created;
SELECT abx.start('hooked', 'shop') ->> 'status' AS started;
SELECT abx.pause('hooked', 'shop') ->> 'status' AS paused;
SELECT o.id - min(o.id) OVER () AS event, o.type, o.delivered_at IS NULL AS owed,
       (SELECT string_agg(t.name, ',' ORDER BY t.name) FROM abx.deliveries d JOIN abx.delivery_targets t ON t.id = d.target_id
         WHERE d.outbox_id = o.id) AS targets
  FROM abx.outbox o WHERE o.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'hooked') ORDER BY o.id;
-- An event of another organization has no target: done when written.
SELECT abx.create_experiment(t.spec('rival-exp'), 'rival') ->> 'code' AS created;
SELECT abx.start('rival-exp', 'rival') ->> 'status' AS started;
SELECT count(*) AS deliveries, bool_and(o.delivered_at IS NOT NULL) AS done
  FROM abx.outbox o LEFT JOIN abx.deliveries d ON d.outbox_id = o.id
 WHERE o.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'rival-exp') GROUP BY o.id;

-- ---------------------------------------------------------------------------------------------
-- Claims (abx_gateway): the oldest pending delivery of each target and experiment only, leased.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
CREATE TEMP TABLE claim1 AS SELECT abx.claim_deliveries('w1', 10, 60) AS c;
SELECT jsonb_array_length(c) AS claimed, c #>> '{0,event,type}' AS first_type, c #>> '{0,attempt}' AS attempt,
       c #>> '{0,target,secret}' AS secret_for_signing, c #>> '{0,event,experiment}' AS experiment,
       c #>> '{0,event,organization}' AS organization
  FROM claim1;
-- The second event waits behind the first (order per experiment), and the first is leased.
SELECT abx.claim_deliveries('w2', 10, 60) AS nothing_more;
-- A failure: retried with backoff (at least 1 s, at most 10 s after the first attempt).
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 1, 'failed', 503, 'HTTP 503: busy') FROM claim1;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT status, attempts, last_http_status, last_error,
       next_attempt_at - last_attempt_at BETWEEN interval '1 second' AND interval '10 seconds' AS backoff_within_first_ceiling
  FROM abx.deliveries WHERE id = (SELECT (c #>> '{0,delivery_id}')::bigint FROM claim1);
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
-- Not due yet; a stale report (an older attempt) is ignored.
SELECT abx.claim_deliveries('w1', 10, 60) AS not_due;
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 0, 'delivered') AS stale_report FROM claim1;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET abx.pinned_now = '2026-11-01 10:00:11+00';
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
CREATE TEMP TABLE claim2 AS SELECT abx.claim_deliveries('w1', 10, 60) AS c;
SELECT c #>> '{0,event,type}' AS type, c #>> '{0,attempt}' AS attempt FROM claim2;
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 2, 'delivered', 200) AS reported FROM claim2;
-- Now the second event of the experiment is claimable; a crashed deliverer's lease expires.
CREATE TEMP TABLE claim3 AS SELECT abx.claim_deliveries('crashed', 10, 5) AS c;
SELECT c #>> '{0,event,type}' AS type, c #>> '{0,event,data,to}' AS "to" FROM claim3;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET abx.pinned_now = '2026-11-01 10:00:17+00';
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
CREATE TEMP TABLE claim4 AS SELECT abx.claim_deliveries('w1', 10, 60) AS c;
SELECT (a.c #>> '{0,delivery_id}') = (b.c #>> '{0,delivery_id}') AS same_delivery, b.c #>> '{0,attempt}' AS attempt
  FROM claim3 a, claim4 b;
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 1, 'delivered', 200) AS crashed_report_ignored FROM claim3;
-- 24 h of failures, then the dead letter.
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 2, 'failed', NULL, 'Connection refused') FROM claim4;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET abx.pinned_now = '2026-11-02 10:00:18+00';
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
CREATE TEMP TABLE claim5 AS SELECT abx.claim_deliveries('w1', 10, 60) AS c;
SELECT abx.report_delivery((c #>> '{0,delivery_id}')::bigint, 3, 'failed', NULL, 'Connection refused') FROM claim5;
-- Argument checks.
SELECT t.err($$SELECT abx.claim_deliveries('w', 0, 60)$$);
SELECT t.err($$SELECT abx.claim_deliveries('w', 10, 0)$$);
SELECT t.err($$SELECT abx.report_delivery(1, 1, 'lost')$$);
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT status, attempts, last_error, finished_at FROM abx.deliveries
 WHERE id = (SELECT (c #>> '{0,delivery_id}')::bigint FROM claim5);
-- The working roles cannot claim: the secrets are the deliverer's.
SET ROLE hooks_admin;
SELECT t.err($$SELECT abx.claim_deliveries('w', 1, 60)$$);
RESET ROLE;

-- ---------------------------------------------------------------------------------------------
-- Operators: dead letters listed, readiness warns, retry by hand (a new 24 h), discard.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION hooks_gw;
SELECT (r #> '{checks,outbound}') - 'oldest_undelivered_seconds' AS outbound FROM t.http('http_readiness', 'abx_gateway') r;
RESET SESSION AUTHORIZATION;
SET ROLE hooks_admin;
SET abx.organization = 'shop';
SELECT x ->> 'event_type' AS event_type, x ->> 'target' AS target, x ->> 'status' AS status, x ->> 'attempts' AS attempts,
       x ->> 'last_error' AS last_error
  FROM jsonb_array_elements(abx.deliveries('dead')) x;
SELECT abx.retry_delivery((abx.deliveries('dead') #>> '{0,id}')::bigint) - '{id,event_id,created_at,first_attempt_at,last_attempt_at,next_attempt_at}'::text[] AS retried;
SELECT t.err(format('SELECT abx.retry_delivery(%s)', (abx.deliveries('delivered') #>> '{0,id}')));
SELECT t.err($$SELECT abx.retry_delivery(999999)$$);
SELECT t.err($$SELECT abx.deliveries('lost')$$);
SELECT abx.discard_delivery((abx.deliveries('pending') #>> '{0,id}')::bigint) ->> 'status' AS discarded;
RESET ROLE;
RESET abx.organization;
SELECT action, count(*) FROM abx.audit_log WHERE action LIKE 'delivery.%' GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE delivered_at IS NULL) AS owed FROM abx.outbox
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'hooked');
SET SESSION AUTHORIZATION hooks_gw;
SELECT (r #> '{checks,outbound}') - 'oldest_undelivered_seconds' AS outbound FROM t.http('http_readiness', 'abx_gateway') r;
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------------------------
-- Seed 001's routing: promotion (info) to Slack and email, rollback (critical) to all, status
-- and winner changes to webhooks only (the hook is disabled here; only-promotions asks for
-- promotions). The whole table, approval requests included, is tests/unit/delivery_test.cpp's.
-- ---------------------------------------------------------------------------------------------
SET ROLE hooks_admin;
SET abx.organization = 'shop';
SELECT abx.update_delivery_target('mail', '{"enabled": true}') ->> 'enabled' AS mail,
       abx.update_delivery_target('slack', '{"enabled": true}') ->> 'enabled' AS slack,
       abx.update_delivery_target('hook', '{"enabled": false}') ->> 'enabled' AS hook;
RESET ROLE;
RESET abx.organization;
SELECT abx.resume('hooked', 'shop') ->> 'status' AS resumed;
SELECT abx.promote('hooked', 'treatment', 'looks good', 'shop') ->> 'winner' AS promoted;
SELECT abx.rollback('hooked', 'errors up', 'shop') ->> 'rolled_back' IS NOT NULL AS rolled_back;
SELECT o.type, o.level, coalesce((SELECT string_agg(t.name, ',' ORDER BY t.name) FROM abx.deliveries d
                                    JOIN abx.delivery_targets t ON t.id = d.target_id WHERE d.outbox_id = o.id), '-') AS targets
  FROM abx.outbox o WHERE o.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'hooked')
   AND o.id > (SELECT max(outbox_id) FROM abx.deliveries WHERE status = 'discarded') ORDER BY o.id;

-- A disabled target's pending deliveries wait: claims skip them until it is enabled again.
SET ROLE hooks_admin;
SET abx.organization = 'shop';
SELECT abx.update_delivery_target('slack', '{"enabled": false}') ->> 'enabled' AS slack;
RESET ROLE;
RESET abx.organization;
SET SESSION AUTHORIZATION hooks_gw;
SET ROLE abx_gateway;
SELECT string_agg(DISTINCT x #>> '{target,name}', ',') AS claimed_targets
  FROM jsonb_array_elements(abx.claim_deliveries('w3', 100, 60)) x;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS slack_waiting FROM abx.deliveries d JOIN abx.delivery_targets t ON t.id = d.target_id
 WHERE t.name = 'slack' AND d.status = 'pending' AND d.attempts = 0;

-- ---------------------------------------------------------------------------------------------
-- The admin routes.
-- ---------------------------------------------------------------------------------------------
SET SESSION AUTHORIZATION hooks_gw;
SELECT jsonb_array_length(t.http('http_delivery_targets', 'abx_admin', org => 'shop') -> 'targets') AS targets;
SELECT t.http('http_delivery_target_create', 'abx_admin', body => '{"name": "r", "kind": "webhook", "url": "gopher://x"}', org => 'shop');
SELECT t.http('http_delivery_target_create', 'abx_admin', body => '{"name": "r", "kind": "webhook", "url": "https://r.example.com/"}', org => 'shop') ? 'secret' AS created_with_secret;
SELECT t.http('http_delivery_target_update', 'abx_admin', path => '{"name": "r"}', body => '{"url": "ftp://x"}', org => 'shop');
SELECT t.http('http_delivery_target_update', 'abx_admin', path => '{"name": "r"}', body => '{"event_types": ["experiment.rolled_back"]}', org => 'shop') -> 'event_types' AS event_types;
SELECT t.http('http_delivery_target_delete', 'abx_admin', path => '{"name": "r"}', org => 'shop') -> 'deleted' AS deleted;
SELECT t.http('http_delivery_target_delete', 'abx_admin', path => '{"name": "r"}', org => 'shop') ->> 'error' AS again;
SELECT jsonb_array_length(t.http('http_deliveries', 'abx_admin', query => '{"status": "discarded"}', org => 'shop') -> 'deliveries') AS discarded;
SELECT t.http('http_deliveries', 'abx_admin', query => '{"status": "lost"}', org => 'shop') ->> 'error' AS bad_status;
SELECT t.http('http_deliveries', 'abx_admin', query => '{"limit": "0"}', org => 'shop') ->> 'error' AS bad_limit;
SELECT t.http('http_delivery_retry', 'abx_admin', path => '{"id": "x1"}', org => 'shop') ->> 'message' AS bad_id;
SELECT t.http('http_delivery_discard', 'abx_admin', path => '{"id": "999999"}', org => 'shop') ->> 'error' AS unknown;
SELECT t.http('http_deliveries', 'abx_analyst', org => 'shop') ->> 'error' AS analyst_refused;
RESET SESSION AUTHORIZATION;
RESET abx.pinned_now;

-- ---------------------------------------------------------------------------------------------
-- Retention: notifications settled longer ago than abx.outbox_retention_days go with their
-- finished deliveries; dead letters and pending deliveries (and their events) stay.
-- ---------------------------------------------------------------------------------------------
-- (a dead letter whose event is otherwise settled, as a deliverer leaves one after 24 h)
WITH d AS (UPDATE abx.deliveries SET status = 'dead', finished_at = '2026-11-03 00:00:00+00',
                                     last_error = 'HTTP 503: gone'
            WHERE id = (SELECT min(x.id) FROM abx.deliveries x WHERE x.status = 'pending')
            RETURNING outbox_id)
UPDATE abx.outbox o SET delivered_at = '2026-11-03 00:00:00+00' FROM d
 WHERE o.id = d.outbox_id AND NOT EXISTS (SELECT FROM abx.deliveries p WHERE p.outbox_id = o.id AND p.status = 'pending');
SELECT count(*) FILTER (WHERE status = 'dead') AS dead_before,
       count(*) FILTER (WHERE status = 'pending') AS pending_before,
       count(*) FILTER (WHERE status IN ('delivered', 'discarded')) > 0 AS finished_some
  FROM abx.deliveries \gset
SELECT :dead_before > 0 AS has_dead_letters, :pending_before > 0 AS has_pending, :'finished_some' AS has_finished;
SET abx.pinned_now = '2027-06-01 00:00:00+00';
SELECT (abx.retention() ->> 'notifications_deleted')::int > 0 AS notifications_deleted;
SELECT count(*) FILTER (WHERE status = 'dead') = :dead_before AS dead_letters_kept,
       count(*) FILTER (WHERE status = 'pending') = :pending_before AS pending_kept,
       count(*) FILTER (WHERE status IN ('delivered', 'discarded')) AS finished_left
  FROM abx.deliveries;
SELECT count(*) AS events_without_their_outbox_row
  FROM abx.deliveries d LEFT JOIN abx.outbox o ON o.id = d.outbox_id WHERE o.id IS NULL;
SELECT count(*) AS settled_rows_left FROM abx.outbox o
 WHERE o.delivered_at IS NOT NULL
   AND NOT EXISTS (SELECT FROM abx.deliveries d WHERE d.outbox_id = o.id AND d.status IN ('pending', 'dead'));
RESET abx.pinned_now;
DROP OWNED BY hooks_admin, hooks_gw, shop_analyst, rival_admin;
DROP ROLE hooks_admin, hooks_gw, shop_analyst, rival_admin;
