-- abx-http's WebSocket feed (docs/integrations.md, "WebSocket"): abx.feed_since (the outbox rows
-- after an id, with the message a client receives, and ids skipped by an uncommitted transaction
-- asked for again), abx.http_ws_subscribe and abx.http_ws_results called as the gateway calls
-- them (t.http of 23_http_api: role, claims, organization), and the abx_results trigger.
SET abx.pinned_now = '2026-10-02 10:00:00+00';
SELECT abx.create_organization('feed_a') > 0 AS feed_a, abx.create_organization('feed_b') > 0 AS feed_b;
-- A gateway's login: trusted for claims, and member of the roles its tokens name.
CREATE ROLE feed_gw NOLOGIN IN ROLE abx_gateway;
GRANT abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader TO feed_gw;
SET abx.organization = 'feed_a';
SELECT abx.create_experiment(t.spec('feed_x', '{"metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}'))->>'code';
SET abx.organization = 'feed_b';
SELECT abx.create_experiment(t.spec('feed_x'))->>'code' AS same_code_other_org;
SELECT abx.create_experiment(t.spec('feed_b_only'))->>'code';
SET abx.organization = 'feed_a';
SELECT abx.create_experiment(t.spec('feed_r', '{"metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}'))->>'code';
SELECT abx.start('feed_r')->>'status';
RESET abx.organization;
SELECT abx.create_experiment(t.spec('feed_global'))->>'code';

