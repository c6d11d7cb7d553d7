
-- ---------------------------------------------------------------------------------------------
-- The WebSocket feed of abx-http (GET /api/experiments/ws, docs/integrations.md "WebSocket").
-- One connection of the gateway LISTENs on abx_outbox and abx_results and reads what to push
-- with abx.feed_since (as abx_gateway); a client subscribes through abx.http_ws_subscribe and
-- receives results through abx.http_ws_results, both run with the client's (or, for results, a
-- reader's) role and claims like any route, so the database decides who sees what.
-- ---------------------------------------------------------------------------------------------

-- The outbox rows after after_id (and those of `pending`, ids the gateway saw skipped) with the
-- message a WebSocket client receives for each, read in one snapshot:
--   {"events": [{"id", "organizationId", "experimentId", "message"}], "head", "xmin", "fence"}
-- message is seed 004's winner event, a status event, or null (types the feed does not push).
-- Ids are taken before commit, so a row may appear after a higher one: the gateway keeps the
-- skipped ids pending, and passes them here, until every transaction running at this read has
-- ended, i.e. until a later read's xmin reaches this read's fence. The fence is above the id of
-- every transaction running now: the snapshot's xmax counts only completed ones, so the running
-- ones' ids come from pg_stat_activity (abx's writers take their transaction id before an outbox
-- id: each writes the experiment first). after_id NULL returns no events, only the head (the
-- highest id visible): where a new feed starts.
CREATE FUNCTION abx.feed_since(after_id bigint DEFAULT NULL, max_rows integer DEFAULT 1000,
                               pending bigint[] DEFAULT '{}') RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF max_rows IS NULL THEN
        RAISE EXCEPTION 'max_rows must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF pending IS NULL THEN
        RAISE EXCEPTION 'pending must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF max_rows NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'invalid max_rows: must be from 1 to 10000' USING ERRCODE = 'invalid_parameter_value';
    ELSIF cardinality(pending) > 100000 THEN
        RAISE EXCEPTION 'invalid pending: at most 100000 ids' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One statement: the rows and the snapshot's bounds are of the same snapshot.
    RETURN (
        WITH picked AS (
            (SELECT o.* FROM abx.outbox o WHERE after_id IS NOT NULL AND o.id > after_id
              ORDER BY o.id LIMIT max_rows)
            UNION ALL
            SELECT o.* FROM abx.outbox o
             WHERE after_id IS NOT NULL AND o.id = ANY (pending) AND o.id <= after_id)
        SELECT jsonb_build_object(
            'events', coalesce(jsonb_agg(jsonb_build_object(
                'id', p.id, 'organizationId', p.organization_id, 'experimentId', p.experiment_id,
                'message', CASE p.type
                    WHEN 'experiment.winner_changed' THEN jsonb_build_object(
                        'type', 'winner', 'experimentCode', p.payload -> 'experiment',
                        'winnerVariantKey', p.payload -> 'winnerVariantKey')
                    WHEN 'experiment.status_changed' THEN jsonb_build_object(
                        'type', 'status', 'experimentCode', p.payload -> 'experiment',
                        'status', p.payload -> 'to', 'previousStatus', p.payload -> 'from')
                    END) ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '[]'),
            'head', CASE WHEN after_id IS NULL THEN (SELECT coalesce(max(o.id), 0) FROM abx.outbox o)
                         ELSE greatest(after_id, max(p.id)) END,
            'xmin', pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
            'fence', (SELECT greatest(x.xmax, max(
                          -- a 32-bit backend_xid widened to the 64-bit ids around xmax
                          x.xmax + ((a.backend_xid::text::bigint - x.xmax % 4294967296 + 6442450944)
                                    % 4294967296 - 2147483648) + 1))
                        FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) x
                        LEFT JOIN pg_stat_activity a ON a.backend_xid IS NOT NULL
                       GROUP BY x.xmax))
          FROM (SELECT NULL) one LEFT JOIN picked p ON true);
END
$$;
COMMENT ON FUNCTION abx.feed_since(bigint, integer, bigint[]) IS
    'abx-http''s WebSocket feed (abx_gateway only): outbox rows after an id with the message to push, and the snapshot bounds that tell when a skipped id can no longer appear.';

