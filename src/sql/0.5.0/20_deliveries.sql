-- ---------------------------------------------------------------------------------------------
-- Delivery of the outbox (docs/integrations.md): webhook subscriptions and the notification
-- channels Slack, PagerDuty and email are delivery targets of an organization. abx.outbox rows
-- fan out, in the emitting transaction, into one abx.deliveries row per matching enabled target
-- (src/pg/outbox.cpp; the routing is include/abx/delivery.hpp). abx-http's deliverer claims due
-- deliveries (FOR UPDATE SKIP LOCKED, with a lease), sends them and reports each outcome; a
-- failure is retried with exponential backoff and full jitter for 24 h, then dead-lettered.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.delivery_targets (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES abx.organizations (id) ON DELETE CASCADE,  -- NULL: global
    name            text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    kind            text NOT NULL CHECK (kind IN ('webhook', 'slack', 'pagerduty', 'email')),
    url             text NOT NULL,   -- the receiver; PagerDuty's events URL; smtp:// or smtps://
    secret          text,            -- webhook signing secret, PagerDuty routing key, SMTP password
    event_types     text[] NOT NULL DEFAULT '{}',  -- empty: every event routed to the kind
    settings        jsonb NOT NULL DEFAULT '{}',   -- email: from, to, username
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_by      text NOT NULL,
    UNIQUE NULLS NOT DISTINCT (organization_id, name)
);
COMMENT ON TABLE abx.delivery_targets IS
    'Webhook subscriptions and notification channels per organization (abx.create_delivery_target); secrets are readable by the extension owner only.';

