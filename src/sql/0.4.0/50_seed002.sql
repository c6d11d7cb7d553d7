
-- ---------------------------------------------------------------------------------------------
-- Seed 002: experiments by numeric id or code. Seed 002's variants carry traffic_share (abx's
-- weight) and a display name; variant_id is the variant's key. Seed 002's "stopped" is paused.
-- ---------------------------------------------------------------------------------------------

-- Seed 002's payload as an abx spec or patch: a variant's key is its key, else its name made a
-- key ("Control (Blue)" -> control-blue); traffic_share is the weight; a new experiment's code is
-- body.code, else its name made a key. Other fields pass through to abx's checks.
CREATE FUNCTION abx.http_seed002_spec(body jsonb, creating boolean) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    spec jsonb := body;
    variants jsonb[] := '{}';
    v jsonb;
    f text;
BEGIN
    IF body IS NULL OR creating IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN body IS NULL THEN 'body' ELSE 'creating' END
            USING ERRCODE = 'null_value_not_allowed';
    ELSIF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'invalid body: must be a JSON object' USING ERRCODE = 'invalid_text_representation';
    END IF;
    IF creating AND NOT body ? 'code' THEN
        spec := spec || jsonb_build_object('code',
            abx.http_slug(abx.http_field(body, 'body', 'name', 'string', true) #>> '{}', 'body.name', 128));
    END IF;
    IF abx.http_field(body, 'body', 'variants', 'array') IS NOT NULL THEN
        FOR i IN 0 .. jsonb_array_length(body -> 'variants') - 1 LOOP
            v := body -> 'variants' -> i;
            f := 'body.variants[' || i || ']';
            IF jsonb_typeof(v) = 'object' THEN
                IF v ? 'traffic_share' AND v ? 'weight' THEN
                    RAISE EXCEPTION 'invalid %.traffic_share: give traffic_share or weight, not both', f
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                IF NOT v ? 'key' THEN
                    v := v || jsonb_build_object('key',
                        abx.http_slug(abx.http_field(v, f, 'name', 'string', true) #>> '{}', f || '.name', 64));
                END IF;
                IF v ? 'traffic_share' THEN
                    v := (v - 'traffic_share') || jsonb_build_object('weight', v -> 'traffic_share');
                END IF;
            END IF;
            variants := variants || v;
        END LOOP;
        spec := spec || jsonb_build_object('variants', to_jsonb(variants));
    END IF;
    RETURN spec;
END
$$;

-- An experiment document as seed 002 reads it: each variant also as variant_id and traffic_share.
CREATE FUNCTION abx.http_seed002_doc(doc jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF doc IS NULL THEN
        RAISE EXCEPTION 'doc must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF jsonb_typeof(doc -> 'variants') <> 'array' THEN
        RETURN doc;
    END IF;
    RETURN doc || jsonb_build_object('variants', (
        SELECT jsonb_agg(v || jsonb_build_object('variant_id', v -> 'key', 'traffic_share', v -> 'weight') ORDER BY n)
          FROM jsonb_array_elements(doc -> 'variants') WITH ORDINALITY x(v, n)));
END
$$;

-- Field names of abx's errors as seed 002's body names them.
CREATE FUNCTION abx.http_seed002_names() RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$ SELECT '{"*": "body.", "spec": "body", "patch": "body", "~": {"weight": "traffic_share"}}'::jsonb $$;

-- POST /api/experiments (experiments:write, 201)
CREATE FUNCTION abx.http_create_experiment(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    spec jsonb;
    st text; msg text; det text; hin text;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:write', 'abx.http_create_experiment', ARRAY['orgId']);
    spec := abx.http_seed002_spec(body, true);
    BEGIN
        RETURN abx.http_seed002_doc(abx.create_experiment(spec));
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, abx.http_seed002_names(), det, hin);
    END;
END
$$;

-- GET /api/experiments (experiments:read): as GET /api/admin/experiments.
CREATE FUNCTION abx.http_list_experiments(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    list jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body);
    list := abx.http_experiment_list(query, 'abx.http_list_experiments');
    RETURN list || jsonb_build_object('experiments', (
        SELECT coalesce(jsonb_agg(abx.http_seed002_doc(x) ORDER BY n), '[]')
          FROM jsonb_array_elements(list -> 'experiments') WITH ORDINALITY e(x, n)));
END
$$;

-- GET /api/experiments/:id (experiments:read)
CREATE FUNCTION abx.http_get_experiment(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.experiment(
        abx.http_args(path, query, body, 'experiments:read', 'abx.http_get_experiment', ARRAY['orgId'], 'id')));
END
$$;

-- PATCH /api/experiments/:id (experiments:write): a patch as abx.update_experiment takes it, with
-- seed 002's variant fields.
CREATE FUNCTION abx.http_update_experiment(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    patch jsonb;
    st text; msg text; det text; hin text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:write', 'abx.http_update_experiment', ARRAY['orgId'], 'id');
    patch := abx.http_seed002_spec(body, false);
    BEGIN
        RETURN abx.http_seed002_doc(abx.update_experiment(code, patch));
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, abx.http_seed002_names(), det, hin);
    END;
END
$$;

-- POST /api/experiments/:id/start (experiments:lifecycle): starts a draft, resumes a paused one;
-- any other status is refused by abx.start (55000).
CREATE FUNCTION abx.http_start(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_start', ARRAY['orgId'], 'id');
    IF abx.experiment(code) ->> 'status' = 'paused' THEN
        RETURN abx.http_seed002_doc(abx.resume(code));
    END IF;
    RETURN abx.http_seed002_doc(abx.start(code));
END
$$;

-- POST /api/experiments/:id/stop (experiments:lifecycle): pauses. Seed 002's stop is the Ops
-- UI's control and fail-fast's recommendation; pausing keeps it reversible (start resumes) while
-- subjects keep their variants and events keep counting. Ending an experiment is a promotion or
-- the admin API's DELETE.
CREATE FUNCTION abx.http_stop(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.pause(
        abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_stop', ARRAY['orgId'], 'id')));
END
$$;

-- POST /api/experiments/:id/assign (experiments:assign): {molam_id, context}.
CREATE FUNCTION abx.http_assign(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    subject text;
    context jsonb;
    a record;
    st text; msg text; det text; hin text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:assign', 'abx.http_assign', ARRAY['orgId'], 'id');
    PERFORM abx.http_keys(body, 'body', ARRAY['molam_id', 'context']);
    subject := abx.http_field(body, 'body', 'molam_id', 'string', true) #>> '{}';
    context := coalesce(abx.http_field(body, 'body', 'context', 'object'), '{}');
    BEGIN
        SELECT * INTO a FROM abx.assign(code, subject, context);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"subject": "body.molam_id", "context": "body.context"}', det, hin);
    END;
    RETURN jsonb_build_object('experiment', code, 'molam_id', subject, 'variant_id', a.variant,
                              'config', a.config, 'is_new', a.is_new, 'reason', a.reason);
END
$$;

-- GET /api/experiments/:id/assignment/:molam_id (experiments:assign): the stored assignment
-- (P0002 without one).
CREATE FUNCTION abx.http_get_assignment(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    code text;
    subject text;
    a record;
    st text; msg text; det text; hin text;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:assign', 'abx.http_get_assignment', ARRAY['orgId'], 'id');
    subject := abx.http_field(path, 'path', 'molam_id', 'string', true) #>> '{}';
    BEGIN
        SELECT * INTO a FROM abx.assignment(code, subject);
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
        PERFORM abx.http_reraise(st, msg, '{"subject": "path.molam_id"}', det, hin);
    END;
    IF a.variant IS NULL THEN
        RAISE EXCEPTION 'subject "%" has no assignment in experiment "%"', subject, code USING ERRCODE = 'no_data_found';
    END IF;
    RETURN jsonb_build_object('experiment', code, 'molam_id', subject, 'variant_id', a.variant,
                              'config', a.config, 'assigned_at', a.assigned_at);
END
$$;
