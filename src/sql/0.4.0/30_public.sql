
-- ---------------------------------------------------------------------------------------------
-- Seed 004, public API: assignment, events, winner (by experiment code).
-- ---------------------------------------------------------------------------------------------

-- Seed 004's winner snapshot: the winner fields the hourly evaluation stored on the experiment
-- (the organization's own, else the global one, as abx.winner finds it) and the promoted variant.
CREATE FUNCTION abx.http_winner_snapshot(experiment text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    org bigint;
    snapshot jsonb;
BEGIN
    PERFORM abx.require_right('experiments:winner:read', 'abx.http_winner_snapshot', false);
    IF experiment IS NULL THEN
        RAISE EXCEPTION 'experiment must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    org := abx.session_organization_id();
    SELECT jsonb_build_object('experimentCode', e.code, 'status', e.status,
                              'winnerVariantKey', e.winner_variant, 'winnerDecidedAt', e.winner_decided_at,
                              'winnerReason', e.winner_reason, 'promotedVariantKey', v.key)
      INTO snapshot
      FROM abx.experiments e LEFT JOIN abx.variants v ON v.id = e.promoted_variant_id
     WHERE e.code = experiment AND (e.organization_id = org OR e.organization_id IS NULL)
     ORDER BY e.organization_id NULLS LAST LIMIT 1;
    IF snapshot IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', experiment USING ERRCODE = 'no_data_found';
    END IF;
    RETURN snapshot;
END
$$;

-- GET /api/experiments/:code/assignment?subjectId=... (experiments:assign; a GET that writes the
-- sticky assignment). The other query parameters (but orgId, the gateway's) are the targeting
-- context, as text (numeric operators accept numeric text).
CREATE FUNCTION abx.http_assignment(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    subject text;
    a record;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:assign', 'abx.http_assignment');
    code := abx.http_field(path, 'path', 'code', 'string', true) #>> '{}';
    subject := abx.http_field(query, 'query', 'subjectId', 'string', true) #>> '{}';
    IF octet_length(subject) NOT BETWEEN 1 AND 256 THEN
        RAISE EXCEPTION 'invalid query.subjectId: must be 1 to 256 bytes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO a FROM abx.assign(code, subject, query - 'subjectId' - 'orgId');
    RETURN jsonb_build_object('experimentCode', code, 'subjectId', subject, 'variantKey', a.variant,
                              'config', a.config, 'isNew', a.is_new, 'reason', a.reason,
                              'winner', abx.http_winner_snapshot(code));
END
$$;

-- abx.track_batch's message of one item, naming the field as the request did: events[3].event
-- of the batch is body.events[5].eventKey of the request.
CREATE FUNCTION abx.http_event_message(message text, prefix text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    m text[];
BEGIN
    IF message IS NULL OR prefix IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN message IS NULL THEN 'message' ELSE 'prefix' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    m := regexp_match(message, '^(invalid )?events\[[0-9]+\](\.[a-z_]+)?((?::| must not be null).*)$', 's');
    IF m IS NULL THEN
        RETURN message;
    END IF;
    RETURN coalesce(m[1], '') || prefix
           || coalesce(CASE m[2] WHEN '.event' THEN '.eventKey' WHEN '.subject' THEN '.subjectId'
                                 WHEN '.idempotency_key' THEN '.idempotencyKey' ELSE m[2] END, '')
           || m[3];
END
$$;

-- POST /api/experiments/:code/events (experiments:events:write): one event {eventKey, value, ts,
-- meta, subjectId, idempotencyKey} or {events: [...]}; subjectId defaults to query.subjectId.
-- Stored with abx.track_batch: every event gets a result (stored, duplicate, or error with its
-- SQLSTATE and message) and the valid ones are stored. A single event's error is raised instead.
CREATE FUNCTION abx.http_events(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    allowed constant text[] := ARRAY['eventKey', 'value', 'ts', 'meta', 'subjectId', 'idempotencyKey'];
    code text;
    default_subject text;
    single boolean;
    events jsonb;
    e jsonb;
    prefix text;
    unknown text;
    subject jsonb;
    failure text[];
    batch jsonb[] := '{}';
    origin integer[] := '{}';
    results jsonb[] := '{}';
    r record;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:events:write', 'abx.http_events');
    code := abx.http_field(path, 'path', 'code', 'string', true) #>> '{}';
    default_subject := abx.http_field(query, 'query', 'subjectId', 'string') #>> '{}';
    PERFORM abx.http_keys(query, 'query', ARRAY['subjectId', 'orgId']);
    IF jsonb_typeof(body) = 'null' THEN
        RAISE EXCEPTION 'body must not be null: send an event or {"events": [...]}' USING ERRCODE = 'null_value_not_allowed';
    ELSIF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'invalid body: must be a JSON object (an event or {"events": [...]})'
            USING ERRCODE = 'invalid_text_representation';
    END IF;
    single := NOT body ? 'events';
    IF single THEN
        events := jsonb_build_array(body);
    ELSE
        PERFORM abx.http_keys(body, 'body', ARRAY['events']);
        events := abx.http_field(body, 'body', 'events', 'array', true);
        IF jsonb_array_length(events) > 50000 THEN
            RAISE EXCEPTION 'invalid body.events: at most 50000 events per request' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    -- The request's own fields are checked here, per event; abx.track_batch checks the values.
    FOR i IN 0 .. jsonb_array_length(events) - 1 LOOP
        e := events -> i;
        prefix := CASE WHEN single THEN 'body' ELSE 'body.events[' || i || ']' END;
        failure := NULL;
        subject := CASE WHEN jsonb_typeof(e) = 'object' AND e ? 'subjectId' THEN e -> 'subjectId'
                        ELSE to_jsonb(default_subject) END;
        IF jsonb_typeof(e) <> 'object' THEN
            failure := ARRAY['22P02', 'invalid ' || prefix || ': must be a JSON object'];
        ELSE
            SELECT k INTO unknown FROM jsonb_object_keys(e) k WHERE k <> ALL (allowed) ORDER BY k LIMIT 1;
            IF unknown IS NOT NULL THEN
                failure := ARRAY['22023', format('invalid %s.%s: unknown field (allowed: %s)', prefix, unknown,
                                                 array_to_string(allowed, ', '))];
            ELSIF NOT e ? 'eventKey' THEN
                failure := ARRAY['22023', 'invalid ' || prefix || '.eventKey: is required'];
            ELSIF jsonb_typeof(e -> 'eventKey') = 'null' THEN
                failure := ARRAY['22004', prefix || '.eventKey must not be null'];
            ELSIF jsonb_typeof(e -> 'eventKey') <> 'string' THEN
                failure := ARRAY['22P02', 'invalid ' || prefix || '.eventKey: must be a string'];
            ELSIF subject IS NULL THEN
                failure := ARRAY['22023', 'invalid ' || prefix || '.subjectId: is required (or query.subjectId)'];
            ELSIF jsonb_typeof(subject) = 'null' THEN
                failure := ARRAY['22004', prefix || '.subjectId must not be null'];
            ELSIF jsonb_typeof(subject) <> 'string' THEN
                failure := ARRAY['22P02', 'invalid ' || prefix || '.subjectId: must be a string'];
            END IF;
        END IF;
        IF failure IS NULL THEN
            batch := batch || (jsonb_build_object('experiment', code, 'subject', subject, 'event', e -> 'eventKey')
                               || jsonb_strip_nulls(jsonb_build_object('idempotency_key', e -> 'idempotencyKey'))
                               || (e - ARRAY['eventKey', 'subjectId', 'idempotencyKey']));
            origin := origin || i;
        ELSIF single THEN
            RAISE EXCEPTION USING ERRCODE = failure[1], MESSAGE = failure[2];
        ELSE
            results := results || jsonb_build_object('index', i, 'status', 'error',
                                                     'error', jsonb_build_object('code', failure[1], 'message', failure[2]));
        END IF;
    END LOOP;
    FOR r IN SELECT * FROM abx.track_batch(to_jsonb(batch)) ORDER BY item LOOP
        prefix := CASE WHEN single THEN 'body' ELSE 'body.events[' || origin[r.item + 1] || ']' END;
        IF r.status = 'error' AND single THEN
            RAISE EXCEPTION USING ERRCODE = r.error_code, MESSAGE = abx.http_event_message(r.error_message, prefix);
        END IF;
        results := results || CASE WHEN r.status = 'error'
            THEN jsonb_build_object('index', origin[r.item + 1], 'status', 'error', 'error',
                                    jsonb_build_object('code', r.error_code,
                                                       'message', abx.http_event_message(r.error_message, prefix)))
            ELSE jsonb_build_object('index', origin[r.item + 1], 'status', r.status, 'eventId', r.event_id,
                                    'variantKey', r.variant) END;
    END LOOP;
    RETURN (SELECT jsonb_build_object(
                'experimentCode', code,
                'stored', count(*) FILTER (WHERE x ->> 'status' = 'stored'),
                'duplicates', count(*) FILTER (WHERE x ->> 'status' = 'duplicate'),
                'failed', count(*) FILTER (WHERE x ->> 'status' = 'error'),
                'results', coalesce(jsonb_agg(x ORDER BY (x ->> 'index')::integer), '[]'))
              FROM unnest(results) x);
END
$$;

-- GET /api/experiments/:code/winner (experiments:winner:read): the stored snapshot, and the
-- winner the policy would pick now (candidateVariantKey) with whether it is eligible.
CREATE FUNCTION abx.http_winner(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    code text;
    now_winner jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'experiments:winner:read', 'abx.http_winner', ARRAY['orgId']);
    code := abx.http_field(path, 'path', 'code', 'string', true) #>> '{}';
    now_winner := abx.winner(code);
    RETURN abx.http_winner_snapshot(code)
           || jsonb_build_object('candidateVariantKey', now_winner -> 'winner', 'eligible', now_winner -> 'eligible');
END
$$;