CREATE TABLE abx.deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id        bigint NOT NULL REFERENCES abx.outbox (id) ON DELETE CASCADE,
    target_id        bigint NOT NULL REFERENCES abx.delivery_targets (id) ON DELETE CASCADE,
    organization_id  bigint,
    experiment_id    bigint,          -- deliveries of one target and experiment go in outbox order
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'dead', 'discarded')),
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    first_attempt_at timestamptz,
    leased_until     timestamptz,     -- a claim; an expired one (a crashed deliverer) is claimable
    leased_by        text,            -- the deliverer of the last claim (host:pid), kept after it
    last_attempt_at  timestamptz,
    last_http_status integer,
    last_error       text,
    finished_at      timestamptz      -- delivered, dead-lettered or discarded
);
CREATE INDEX deliveries_pending ON abx.deliveries (target_id, experiment_id, outbox_id, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_by_outbox ON abx.deliveries (outbox_id);
CREATE INDEX deliveries_pending_age ON abx.deliveries (outbox_id) WHERE status = 'pending';
CREATE INDEX deliveries_dead ON abx.deliveries (id) WHERE status = 'dead';

SELECT pg_catalog.pg_extension_config_dump('abx.delivery_targets', '');
SELECT pg_catalog.pg_extension_config_dump('abx.delivery_targets_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('abx.deliveries_id_seq', '');
-- Secrets: no role but the owner reads the targets table; the functions below never show one.
REVOKE ALL ON abx.delivery_targets, abx.deliveries FROM PUBLIC;
GRANT SELECT ON abx.deliveries TO abx_admin, abx_analyst;
ALTER TABLE abx.deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.deliveries FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());

-- The clock of deliveries: abx.now() (abx.pinned_now when pinned), or the test clock on test
-- clusters (abx.test_clock = on), so a test moves retries forward without waiting.
CREATE FUNCTION abx.delivery_now() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'abx_delivery_now' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.delivery_now() IS
    'The time of delivery decisions: abx.now(), or the test clock when abx.test_clock is on.';
-- The retry decision of include/abx/delivery.hpp: the next attempt after a failure, or NULL
-- (dead-letter) once failed_at is 24 h past the first attempt.
CREATE FUNCTION abx.delivery_retry_at(attempts integer, first_attempt_at timestamptz,
                                      failed_at timestamptz) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'abx_delivery_retry_at' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.delivery_retry_at(integer, timestamptz, timestamptz) IS
    'Backoff of a failed delivery: exponential (10 s doubling, capped at 1 h) with full jitter; NULL after 24 h of attempts.';

-- A target as shown to people: secrets never, a Slack URL (its path is the credential) cut to
-- its host.
CREATE FUNCTION abx.delivery_target_doc(target_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    doc jsonb;
BEGIN
    IF target_id IS NULL THEN
        RAISE EXCEPTION 'target_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT jsonb_build_object(
        'id', t.id, 'name', t.name, 'kind', t.kind,
        'organization', (SELECT o.key FROM abx.organizations o WHERE o.id = t.organization_id),
        'url', CASE WHEN t.kind = 'slack' THEN substring(t.url FROM '^https?://[^/?#]*') || '/…' ELSE t.url END,
        'has_secret', t.secret IS NOT NULL,
        'secret_fingerprint', CASE WHEN t.secret IS NULL THEN NULL
                                   ELSE left(encode(sha256(convert_to(t.secret, 'UTF8')), 'hex'), 8) END,
        'event_types', to_jsonb(t.event_types), 'settings', t.settings, 'enabled', t.enabled,
        'created_at', t.created_at, 'created_by', t.created_by,
        'updated_at', t.updated_at, 'updated_by', t.updated_by)
      INTO doc FROM abx.delivery_targets t WHERE t.id = target_id;
    RETURN doc;
END
$$;

-- Checks a target's fields (22023 naming the field) and returns the row to store. `spec` is the
-- creation document or an update's patch over `base`.
CREATE FUNCTION abx.delivery_target_checked(spec jsonb, base abx.delivery_targets DEFAULT NULL)
    RETURNS abx.delivery_targets
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t abx.delivery_targets := base;
    creating boolean := base.id IS NULL;
    v jsonb;
    fmt text;
BEGIN
    IF spec IS NULL THEN
        RAISE EXCEPTION 'spec must not be null' USING ERRCODE = 'null_value_not_allowed';
    ELSIF jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION 'invalid spec: must be a JSON object' USING ERRCODE = 'invalid_text_representation';
    END IF;
    PERFORM abx.http_keys(spec, 'spec', CASE WHEN creating
        THEN ARRAY['name', 'kind', 'url', 'secret', 'event_types', 'settings', 'enabled']
        ELSE ARRAY['url', 'secret', 'event_types', 'settings', 'enabled'] END);
    IF creating THEN
        t.name := abx.http_field(spec, 'spec', 'name', 'string', true) #>> '{}';
        IF t.name !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
            RAISE EXCEPTION 'invalid spec.name: must match ^[a-z0-9][a-z0-9_.-]{0,62}$' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        t.kind := abx.http_field(spec, 'spec', 'kind', 'string', true) #>> '{}';
        IF t.kind NOT IN ('webhook', 'slack', 'pagerduty', 'email') THEN
            RAISE EXCEPTION 'invalid spec.kind: must be webhook, slack, pagerduty or email' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        t.enabled := true;
        t.event_types := '{}';
        t.settings := '{}';
    END IF;
    t.url := coalesce(abx.http_field(spec, 'spec', 'url', 'string') #>> '{}', t.url,
                      CASE WHEN t.kind = 'pagerduty' THEN 'https://events.pagerduty.com/v2/enqueue' END);
    IF t.url IS NULL THEN
        RAISE EXCEPTION 'invalid spec.url: is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Only http(s) (smtp(s) for email), a host, no credentials in the URL (they would be shown).
    fmt := CASE WHEN t.kind = 'email' THEN '^smtps?://[^/?#@\s]+(/[^\s]*)?$' ELSE '^https?://[^/?#@\s]+([/?#][^\s]*)?$' END;
    IF length(t.url) > 2048 OR t.url !~ fmt OR t.url ~ '^[a-z]+://(:[0-9]*)?([/?#]|$)' THEN
        RAISE EXCEPTION 'invalid spec.url: must be an % URL with a host and no user name or password, at most 2048 characters',
            CASE WHEN t.kind = 'email' THEN 'smtp:// or smtps://' ELSE 'http:// or https://' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec ? 'secret' THEN
        t.secret := abx.http_field(spec, 'spec', 'secret', 'string') #>> '{}';
        IF t.secret IS NOT NULL AND (length(t.secret) NOT BETWEEN 1 AND 1024 OR t.secret !~ '^[\x21-\x7e]+$') THEN
            RAISE EXCEPTION 'invalid spec.secret: must be 1 to 1024 printable ASCII characters without spaces'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF t.kind = 'webhook' AND t.secret IS NOT NULL AND length(t.secret) < 16 THEN
        RAISE EXCEPTION 'invalid spec.secret: a webhook secret must have at least 16 characters (omit it to have one generated)'
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF t.kind = 'pagerduty' AND t.secret IS NULL THEN
        RAISE EXCEPTION 'invalid spec.secret: is required (the PagerDuty routing key)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v := abx.http_field(spec, 'spec', 'event_types', 'array');
    IF v IS NOT NULL THEN
        IF EXISTS (SELECT FROM jsonb_array_elements(v) x
                    WHERE jsonb_typeof(x) <> 'string' OR x #>> '{}' !~ '^[a-z][a-z0-9_.]{0,99}$') THEN
            RAISE EXCEPTION 'invalid spec.event_types: must be an array of event type names (experiment.status_changed)'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        t.event_types := ARRAY(SELECT DISTINCT x FROM jsonb_array_elements_text(v) x ORDER BY x);
    END IF;
    t.settings := coalesce(abx.http_field(spec, 'spec', 'settings', 'object'), t.settings);
    IF t.kind = 'email' THEN
        PERFORM abx.http_keys(t.settings, 'spec.settings', ARRAY['from', 'to', 'username']);
        IF coalesce(t.settings ->> 'from', '') !~ '^[^\s<>@,;]+@[^\s<>@,;]+$' THEN
            RAISE EXCEPTION 'invalid spec.settings.from: must be an email address' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(t.settings -> 'to') IS DISTINCT FROM 'array' OR jsonb_array_length(t.settings -> 'to') NOT BETWEEN 1 AND 50
           OR EXISTS (SELECT FROM jsonb_array_elements(t.settings -> 'to') x
                       WHERE jsonb_typeof(x) <> 'string' OR x #>> '{}' !~ '^[^\s<>@,;]+@[^\s<>@,;]+$') THEN
            RAISE EXCEPTION 'invalid spec.settings.to: must be an array of 1 to 50 email addresses' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSIF t.settings <> '{}' THEN
        RAISE EXCEPTION 'invalid spec.settings: only email targets take settings' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v := abx.http_field(spec, 'spec', 'enabled', 'boolean');
    t.enabled := coalesce(v::boolean, t.enabled);
    RETURN t;
END
$$;

-- Creates a target of the session's organization (experiments:admin). A webhook without a
-- secret gets a generated one; the secret is returned here once and never shown again.
CREATE FUNCTION abx.create_delivery_target(spec jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    t abx.delivery_targets;
    generated boolean := false;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.create_delivery_target', false);
    t := abx.delivery_target_checked(spec);
    IF t.kind = 'webhook' AND t.secret IS NULL THEN
        t.secret := 'whsec_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
        generated := true;
    END IF;
    INSERT INTO abx.delivery_targets AS d (organization_id, name, kind, url, secret, event_types, settings,
                                           enabled, created_at, created_by, updated_at, updated_by)
    VALUES (abx.session_organization_id(), t.name, t.kind, t.url, t.secret, t.event_types, t.settings,
            t.enabled, abx.now(), session_user, abx.now(), session_user)
    RETURNING d.* INTO t;
    PERFORM abx.audit_append('delivery_target.create', 'delivery_target:' || t.id, t.organization_id, NULL,
                             jsonb_build_object('after', abx.delivery_target_doc(t.id)));
    RETURN abx.delivery_target_doc(t.id)
           || CASE WHEN generated THEN jsonb_build_object('secret', t.secret) ELSE '{}' END;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'delivery target "%" already exists', t.name USING ERRCODE = 'unique_violation';
END
$$;

-- The target `name` of the session's organization, locked (P0002 when there is none).
CREATE FUNCTION abx.delivery_target_for_update(name text) RETURNS abx.delivery_targets
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t abx.delivery_targets;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO t FROM abx.delivery_targets d
     WHERE d.name = delivery_target_for_update.name
       AND d.organization_id IS NOT DISTINCT FROM abx.session_organization_id() FOR UPDATE;
    IF t.id IS NULL THEN
        RAISE EXCEPTION 'delivery target "%" does not exist', name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN t;
END
$$;

CREATE FUNCTION abx.update_delivery_target(name text, patch jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    before abx.delivery_targets;
    t abx.delivery_targets;
    shown jsonb;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.update_delivery_target', false);
    IF patch IS NULL THEN
        RAISE EXCEPTION 'patch must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    before := abx.delivery_target_for_update(name);
    shown := abx.delivery_target_doc(before.id);
    t := abx.delivery_target_checked(patch, before);
    UPDATE abx.delivery_targets d
       SET url = t.url, secret = t.secret, event_types = t.event_types, settings = t.settings,
           enabled = t.enabled, updated_at = abx.now(), updated_by = session_user
     WHERE d.id = before.id RETURNING d.* INTO t;
    PERFORM abx.audit_append('delivery_target.update', 'delivery_target:' || t.id, t.organization_id, NULL,
                             jsonb_build_object('before', shown, 'after', abx.delivery_target_doc(t.id)));
    RETURN abx.delivery_target_doc(t.id);
END
$$;

-- Deletes a target with its deliveries; outbox rows left with nothing to deliver are done.
CREATE FUNCTION abx.delete_delivery_target(name text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    t abx.delivery_targets;
    touched bigint[];
    shown jsonb;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.delete_delivery_target', false);
    t := abx.delivery_target_for_update(name);
    shown := abx.delivery_target_doc(t.id);
    touched := ARRAY(SELECT DISTINCT d.outbox_id FROM abx.deliveries d WHERE d.target_id = t.id AND d.status = 'pending');
    DELETE FROM abx.delivery_targets d WHERE d.id = t.id;
    UPDATE abx.outbox o SET delivered_at = abx.delivery_now()
     WHERE o.id = ANY (touched) AND o.delivered_at IS NULL
       AND NOT EXISTS (SELECT FROM abx.deliveries d WHERE d.outbox_id = o.id AND d.status = 'pending');
    PERFORM abx.audit_append('delivery_target.delete', 'delivery_target:' || t.id, t.organization_id, NULL,
                             jsonb_build_object('before', shown));
    RETURN shown;
END
$$;

CREATE FUNCTION abx.delivery_targets() RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.delivery_targets', false);
    RETURN (SELECT coalesce(jsonb_agg(abx.delivery_target_doc(t.id) ORDER BY t.name), '[]')
              FROM abx.delivery_targets t
             WHERE t.organization_id IS NOT DISTINCT FROM abx.session_organization_id());
END
$$;

-- A delivery as operators see it.
CREATE FUNCTION abx.delivery_doc(delivery_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    doc jsonb;
BEGIN
    IF delivery_id IS NULL THEN
        RAISE EXCEPTION 'delivery_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT jsonb_build_object(
        'id', d.id, 'event_id', d.outbox_id, 'event_type', o.type, 'level', o.level,
        'target', t.name, 'kind', t.kind,
        'experiment', (SELECT e.code FROM abx.experiments e WHERE e.id = d.experiment_id),
        'status', d.status, 'attempts', d.attempts, 'created_at', d.created_at,
        'first_attempt_at', d.first_attempt_at, 'last_attempt_at', d.last_attempt_at,
        'last_attempt_by', d.leased_by, 'next_attempt_at', CASE WHEN d.status = 'pending' THEN d.next_attempt_at END,
        'last_http_status', d.last_http_status, 'last_error', d.last_error, 'finished_at', d.finished_at)
      INTO doc
      FROM abx.deliveries d JOIN abx.outbox o ON o.id = d.outbox_id JOIN abx.delivery_targets t ON t.id = d.target_id
     WHERE d.id = delivery_id;
    RETURN doc;
END
$$;

-- The session organization's deliveries, newest first: all, or those of one status (dead: the
-- dead letters), at most max_rows (1 to 1000).
CREATE FUNCTION abx.deliveries(status text DEFAULT NULL, max_rows integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.deliveries', false);
    IF status NOT IN ('pending', 'delivered', 'dead', 'discarded') THEN
        RAISE EXCEPTION 'invalid status: must be pending, delivered, dead or discarded' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid max_rows: must be an integer from 1 to 1000' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(abx.delivery_doc(d.id) ORDER BY d.id DESC), '[]')
              FROM (SELECT * FROM abx.deliveries d
                     WHERE d.organization_id IS NOT DISTINCT FROM abx.session_organization_id()
                       AND (deliveries.status IS NULL OR d.status = deliveries.status)
                     ORDER BY d.id DESC LIMIT max_rows) d);
END
$$;

-- Marks the events of these outbox ids delivered once none of their deliveries is pending.
CREATE FUNCTION abx.outbox_settle(ids bigint[], at timestamptz) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF ids IS NULL OR at IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN ids IS NULL THEN 'ids' ELSE 'at' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE abx.outbox o SET delivered_at = CASE WHEN EXISTS (SELECT FROM abx.deliveries d
                                                              WHERE d.outbox_id = o.id AND d.status = 'pending')
                                                THEN NULL ELSE coalesce(o.delivered_at, at) END
     WHERE o.id = ANY (ids);
END
$$;

-- An operator's decision on a dead letter (or a pending delivery): retry sends it again now,
-- with a new 24 h of retries; discard gives it up (readiness stops counting it).
CREATE FUNCTION abx.retry_delivery(delivery_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    d abx.deliveries;
    clock timestamptz := abx.delivery_now();
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.retry_delivery', false);
    IF delivery_id IS NULL THEN
        RAISE EXCEPTION 'delivery_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO d FROM abx.deliveries x WHERE x.id = delivery_id
       AND x.organization_id IS NOT DISTINCT FROM abx.session_organization_id() FOR UPDATE;
    IF d.id IS NULL THEN
        RAISE EXCEPTION 'delivery % does not exist', delivery_id USING ERRCODE = 'no_data_found';
    ELSIF d.status = 'delivered' THEN
        RAISE EXCEPTION 'delivery % was delivered already', delivery_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE abx.deliveries x SET status = 'pending', next_attempt_at = clock, first_attempt_at = NULL,
                                leased_until = NULL, finished_at = NULL
     WHERE x.id = d.id RETURNING x.* INTO d;
    PERFORM abx.outbox_settle(ARRAY[d.outbox_id], clock);
    PERFORM abx.audit_append('delivery.retry', 'delivery:' || d.id, d.organization_id, d.experiment_id,
                             jsonb_build_object('after', abx.delivery_doc(d.id)));
    PERFORM pg_notify('abx_outbox', json_build_object('id', d.outbox_id, 'type', 'delivery.retry')::text);
    RETURN abx.delivery_doc(d.id);
END
$$;

CREATE FUNCTION abx.discard_delivery(delivery_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    d abx.deliveries;
    clock timestamptz := abx.delivery_now();
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.discard_delivery', false);
    IF delivery_id IS NULL THEN
        RAISE EXCEPTION 'delivery_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO d FROM abx.deliveries x WHERE x.id = delivery_id
       AND x.organization_id IS NOT DISTINCT FROM abx.session_organization_id() FOR UPDATE;
    IF d.id IS NULL THEN
        RAISE EXCEPTION 'delivery % does not exist', delivery_id USING ERRCODE = 'no_data_found';
    ELSIF d.status IN ('delivered', 'discarded') THEN
        RAISE EXCEPTION 'delivery % is % already', delivery_id, d.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE abx.deliveries x SET status = 'discarded', finished_at = clock, leased_until = NULL
     WHERE x.id = d.id RETURNING x.* INTO d;
    PERFORM abx.outbox_settle(ARRAY[d.outbox_id], clock);
    PERFORM abx.audit_append('delivery.discard', 'delivery:' || d.id, d.organization_id, d.experiment_id,
                             jsonb_build_object('after', abx.delivery_doc(d.id)));
    RETURN abx.delivery_doc(d.id);
END
$$;

-- The deliverer's claim (abx_gateway): up to max_rows due deliveries, each the oldest pending one
-- of its target and experiment (so they arrive in outbox order), leased for lease_seconds. Rows
-- another deliverer holds are skipped, so any number of gateways may deliver. Each comes with
-- its event and its target (secret included: the deliverer signs with it).
CREATE FUNCTION abx.claim_deliveries(worker text, max_rows integer, lease_seconds integer) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS
$$
DECLARE
    clock timestamptz := abx.delivery_now();
    claimed jsonb;
BEGIN
    IF worker IS NULL OR max_rows IS NULL OR lease_seconds IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN worker IS NULL THEN 'worker' WHEN max_rows IS NULL THEN 'max_rows' ELSE 'lease_seconds' END
            USING ERRCODE = 'null_value_not_allowed';
    ELSIF max_rows NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid max_rows: must be an integer from 1 to 1000' USING ERRCODE = 'numeric_value_out_of_range';
    ELSIF lease_seconds NOT BETWEEN 1 AND 3600 THEN
        RAISE EXCEPTION 'invalid lease_seconds: must be an integer from 1 to 3600' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    -- The heads (oldest pending delivery of each target and experiment) that are due, picked in
    -- one pass over the pending index, then locked by id: a semi-join of the deliveries with
    -- their heads let the planner choose a nested loop over the whole backlog, quadratic while
    -- the table's statistics lag behind a fresh backlog (an outage, just when it matters).
    WITH heads AS (
        SELECT DISTINCT ON (d.target_id, d.experiment_id) d.id, d.target_id, d.next_attempt_at,
                                                          d.leased_until
          FROM abx.deliveries d WHERE d.status = 'pending'
         ORDER BY d.target_id, d.experiment_id, d.outbox_id, d.id),
    picked AS (
        SELECT h.id FROM heads h
         WHERE h.next_attempt_at <= clock AND (h.leased_until IS NULL OR h.leased_until <= clock)
           -- A disabled target's deliveries wait (in order) until it is enabled again.
           AND EXISTS (SELECT FROM abx.delivery_targets t WHERE t.id = h.target_id AND t.enabled)
         ORDER BY h.next_attempt_at, h.id LIMIT max_rows),
    due AS (
        -- The conditions on d are checked again on the locked row's latest version.
        SELECT d.id FROM abx.deliveries d
         WHERE d.id = ANY (ARRAY(SELECT p.id FROM picked p)) AND d.status = 'pending'
           AND d.next_attempt_at <= clock AND (d.leased_until IS NULL OR d.leased_until <= clock)
         ORDER BY d.next_attempt_at, d.id
           FOR UPDATE SKIP LOCKED),
    leased AS (
        UPDATE abx.deliveries d
           SET attempts = d.attempts + 1, leased_until = clock + make_interval(secs => lease_seconds),
               leased_by = worker, first_attempt_at = coalesce(d.first_attempt_at, clock), last_attempt_at = clock
          FROM due WHERE d.id = due.id
        RETURNING d.*)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'delivery_id', l.id, 'attempt', l.attempts,
               'event', jsonb_build_object(
                   'id', o.id, 'type', o.type, 'level', o.level,
                   'created_at', to_char(o.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'organization', (SELECT g.key FROM abx.organizations g WHERE g.id = o.organization_id),
                   'experiment', (SELECT e.code FROM abx.experiments e WHERE e.id = o.experiment_id),
                   'data', o.payload),
               'target', jsonb_build_object('id', t.id, 'name', t.name, 'kind', t.kind, 'url', t.url,
                                            'secret', t.secret, 'settings', t.settings))
               ORDER BY l.next_attempt_at, l.id), '[]')
      INTO claimed
      FROM leased l JOIN abx.outbox o ON o.id = l.outbox_id JOIN abx.delivery_targets t ON t.id = l.target_id;
    RETURN claimed;
END
$$;

-- The deliverer's report of attempt `attempt` (abx_gateway): delivered; failed (retried with
-- backoff, dead after 24 h); or refused (never sent: an address the SSRF rule forbids, a URL it
-- cannot use; dead at once, an operator fixes the target and retries). A report of an attempt
-- whose lease another deliverer has since taken is ignored (returns false).
CREATE FUNCTION abx.report_delivery(delivery_id bigint, attempt integer, outcome text,
                                    http_status integer DEFAULT NULL, error text DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    d abx.deliveries;
    clock timestamptz := abx.delivery_now();
    retry_at timestamptz;
BEGIN
    IF delivery_id IS NULL OR attempt IS NULL OR outcome IS NULL THEN
        RAISE EXCEPTION '% must not be null',
            CASE WHEN delivery_id IS NULL THEN 'delivery_id' WHEN attempt IS NULL THEN 'attempt' ELSE 'outcome' END
            USING ERRCODE = 'null_value_not_allowed';
    ELSIF outcome NOT IN ('delivered', 'failed', 'refused') THEN
        RAISE EXCEPTION 'invalid outcome: must be delivered, failed or refused' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO d FROM abx.deliveries x WHERE x.id = delivery_id FOR UPDATE;
    IF d.id IS NULL OR d.status <> 'pending' OR d.attempts <> attempt THEN
        RETURN false;
    END IF;
    IF outcome = 'failed' THEN
        retry_at := abx.delivery_retry_at(d.attempts, d.first_attempt_at, clock);
    END IF;
    UPDATE abx.deliveries x
       SET status = CASE WHEN outcome = 'delivered' THEN 'delivered' WHEN retry_at IS NULL THEN 'dead' ELSE 'pending' END,
           next_attempt_at = coalesce(retry_at, x.next_attempt_at),
           finished_at = CASE WHEN retry_at IS NULL THEN clock END,
           leased_until = NULL, last_http_status = http_status,
           last_error = CASE WHEN outcome = 'delivered' THEN NULL ELSE left(coalesce(error, 'failed'), 1000) END
     WHERE x.id = d.id;
    PERFORM abx.outbox_settle(ARRAY[d.outbox_id], clock);
    RETURN true;
END
$$;