-- Where a new feed starts: no events, the newest id (and the snapshot's xmin, and the fence above it).
SELECT abx.feed_since() -> 'events' AS events, (abx.feed_since() ->> 'head')::bigint = (SELECT max(id) FROM abx.outbox) AS head_is_newest,
       (abx.feed_since() ->> 'xmin')::bigint <= (abx.feed_since() ->> 'fence')::bigint AS bounds;
SELECT (abx.feed_since() ->> 'head')::bigint AS head \gset

-- Status and winner messages (seed 004's winner event exactly); other outbox types have a null
-- message but are listed, so the gateway's position moves past them.
SET abx.organization = 'feed_a';
SELECT abx.start('feed_x')->>'status';
SELECT abx.promote('feed_x', 'treatment', 'feed test')->>'winner';
RESET abx.organization;
SELECT e ->> 'id' = (:head + n)::text AS id_in_order, e -> 'message' AS message,
       e -> 'organizationId' = to_jsonb((SELECT id FROM abx.organizations WHERE key = 'feed_a')) AS organization,
       e -> 'experimentId' = to_jsonb((SELECT id FROM abx.experiments WHERE code = 'feed_x' AND organization_id IS NOT NULL
                                          AND organization_id = (SELECT id FROM abx.organizations WHERE key = 'feed_a'))) AS experiment
  FROM jsonb_array_elements(abx.feed_since(:head) -> 'events') WITH ORDINALITY AS x(e, n);
SELECT (abx.feed_since(:head) ->> 'head')::bigint - :head AS head_moved_by;
-- max_rows bounds a read; the next one goes on from the last id read.
SELECT jsonb_array_length(abx.feed_since(:head, 2) -> 'events') AS two, (abx.feed_since(:head, 2) ->> 'head')::bigint - :head AS head;
SELECT jsonb_path_query_array(abx.feed_since(:head + 2, 2) -> 'events', '$[*].message.type') AS rest;
-- Pending ids (skipped while their transaction ran) are read again, only those at or below the
-- position; ids that never appear are simply absent.
SELECT jsonb_path_query_array(abx.feed_since(:head + 4, 10, ARRAY[:head + 1, :head + 3, -5]) -> 'events', '$[*].message.type') AS pending;
SELECT jsonb_array_length(abx.feed_since(:head + 4, 10, ARRAY[:head + 9]) -> 'events') AS not_below_position;
-- Its errors.
SELECT t.err($$SELECT abx.feed_since(0, 0)$$);
SELECT t.err($$SELECT abx.feed_since(0, 10001)$$);
SELECT t.err($$SELECT abx.feed_since(0, NULL)$$);
SELECT t.err($$SELECT abx.feed_since(0, 10, NULL)$$);
-- Only abx_gateway (and the owner) may read the feed: it shows every organization's events.
SELECT has_function_privilege('abx_gateway', 'abx.feed_since(bigint, integer, bigint[])', 'EXECUTE') AS gateway,
       has_function_privilege('abx_admin', 'abx.feed_since(bigint, integer, bigint[])', 'EXECUTE') AS admin,
       has_function_privilege('abx_reader', 'abx.feed_since(bigint, integer, bigint[])', 'EXECUTE') AS reader;

-- Subscribing, as the gateway does it: the client's role and claims. The organization's own
-- experiment, another organization's of the same code, a global one; refusals.
SET SESSION AUTHORIZATION feed_gw;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_x"}', org => 'feed_a')
       - 'experimentId' - 'organizationId' AS own;
SELECT (t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_x"}', org => 'feed_a') -> 'experimentId')
    <> (t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_x"}', org => 'feed_b') -> 'experimentId')
       AS same_code_is_another_experiment;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_global"}', org => 'feed_a')
       - 'experimentId' AS global;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_b_only"}', org => 'feed_a') AS other_org;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "nope"}', org => 'feed_a') AS unknown;
SELECT t.http('http_ws_subscribe', 'abx_service', body => '{"type": "subscribe", "experimentCode": "feed_x"}', org => 'feed_a') AS no_right;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe"}', org => 'feed_a') AS no_code;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": 7}', org => 'feed_a') AS code_not_string;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": ""}', org => 'feed_a') AS empty_code;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "subscribe", "experimentCode": "feed_x", "x": 1}', org => 'feed_a') AS unknown_field;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '{"type": "publish", "experimentCode": "feed_x"}', org => 'feed_a') AS wrong_type;
SELECT t.http('http_ws_subscribe', 'abx_reader', body => '[]', org => 'feed_a') AS not_object;
SELECT t.http('http_ws_subscribe', 'abx_reader', query => '{"token": "x"}', body => '{"type": "subscribe", "experimentCode": "feed_x"}', org => 'feed_a') AS unknown_query;

-- Results, as the feed reads them: a reader of the experiment's organization, by id.
RESET SESSION AUTHORIZATION;
SET abx.organization = 'feed_a';
DO $$ BEGIN
  FOR i IN 1 .. 6 LOOP PERFORM abx.assign('feed_r', 's' || i); PERFORM abx.track('feed_r', 's' || i, 'buy'); END LOOP;
END $$;
SELECT count(*) AS aggregated FROM abx.aggregate('feed_r');
RESET abx.organization;
SELECT id AS feed_r_id FROM abx.experiments WHERE code = 'feed_r'
   AND organization_id = (SELECT id FROM abx.organizations WHERE key = 'feed_a') \gset
SET SESSION AUTHORIZATION feed_gw;
SELECT r - 'results' AS results, jsonb_path_query_array(r -> 'results', '$[*].variant') AS variants,
       jsonb_path_query_array(r -> 'results', '$[*].n') AS n, jsonb_path_query_array(r -> 'results', '$[*].mean') AS mean,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r -> 'results' -> 0) k) AS fields
  FROM t.http('http_ws_results', 'abx_reader', path => jsonb_build_object('id', :'feed_r_id'), org => 'feed_a') r;
SELECT t.http('http_ws_results', 'abx_reader', path => jsonb_build_object('id', :'feed_r_id'), org => 'feed_b') ->> 'error' AS other_org;
SELECT t.http('http_ws_results', 'abx_service', path => jsonb_build_object('id', :'feed_r_id'), org => 'feed_a') AS no_right;
RESET SESSION AUTHORIZATION;

-- Each successful aggregation run NOTIFYs abx_results with the experiment's id (no names: any
-- session may LISTEN); a run that changes no run count does not.
SELECT tgname, tgenabled, pg_get_triggerdef(oid) LIKE '%WHEN ((new.runs > old.runs))%' AS on_new_runs
  FROM pg_trigger WHERE tgrelid = 'abx.aggregation_state'::regclass AND NOT tgisinternal;
SELECT pg_get_functiondef('abx.notify_results()'::regprocedure) LIKE '%''experiment'', NEW.experiment_id, ''runs'', NEW.runs%' AS payload_is_ids;

DROP OWNED BY feed_gw;
DROP ROLE feed_gw;
