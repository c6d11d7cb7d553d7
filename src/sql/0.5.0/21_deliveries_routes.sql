-- Delivery of the outbox, continued (20_deliveries.sql): readiness, the admin routes, grants.

-- ---------------------------------------------------------------------------------------------
-- Readiness: outbound now also warns while dead letters wait for an operator (retry or discard).
-- An event is undelivered while one of its deliveries is pending (events without a target are
-- done when written); the oldest such event is the age outbound reports.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION abx.readiness_report(facts jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    running boolean;
    failed bigint;
    backlog bigint;
    waiting double precision;
    dead bigint;
    queue text;
    outbound text;
BEGIN
    IF facts IS NULL THEN
        RAISE EXCEPTION 'facts must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    running := coalesce((facts ->> 'scheduler_enabled')::boolean, false)
               AND coalesce((facts ->> 'scheduler_running')::boolean, false);
    failed := coalesce((facts ->> 'failed_job_runs')::bigint, 0);
    backlog := coalesce((facts ->> 'outbox_backlog')::bigint, 0);
    waiting := (facts ->> 'oldest_undelivered_seconds')::double precision;
    dead := coalesce((facts ->> 'dead_letters')::bigint, 0);
    queue := CASE WHEN NOT running THEN 'fail' WHEN failed > 0 OR backlog > 10000 THEN 'warn' ELSE 'ok' END;
    outbound := CASE WHEN waiting > 900 OR dead > 0 THEN 'warn' ELSE 'ok' END;
    RETURN jsonb_build_object(
        'status', CASE WHEN queue = 'fail' THEN 'not_ready'
                       WHEN queue = 'warn' OR outbound = 'warn' THEN 'degraded' ELSE 'ready' END,
        'checks', jsonb_build_object(
            'db', jsonb_build_object('status', 'ok'),
            'queue', jsonb_build_object(
                'status', queue,
                'scheduler', jsonb_build_object('enabled', coalesce((facts ->> 'scheduler_enabled')::boolean, false),
                                                'running', coalesce((facts ->> 'scheduler_running')::boolean, false)),
                'failed_job_runs_last_hour', failed,
                'outbox_backlog', backlog),
            'outbound', jsonb_build_object(
                'status', outbound,
                'oldest_undelivered_seconds', waiting,
                'warn_after_seconds', 900,
                'pending_deliveries', coalesce((facts ->> 'pending_deliveries')::bigint, 0),
                'dead_letters', dead)));
END
$$;

CREATE OR REPLACE FUNCTION abx.http_readiness(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    clock timestamptz := abx.now();
BEGIN
    PERFORM abx.http_args(path, query, body);
    RETURN abx.readiness_report(jsonb_build_object(
        'scheduler_enabled', current_setting('abx.scheduler')::boolean,
        'scheduler_running', EXISTS (SELECT FROM pg_stat_activity a
                                      WHERE a.backend_type = 'abx scheduler' AND a.datname = current_database()),
        'failed_job_runs', (SELECT count(*) FROM abx.job_runs r
                             WHERE r.status IN ('failed', 'timeout', 'interrupted')
                               AND coalesce(r.finished_at, r.started_at) BETWEEN clock - interval '1 hour' AND clock),
        'outbox_backlog', (SELECT count(*) FROM (SELECT FROM abx.outbox o WHERE o.delivered_at IS NULL
                                                  LIMIT 10001) b),
        -- Rows written before 0.5.0 (no target to deliver to) do not count.
        'oldest_undelivered_seconds',
            (SELECT extract(epoch FROM greatest(clock, abx.delivery_now()) - d.created_at) FROM abx.deliveries d
              WHERE d.status = 'pending' ORDER BY d.outbox_id LIMIT 1),
        'pending_deliveries', (SELECT count(*) FROM (SELECT FROM abx.deliveries d WHERE d.status = 'pending'
                                                      LIMIT 10001) p),
        'dead_letters', (SELECT count(*) FROM (SELECT FROM abx.deliveries d WHERE d.status = 'dead'
                                                LIMIT 10001) x)));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Admin routes (experiments:admin): targets and deliveries of the token's organization.
-- ---------------------------------------------------------------------------------------------
-- GET /api/admin/delivery-targets
CREATE FUNCTION abx.http_delivery_targets(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_targets', ARRAY['orgId']);
    RETURN jsonb_build_object('targets', abx.delivery_targets());
END
$$;

-- POST /api/admin/delivery-targets (201): the body is abx.create_delivery_target's spec.
CREATE FUNCTION abx.http_delivery_target_create(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    st text; msg text; det text; hin text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_target_create', ARRAY['orgId']);
    BEGIN
        RETURN abx.create_delivery_target(body);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"spec": "body"}', det, hin);
    END;
END
$$;

-- PATCH /api/admin/delivery-targets/:name: the body is abx.update_delivery_target's patch.
CREATE FUNCTION abx.http_delivery_target_update(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    st text; msg text; det text; hin text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_target_update', ARRAY['orgId']);
    BEGIN
        RETURN abx.update_delivery_target(abx.http_field(path, 'path', 'name', 'string', true) #>> '{}', body);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"spec": "body", "patch": "body"}', det, hin);
    END;
END
$$;

-- DELETE /api/admin/delivery-targets/:name
CREATE FUNCTION abx.http_delivery_target_delete(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_target_delete', ARRAY['orgId']);
    RETURN jsonb_build_object('deleted', true,
        'target', abx.delete_delivery_target(abx.http_field(path, 'path', 'name', 'string', true) #>> '{}'));
END
$$;

-- GET /api/admin/deliveries?status=dead&limit=100
CREATE FUNCTION abx.http_deliveries(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    wanted text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_deliveries', ARRAY['status', 'limit', 'orgId']);
    wanted := abx.http_field(query, 'query', 'status', 'string') #>> '{}';
    IF wanted NOT IN ('pending', 'delivered', 'dead', 'discarded') THEN
        RAISE EXCEPTION 'invalid query.status: must be pending, delivered, dead or discarded' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN jsonb_build_object('deliveries',
        abx.deliveries(wanted, coalesce(abx.http_number(query, 'query', 'limit', 1, 1000), 100)::integer));
END
$$;

-- POST /api/admin/deliveries/:id/retry and /discard
CREATE FUNCTION abx.http_delivery_id(path jsonb) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v text := abx.http_field(path, 'path', 'id', 'string', true) #>> '{}';
BEGIN
    IF v !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'invalid path.id: must be a delivery id (digits)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v::bigint;
END
$$;

CREATE FUNCTION abx.http_delivery_retry(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_retry', ARRAY['orgId']);
    RETURN abx.retry_delivery(abx.http_delivery_id(path));
END
$$;

CREATE FUNCTION abx.http_delivery_discard(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:admin', 'abx.http_delivery_discard', ARRAY['orgId']);
    RETURN abx.discard_delivery(abx.http_delivery_id(path));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Grants: closed to PUBLIC (the 0.4.0 rule: every new function of the extension without a
-- privilege yet), the admin functions to the working roles (their right check refuses the rest
-- with a message naming the right), the deliverer's to abx_gateway.
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
                AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'abx')
                AND p.proacl IS NULL
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION
    abx.create_delivery_target(jsonb), abx.update_delivery_target(text, jsonb),
    abx.delete_delivery_target(text), abx.delivery_targets(), abx.deliveries(text, integer),
    abx.retry_delivery(bigint), abx.discard_delivery(bigint),
    abx.http_delivery_targets(jsonb, jsonb, jsonb), abx.http_delivery_target_create(jsonb, jsonb, jsonb),
    abx.http_delivery_target_update(jsonb, jsonb, jsonb), abx.http_delivery_target_delete(jsonb, jsonb, jsonb),
    abx.http_deliveries(jsonb, jsonb, jsonb), abx.http_delivery_id(jsonb),
    abx.http_delivery_retry(jsonb, jsonb, jsonb), abx.http_delivery_discard(jsonb, jsonb, jsonb)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
GRANT EXECUTE ON FUNCTION
    abx.claim_deliveries(text, integer, integer), abx.report_delivery(bigint, integer, text, integer, text)
    TO abx_gateway;