-- Results after each aggregation run, without an outbox row (they would pile up and fan out to
-- webhooks): a NOTIFY on abx_results naming the experiment by id only (any session may LISTEN,
-- so payloads carry no names). It is sent at commit, and not at all if the run rolls back.
CREATE FUNCTION abx.notify_results() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM pg_catalog.pg_notify('abx_results',
        pg_catalog.json_build_object('experiment', NEW.experiment_id, 'runs', NEW.runs)::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION abx.notify_results() IS
    'Trigger: NOTIFY abx_results with the experiment id after each successful aggregation run (abx-http pushes fresh results to its WebSocket subscribers).';
CREATE TRIGGER aggregation_results_notify AFTER UPDATE OF runs ON abx.aggregation_state
    FOR EACH ROW WHEN (NEW.runs > OLD.runs) EXECUTE FUNCTION abx.notify_results();

-- A WebSocket client's {"type": "subscribe", "experimentCode": "..."} (body), run in the
-- client's role and claims (experiments:read). The experiment is the organization's own, else the
-- global one of that code, as abx.winner finds it. Returns what the gateway routes events by (the
-- experiment's id and organization id) and the current state the client starts from.
CREATE FUNCTION abx.http_ws_subscribe(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    wanted text;
    org bigint;
    found jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:read', 'abx.http_ws_subscribe', ARRAY['orgId']);
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'invalid message: must be a JSON object' USING ERRCODE = 'invalid_text_representation';
    END IF;
    PERFORM abx.http_keys(body, 'message', ARRAY['type', 'experimentCode']);
    IF (abx.http_field(body, 'message', 'type', 'string', true) #>> '{}') <> 'subscribe' THEN
        RAISE EXCEPTION 'invalid message.type: must be "subscribe"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    wanted := abx.http_field(body, 'message', 'experimentCode', 'string', true) #>> '{}';
    IF octet_length(wanted) NOT BETWEEN 1 AND 256 THEN
        RAISE EXCEPTION 'invalid message.experimentCode: must be 1 to 256 bytes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    org := abx.session_organization_id();
    SELECT jsonb_build_object('experimentId', e.id, 'experimentCode', e.code,
                              'organizationId', e.organization_id, 'organization', o.key,
                              'status', e.status, 'winnerVariantKey', e.winner_variant)
      INTO found
      FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
     WHERE e.code = wanted AND (e.organization_id = org OR e.organization_id IS NULL)
     ORDER BY e.organization_id NULLS LAST LIMIT 1;
    IF found IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', wanted USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found;
END
$$;
COMMENT ON FUNCTION abx.http_ws_subscribe(jsonb, jsonb, jsonb) IS
    'A WebSocket subscription (experiments:read): the experiment a code names for the session, with its id, organization, status and winner.';

-- The results message of the WebSocket feed: path.id is the experiment's id (or code); per
-- variant and metric, the figures a live page shows (abx.results has them all). Run by the
-- gateway's feed as a reader of the experiment's organization after each aggregation run.
CREATE FUNCTION abx.http_ws_results(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:read', 'abx.http_ws_results', ARRAY['orgId'], 'id');
    RETURN jsonb_build_object(
        'type', 'results', 'experimentCode', code,
        'results', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'variant', r.variant, 'isControl', r.is_control, 'metric', r.metric,
                        'role', r.role, 'n', r.n, 'mean', r.mean, 'meanLower', r.mean_lower,
                        'meanUpper', r.mean_upper, 'relLift', r.rel_lift, 'relLiftLower', r.rel_lift_lower,
                        'relLiftUpper', r.rel_lift_upper, 'pValue', r.p_value,
                        'chanceToBeatControl', r.chance_to_beat_control, 'probBest', r.prob_best)), '[]')
                      FROM abx.results(code) r));
END
$$;
COMMENT ON FUNCTION abx.http_ws_results(jsonb, jsonb, jsonb) IS
    'The WebSocket feed''s results message (experiments:read): per variant and metric, n, mean and interval, relative lift, p-value and chances.';

REVOKE ALL ON FUNCTION abx.feed_since(bigint, integer, bigint[]), abx.notify_results(),
    abx.http_ws_subscribe(jsonb, jsonb, jsonb), abx.http_ws_results(jsonb, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION abx.feed_since(bigint, integer, bigint[]) TO abx_gateway;
GRANT EXECUTE ON FUNCTION abx.http_ws_subscribe(jsonb, jsonb, jsonb), abx.http_ws_results(jsonb, jsonb, jsonb)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
