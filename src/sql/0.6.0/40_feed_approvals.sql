
-- ---------------------------------------------------------------------------------------------
-- The WebSocket feed tells of approvals too (0.6.0): the ops page shows "approval requested" and
-- its approve and reject buttons the moment the auto-promotion asks, and drops them when a person
-- rejects (an approval promotes, which the winner and status messages already tell).
-- ---------------------------------------------------------------------------------------------

-- The message a WebSocket client receives for an outbox row, or null for types the feed does not
-- push: seed 004's winner event, a status event, an approval event.
CREATE FUNCTION abx.feed_message(type text, payload jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF type IS NULL OR payload IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN type IS NULL THEN 'type' ELSE 'payload' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN CASE type
        WHEN 'experiment.winner_changed' THEN jsonb_build_object(
            'type', 'winner', 'experimentCode', payload -> 'experiment',
            'winnerVariantKey', payload -> 'winnerVariantKey')
        WHEN 'experiment.status_changed' THEN jsonb_build_object(
            'type', 'status', 'experimentCode', payload -> 'experiment',
            'status', payload -> 'to', 'previousStatus', payload -> 'from')
        WHEN 'experiment.approval_requested' THEN jsonb_build_object(
            'type', 'approval', 'experimentCode', payload -> 'experiment', 'state', 'requested',
            'winnerVariantKey', payload -> 'winner')
        WHEN 'experiment.approval_rejected' THEN jsonb_build_object(
            'type', 'approval', 'experimentCode', payload -> 'experiment', 'state', 'rejected',
            'winnerVariantKey', payload -> 'winner')
        END;
END
$$;
REVOKE ALL ON FUNCTION abx.feed_message(text, jsonb) FROM PUBLIC;

-- As in 0.5.0, with each row's message from abx.feed_message.
CREATE OR REPLACE FUNCTION abx.feed_since(after_id bigint DEFAULT NULL, max_rows integer DEFAULT 1000,
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
                'message', abx.feed_message(p.type, p.payload)) ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '[]'),
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
