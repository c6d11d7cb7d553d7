-- abx 0.3.0 -> 0.4.0: the SQL side of abx-http's routes. Each route of src/http/routes.cpp calls one
-- function abx.http_<name>(path jsonb, query jsonb, body jsonb) RETURNS jsonb in the transaction
-- the gateway opens (role, JWT claims, abx.organization and request.id set); that function is the
-- whole route (docs/sql-api.md, "HTTP routes"). Functions that print timestamps themselves run
-- with TimeZone UTC, so they print them as abx's C functions do, whatever the session's zone.
-- This file is assembled by make from src/sql/0.4.0/*.sql, in name order.
\echo Use "ALTER EXTENSION abx UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- Schema: seed 000's SLO targets on the experiment (the spec refuses fields it does not know, so
-- they live beside it), seed 004's global settings, and an index for the refusal counters.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE abx.experiments
    ADD COLUMN sla_target jsonb,   -- {p95_latency_ms, error_rate_threshold} (seed 000)
    ADD COLUMN prometheus jsonb;   -- {baseUrl, intervalMs, queryLatency, queryErrorRate, window}
COMMENT ON COLUMN abx.experiments.sla_target IS
    'Seed 000''s SLO targets, set by POST /api/meta/experiments/start; read by the SLO guardrails.';

-- Platform-wide settings (seed 004's "global settings"). The internal cron token is kept as its
-- SHA-256 digest only: {"sha256": "<hex>"}.
CREATE TABLE abx.global_settings (
    key        text PRIMARY KEY CHECK (key ~ '^[A-Za-z][A-Za-z0-9_.]{0,127}$'),
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('abx.global_settings', '');
REVOKE ALL ON abx.global_settings FROM PUBLIC;

-- policy_denies_total and audit_failures_total read the refusals only.
CREATE INDEX audit_log_refusals ON abx.audit_log (action, error_code) WHERE outcome <> 'ok';

-- The gateway's probes run as abx_gateway (readiness, the internal-token routes).
GRANT USAGE ON SCHEMA abx TO abx_gateway;

-- ---------------------------------------------------------------------------------------------
-- Glue (src/pg/http.cpp). abx.as_owner and abx.refuse are granted to no one: only the owner's
-- SECURITY DEFINER functions below call them.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.as_owner(command text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_as_owner' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.as_owner(text) IS
    'Runs a constant statement with every gate seeing the extension owner without an organization (internal-token routes, after the token check).';
CREATE FUNCTION abx.refuse(function_name text, message text, organization text DEFAULT NULL,
                           feature text DEFAULT NULL, reason text DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'abx_refuse' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.refuse(text, text, text, text, text) IS
    'Refuses with 42501 after queueing the audit entry (a policy denial when feature is given), which outlives the rollback.';
CREATE FUNCTION abx.evaluate_winner_with(experiment text, policy jsonb, organization text DEFAULT NULL)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'abx_evaluate_winner_with' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.evaluate_winner_with(text, jsonb, text) IS
    'abx.evaluate_winner under the experiment''s winner policy overlaid with policy (seed 001''s per-request thresholds); no side effect.';

-- ---------------------------------------------------------------------------------------------
-- The internal cron token (seed 004: experiments.internalCronToken).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.set_internal_token(token text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    digest text;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.set_internal_token', true);
    IF token IS NULL THEN
        RAISE EXCEPTION 'token must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- A bearer secret: long enough to resist guessing, and printable so headers carry it.
    IF length(token) NOT BETWEEN 32 AND 1024 OR token !~ '^[\x21-\x7e]+$' THEN
        RAISE EXCEPTION 'invalid token: must be 32 to 1024 printable ASCII characters without spaces'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    digest := encode(sha256(convert_to(token, 'UTF8')), 'hex');
    INSERT INTO abx.global_settings AS s (key, value, updated_at)
    VALUES ('experiments.internalCronToken', jsonb_build_object('sha256', digest), abx.now())
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
    -- The audit keeps a fingerprint of the digest, never the token.
    PERFORM abx.audit_append('settings.set', 'setting:experiments.internalCronToken', NULL, NULL,
        jsonb_build_object('after', jsonb_build_object('key', 'experiments.internalCronToken',
                                                       'fingerprint', left(digest, 8))));
    RETURN jsonb_build_object('key', 'experiments.internalCronToken', 'fingerprint', left(digest, 8),
                              'updated_at', abx.now());
END
$$;
COMMENT ON FUNCTION abx.set_internal_token(text) IS
    'Sets the internal cron token (ops admins without an organization); only its SHA-256 digest is stored.';

-- The token check of the internal-token routes: the presented token's digest against the stored
-- one (so the comparison's timing tells nothing about the token). Refusals are audited.
CREATE FUNCTION abx.http_require_token(function_name text, presented text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    stored text;
BEGIN
    IF function_name IS NULL THEN
        RAISE EXCEPTION 'function_name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT s.value ->> 'sha256' INTO stored FROM abx.global_settings s
     WHERE s.key = 'experiments.internalCronToken';
    IF stored IS NULL THEN
        PERFORM abx.refuse(function_name, 'permission denied: ' || function_name
            || ' needs the internal token, and none is set (abx.set_internal_token)');
    ELSIF coalesce(presented, '') = '' THEN
        PERFORM abx.refuse(function_name, 'permission denied: ' || function_name
            || ' needs the internal bearer token');
    ELSIF encode(sha256(convert_to(presented, 'UTF8')), 'hex') <> stored THEN
        PERFORM abx.refuse(function_name, 'permission denied: ' || function_name
            || ': the internal token does not match');
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Reading a request. path and query are objects of strings (the gateway decodes them); body is
-- the parsed JSON body or JSON null. Errors name the field by where it was sent: path.id,
-- query.subjectId, body.variants[1].traffic_share. Codes as everywhere (docs/sql-api.md).
-- ---------------------------------------------------------------------------------------------

-- The start of every route: the three arguments, then, each only where given and in this order,
-- the route's right (refusals name function_name), the query's allowed keys, and the path
-- parameter path_key, an experiment's id or code (abx.http_code), whose code is returned. Optional
-- parameters rather than a second function: abx's function list, which the sweeps of 11_sqlstates
-- and 17_rights pin, stays as it is.
CREATE FUNCTION abx.http_args(path jsonb, query jsonb, body jsonb, right_name text DEFAULT NULL,
                              function_name text DEFAULT NULL, allowed text[] DEFAULT NULL,
                              path_key text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF path IS NULL THEN
        RAISE EXCEPTION 'path must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF query IS NULL THEN
        RAISE EXCEPTION 'query must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF body IS NULL THEN
        RAISE EXCEPTION 'body must not be null (JSON null is no body)' USING ERRCODE = 'null_value_not_allowed';
    ELSIF jsonb_typeof(path) <> 'object' THEN
        RAISE EXCEPTION 'invalid path: must be a JSON object' USING ERRCODE = 'invalid_text_representation';
    ELSIF jsonb_typeof(query) <> 'object' THEN
        RAISE EXCEPTION 'invalid query: must be a JSON object' USING ERRCODE = 'invalid_text_representation';
    END IF;
    IF right_name IS NOT NULL THEN
        PERFORM abx.require_right(right_name, function_name, false);
    END IF;
    IF allowed IS NOT NULL THEN
        PERFORM abx.http_keys(query, 'query', allowed);
    END IF;
    IF path_key IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN abx.http_code(abx.http_field(path, 'path', path_key, 'string', true) #>> '{}', 'path.' || path_key);
END
$$;

-- One field of a request object, of JSON type `kind` (string, number, boolean, object, array):
-- absent is NULL (or "is required", 22023), JSON null is NULL (or 22004), another type 22P02.
CREATE FUNCTION abx.http_field(doc jsonb, prefix text, key text, kind text,
                               required boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v jsonb;
BEGIN
    IF doc IS NULL OR prefix IS NULL OR key IS NULL OR kind IS NULL OR required IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN doc IS NULL THEN 'doc' WHEN prefix IS NULL THEN 'prefix' WHEN key IS NULL THEN 'key'
                 WHEN kind IS NULL THEN 'kind' ELSE 'required' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'invalid %: must be a JSON object', prefix USING ERRCODE = 'invalid_text_representation';
    END IF;
    v := doc -> key;
    IF v IS NULL THEN
        IF required THEN
            RAISE EXCEPTION 'invalid %.%: is required', prefix, key USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN NULL;
    ELSIF jsonb_typeof(v) = 'null' THEN
        IF required THEN
            RAISE EXCEPTION '%.% must not be null', prefix, key USING ERRCODE = 'null_value_not_allowed';
        END IF;
        RETURN NULL;
    ELSIF jsonb_typeof(v) <> kind THEN
        RAISE EXCEPTION 'invalid %.%: must be %', prefix, key,
            CASE kind WHEN 'object' THEN 'a JSON object' WHEN 'array' THEN 'an array' ELSE 'a ' || kind END
            USING ERRCODE = 'invalid_text_representation';
    END IF;
    RETURN v;
END
$$;

-- A number field. Query values are text (the query string), so there a number is its decimal text;
-- elsewhere it is a JSON number. It must fit a double (finite and normal, as everywhere in abx)
-- and, with whole_from and whole_to, be a whole number in that range (22003 otherwise; checked on
-- the double, as the callers use it).
CREATE FUNCTION abx.http_number(doc jsonb, prefix text, key text, whole_from bigint DEFAULT NULL,
                                whole_to bigint DEFAULT NULL) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v jsonb;
    n numeric;
    d double precision;
BEGIN
    IF prefix = 'query' AND jsonb_typeof(doc -> key) = 'string' THEN
        IF (doc ->> key) !~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$' THEN
            RAISE EXCEPTION 'invalid %.%: must be a number', prefix, key USING ERRCODE = 'invalid_text_representation';
        END IF;
        n := (doc ->> key)::numeric;
    ELSE
        v := abx.http_field(doc, prefix, key, 'number');
        IF v IS NULL THEN RETURN NULL; END IF;
        n := v::numeric;
    END IF;
    IF abs(n) > 1.7976931348623157e308 OR (n <> 0 AND abs(n) < 2.2250738585072014e-308) THEN
        RAISE EXCEPTION 'invalid %.%: must fit a double', prefix, key USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    d := n::double precision;
    IF whole_from IS NOT NULL AND (d <> trunc(d) OR d NOT BETWEEN whole_from AND whole_to) THEN
        RAISE EXCEPTION 'invalid %.%: must be an integer from % to %', prefix, key, whole_from, whole_to
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN d;
END
$$;

-- An RFC 3339 timestamp field (22007 otherwise).
CREATE FUNCTION abx.http_timestamp(doc jsonb, prefix text, key text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v text := abx.http_field(doc, prefix, key, 'string') #>> '{}';
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})$' THEN
        BEGIN
            RETURN v::timestamptz;
        EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
            NULL;  -- a well-formed text naming no instant (February 30th): refused below
        END;
    END IF;
    RAISE EXCEPTION 'invalid %.%: must be an RFC 3339 timestamp (2026-01-15T12:00:00Z)', prefix, key
        USING ERRCODE = 'invalid_datetime_format';
END
$$;

-- Unknown fields are refused, as in every abx document (22023 naming the first one).
CREATE FUNCTION abx.http_keys(doc jsonb, prefix text, allowed text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    unknown text;
BEGIN
    IF doc IS NULL OR prefix IS NULL OR allowed IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN doc IS NULL THEN 'doc' WHEN prefix IS NULL THEN 'prefix' ELSE 'allowed' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'invalid %: must be a JSON object', prefix USING ERRCODE = 'invalid_text_representation';
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(doc) k WHERE k <> ALL (allowed) ORDER BY k LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'invalid %.%: unknown field (allowed: %)', prefix, unknown, array_to_string(allowed, ', ')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- A key made of a display name (seed 002 names variants, seed 000 experiments): lower-case
-- letters and digits, other runs become '-'.
CREATE FUNCTION abx.http_slug(name text, field text, max_length integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    slug text;
BEGIN
    IF name IS NULL OR field IS NULL OR max_length IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN name IS NULL THEN 'name' WHEN field IS NULL THEN 'field' ELSE 'max_length' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    slug := btrim(left(btrim(regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g'), '-'), max_length), '-');
    IF slug = '' THEN
        RAISE EXCEPTION 'invalid %: has no letter or digit to make a key of (give the key)', field
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN slug;
END
$$;

-- The experiment code a route's :id, :code or :name names. Digits are the numeric id of an
-- experiment the session sees (its organization's or a global one) and anything else the code,
-- as are digits that are no such id. The abx functions then find it by code as always.
CREATE FUNCTION abx.http_code(ref text, field text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org bigint;
    found_code text;
    found_org bigint;
BEGIN
    IF field IS NULL THEN
        RAISE EXCEPTION 'field must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF ref IS NULL THEN
        RAISE EXCEPTION '% must not be null', field USING ERRCODE = 'null_value_not_allowed';
    ELSIF ref = '' THEN
        RAISE EXCEPTION 'invalid %: must not be empty', field USING ERRCODE = 'invalid_parameter_value';
    ELSIF ref !~ '^[0-9]{1,18}$' THEN
        RETURN ref;
    END IF;
    org := abx.session_organization_id();
    SELECT e.code, e.organization_id INTO found_code, found_org FROM abx.experiments e
     WHERE e.id = ref::bigint AND (e.organization_id IS NULL OR e.organization_id = org);
    IF found_code IS NULL THEN
        RETURN ref;
    END IF;
    -- By code, the organization's own experiment wins over a global one (abx.assign, abx.track).
    IF found_org IS NULL AND org IS NOT NULL
       AND EXISTS (SELECT FROM abx.experiments e WHERE e.code = found_code AND e.organization_id = org) THEN
        RAISE EXCEPTION 'experiment % is a global experiment this organization''s own experiment "%" hides',
            ref, found_code USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_code;
END
$$;

-- Re-raises a caller error (class 22) of an abx function naming its field as the request does.
-- `names` maps the first segment of abx's field path to the request's ({"subject":
-- "body.molam_id"}); "*" prefixes any other ("body."); "~" renames later segments ({"weight":
-- "traffic_share"}). Messages about no field pass unchanged.
CREATE FUNCTION abx.http_reraise(state text, message text, names jsonb, detail text DEFAULT NULL,
                                 hint text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    m text[];
    field text;
    r record;
    renamed text := message;
BEGIN
    IF state IS NULL OR message IS NULL OR names IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN state IS NULL THEN 'state' WHEN message IS NULL THEN 'message' ELSE 'names' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    m := regexp_match(message, '^(invalid )?([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\]|\.[A-Za-z_][A-Za-z0-9_]*)*)(: .*| must not be null)$', 's');
    IF m IS NOT NULL AND (m[1] IS NOT NULL) = (m[4] <> ' must not be null')
       AND (names ? m[2] OR names ? '*') THEN
        field := coalesce(names ->> m[2], (names ->> '*') || m[2]);
        FOR r IN SELECT * FROM jsonb_each_text(coalesce(names -> '~', '{}')) LOOP
            m[3] := regexp_replace(m[3], '\.' || r.key || '(?=$|[.\[])', '.' || r.value, 'g');
        END LOOP;
        renamed := coalesce(m[1], '') || field || m[3] || m[4];
    END IF;
    IF coalesce(detail, '') <> '' AND coalesce(hint, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = renamed, DETAIL = detail, HINT = hint;
    ELSIF coalesce(detail, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = renamed, DETAIL = detail;
    ELSIF coalesce(hint, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = renamed, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = renamed;
END
$$;
