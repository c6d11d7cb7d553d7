-- Delivery of the outbox, continued (20_deliveries.sql): the admin routes, grants. Readiness: 50_probes.sql.

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
