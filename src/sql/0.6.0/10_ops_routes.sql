
-- ---------------------------------------------------------------------------------------------
-- The ops page's routes: who the caller is (GET /api/me), the lifecycle transitions, approvals,
-- the audit log and its verification, job runs, and the experiment list's filters. Each is one
-- row of src/http/routes.cpp (docs/http-api.md).
-- ---------------------------------------------------------------------------------------------

-- The audit route reads one organization's entries newest first, and the refusals (few, and
-- without organization) on their own: without this index outcome=denied scans every entry.
CREATE INDEX audit_log_organization ON abx.audit_log (organization_id, seq);
CREATE INDEX audit_log_denied ON abx.audit_log (organization_id, seq) WHERE outcome = 'denied';

CREATE FUNCTION abx.session_access() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_session_access' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.session_access() IS
    'The calling role, its JWT subject, the organization the call acts for (none for a bound role naming none) and every right it holds, as the gates decide them.';

-- A manual approval may say why (recorded with the approval and in the promotion's audit entry).
DROP FUNCTION abx.approve(text, text);
CREATE FUNCTION abx.approve(experiment text, organization text DEFAULT NULL, reason text DEFAULT NULL)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'abx_approve' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.approve(text, text, text) IS
    'Approves the pending promotion request of an experiment: promotes its winner; the reason is kept with the approval.';

-- GET /api/me (no right: any working role, so the page can refuse tokens that cannot use it).
-- organizations: those the role may act for, for the page's switcher (x-org-id): its
-- memberships and the organization of the call (a JWT's org claim needs no membership); a
-- superuser gets all of them. A platform ops admin gets its memberships only: abx.organization
-- naming any other is refused (docs/security.md §3), so the switcher must not offer it.
CREATE FUNCTION abx.http_me(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    me jsonb;
    everything boolean;
BEGIN
    PERFORM abx.http_args(path, query, body, NULL, NULL, ARRAY['orgId']);
    me := abx.session_access();
    everything := (me ->> 'superuser')::boolean;
    RETURN jsonb_build_object('role', me -> 'role', 'subject', me -> 'subject',
        'organization', me -> 'organization',
        'organizations', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', o.key, 'name', o.name) ORDER BY o.key), '[]')
                            FROM abx.organizations o
                           WHERE everything OR o.key = me ->> 'organization'
                              OR EXISTS (SELECT FROM abx.organization_members m
                                           JOIN pg_catalog.pg_roles r ON r.rolname = m.role_name
                                          WHERE m.organization_id = o.id
                                            AND pg_catalog.pg_has_role(me ->> 'role', r.oid, 'USAGE'))),
        'rights', me -> 'rights', 'superuser', me -> 'superuser');
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Lifecycle: each answers the experiment document as GET /api/experiments/:id does. A transition
-- the lifecycle forbids is abx's 55000.
-- ---------------------------------------------------------------------------------------------

-- POST /api/experiments/:id/pause (experiments:lifecycle)
CREATE FUNCTION abx.http_pause(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.pause(
        abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_pause', ARRAY['orgId'], 'id')));
END
$$;

-- POST /api/experiments/:id/resume (experiments:lifecycle)
CREATE FUNCTION abx.http_resume(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.resume(
        abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_resume', ARRAY['orgId'], 'id')));
END
$$;

-- POST /api/experiments/:id/complete (experiments:lifecycle)
CREATE FUNCTION abx.http_complete(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.complete(
        abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_complete', ARRAY['orgId'], 'id')));
END
$$;

-- POST /api/experiments/:id/archive (experiments:admin)
CREATE FUNCTION abx.http_archive(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN abx.http_seed002_doc(abx.archive(
        abx.http_args(path, query, body, 'experiments:admin', 'abx.http_archive', ARRAY['orgId'], 'id')));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Seed 001's manual approval, in its {success, data, message} envelope.
-- ---------------------------------------------------------------------------------------------

-- The body's reason: optional for an approval, required (and not blank) for a rejection.
CREATE FUNCTION abx.http_reason(body jsonb, required boolean) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    reason text;
BEGIN
    IF body IS NULL OR required IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN body IS NULL THEN 'body' ELSE 'required' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(body) = 'null' THEN
        IF required THEN
            RAISE EXCEPTION 'invalid body.reason: is required' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN NULL;
    END IF;
    PERFORM abx.http_keys(body, 'body', ARRAY['reason']);
    reason := abx.http_field(body, 'body', 'reason', 'string', required) #>> '{}';
    IF required AND btrim(reason) = '' THEN
        RAISE EXCEPTION 'invalid body.reason: must not be empty' USING ERRCODE = 'invalid_parameter_value';
    ELSIF length(reason) > 1000 THEN
        RAISE EXCEPTION 'invalid body.reason: at most 1000 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN nullif(btrim(reason), '');
END
$$;

-- POST /api/monitoring/experiments/:name/approve (experiments:lifecycle): {reason?}; promotes the
-- pending request's winner (P0002 without a pending request).
CREATE FUNCTION abx.http_approve(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    code text;
    reason text;
    done jsonb;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_approve', ARRAY['orgId'], 'name');
    reason := abx.http_reason(body, false);
    done := abx.approve(code, NULL, reason);
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'experimentName', path ->> 'name', 'approvalId', done -> 'approval', 'promotionId', done -> 'promotion',
        'promotedVariantName', done -> 'winner', 'approvedBy', done -> 'promoted_by', 'approvedAt', abx.now(),
        'reason', reason, 'warnings', done -> 'warnings'),
        'message', format('Approved: variant %s promoted to production', done ->> 'winner'));
END
$$;

-- POST /api/monitoring/experiments/:name/reject (experiments:lifecycle): {reason}, required.
CREATE FUNCTION abx.http_reject(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    code text;
    reason text;
    done jsonb;
BEGIN
    code := abx.http_args(path, query, body, 'experiments:lifecycle', 'abx.http_reject', ARRAY['orgId'], 'name');
    reason := abx.http_reason(body, true);
    done := abx.reject(code, reason);
    RETURN jsonb_build_object('success', true, 'data', jsonb_build_object(
        'experimentName', path ->> 'name', 'approvalId', done -> 'approval', 'rejectedVariantName', done -> 'winner',
        'rejectedBy', done -> 'rejected_by', 'rejectedAt', abx.now(), 'reason', reason),
        'message', format('Rejected the promotion of variant %s', done ->> 'winner'));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The audit log (audit:read), as the session sees it (docs/security.md): acting for an
-- organization, its entries; without one, the entries without organization; a superuser
-- without one, all. Newest first, paged by seq (before), on the primary key or on
-- (organization_id, seq) / (experiment_id, seq).
-- ---------------------------------------------------------------------------------------------

-- GET /api/audit?experiment=&actor=&action=&outcome=&from=&to=&before=&limit=
-- The statement is built from the filters given, so that each plan uses the index that fits.
CREATE FUNCTION abx.http_audit(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    org bigint;
    q_experiment text;
    q_ids bigint[];
    q_actor text;
    q_action text;
    q_outcome text;
    q_from timestamptz;
    q_to timestamptz;
    q_before bigint;
    lim integer;
    filters text := '';
    entries jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'audit:read', 'abx.http_audit',
        ARRAY['experiment', 'actor', 'action', 'outcome', 'from', 'to', 'before', 'limit', 'orgId']);
    q_experiment := nullif(abx.http_field(query, 'query', 'experiment', 'string') #>> '{}', '');
    q_actor := nullif(abx.http_field(query, 'query', 'actor', 'string') #>> '{}', '');
    q_action := nullif(abx.http_field(query, 'query', 'action', 'string') #>> '{}', '');
    q_outcome := nullif(abx.http_field(query, 'query', 'outcome', 'string') #>> '{}', '');
    IF q_outcome NOT IN ('ok', 'denied') THEN
        RAISE EXCEPTION 'invalid query.outcome: must be ok or denied' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    q_from := abx.http_timestamp(query, 'query', 'from');
    q_to := abx.http_timestamp(query, 'query', 'to');
    q_before := abx.http_number(query, 'query', 'before', 1, 9007199254740991)::bigint;
    lim := coalesce(abx.http_number(query, 'query', 'limit', 1, 1000), 100)::integer;
    org := abx.session_organization_id();
    -- The audit log's visibility (abx.organization_visible): the organization's entries, or
    -- those without organization; a superuser without organization sees them all.
    IF org IS NOT NULL THEN
        filters := ' AND l.organization_id = $1';
    ELSIF NOT (abx.session_access() ->> 'superuser')::boolean THEN
        filters := ' AND l.organization_id IS NULL';
    END IF;
    IF q_experiment IS NOT NULL THEN
        -- Every experiment of that code or id the session sees (a global one and its own may
        -- share a code); none: an empty page, as for any filter that matches nothing.
        SELECT coalesce(array_agg(e.id), '{}') INTO q_ids FROM abx.experiments e
         WHERE (e.code = q_experiment OR (q_experiment ~ '^[0-9]{1,18}$' AND e.id = q_experiment::bigint))
           AND abx.organization_visible(e.organization_id);
        filters := filters || ' AND l.experiment_id = ANY ($2)';
    END IF;
    IF q_actor IS NOT NULL THEN
        filters := filters || ' AND (l.actor = $3 OR l.jwt_subject = $3)';
    END IF;
    IF q_action IS NOT NULL THEN
        filters := filters || ' AND starts_with(l.action, $4)';
    END IF;
    IF q_outcome IS NOT NULL THEN
        filters := filters || ' AND l.outcome = $5';
    END IF;
    IF q_from IS NOT NULL THEN
        filters := filters || ' AND l.at >= $6';
    END IF;
    IF q_to IS NOT NULL THEN
        filters := filters || ' AND l.at < $7';
    END IF;
    IF q_before IS NOT NULL THEN
        filters := filters || ' AND l.seq < $8';
    END IF;
    -- One more than the page is read: when it exists, the page's last seq pages on.
    EXECUTE 'SELECT coalesce(jsonb_agg(jsonb_build_object(
                 ''seq'', a.seq, ''at'', a.at, ''actor'', a.actor, ''subject'', a.jwt_subject,
                 ''organization'', o.key, ''action'', a.action, ''target'', a.target, ''experiment'', e.code,
                 ''change'', a.change, ''outcome'', a.outcome, ''error_code'', a.error_code,
                 ''request_id'', a.request_id) ORDER BY a.seq DESC), ''[]'')
               FROM (SELECT * FROM abx.audit_log l WHERE true' || filters || '
                      ORDER BY l.seq DESC LIMIT $9) a
               LEFT JOIN abx.organizations o ON o.id = a.organization_id
               LEFT JOIN abx.experiments e ON e.id = a.experiment_id'
       INTO entries
      USING org, q_ids, q_actor, q_action, q_outcome, q_from, q_to, q_before, lim + 1;
    IF jsonb_array_length(entries) > lim THEN
        RETURN jsonb_build_object('entries', entries - lim, 'next_before', entries -> (lim - 1) -> 'seq');
    END IF;
    RETURN jsonb_build_object('entries', entries, 'next_before', NULL);
END
$$;

-- GET /api/audit/verify (audit:read): abx.verify_audit(), which refuses sessions acting for an
-- organization (the chain spans every organization).
CREATE FUNCTION abx.http_audit_verify(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org bigint;
    v jsonb;
    own boolean;
BEGIN
    PERFORM abx.http_args(path, query, body, 'audit:read', 'abx.http_audit_verify', ARRAY['orgId']);
    org := abx.session_organization_id();
    IF org IS NULL THEN
        RETURN (SELECT to_jsonb(x) FROM abx.verify_audit() x);
    END IF;
    -- One chain holds every organization's entries. A tenant's auditor is told whether it holds
    -- (its own entries are only as trustworthy as the whole chain), and where it breaks only when
    -- the broken entry is the tenant's own; the head and the other entries are not theirs to see.
    v := abx.as_owner('SELECT to_jsonb(x) FROM abx.verify_audit() x');
    own := EXISTS (SELECT 1 FROM abx.audit_log a WHERE a.seq = (v ->> 'broken_seq')::bigint AND a.organization_id = org);
    RETURN jsonb_build_object(
        'ok', v -> 'ok', 'scope', 'organization',
        'checked', (SELECT count(*) FROM abx.audit_log a WHERE a.organization_id = org),
        'broken_seq', CASE WHEN own THEN v -> 'broken_seq' END,
        'reason', CASE WHEN (v ->> 'ok')::boolean THEN NULL WHEN own THEN v -> 'reason'
                       ELSE to_jsonb('an entry of another organization or of the platform is broken; a platform auditor sees which'::text) END,
        'head_seq', NULL, 'head_hash', NULL);
END
$$;

-- ---------------------------------------------------------------------------------------------
-- GET /api/jobs?status=&limit= (meta:read): the scheduler's jobs and their runs, newest first.
-- Jobs are platform-wide: a session acting for an organization sees none (the tables' policy).
-- Intervals print as ISO 8601 durations (PT1H), whatever the session's IntervalStyle.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.http_jobs(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' SET IntervalStyle = 'iso_8601' AS
$$
DECLARE
    platform boolean;
    wanted text;
    lim integer;
    now_at timestamptz := abx.now();
BEGIN
    PERFORM abx.http_args(path, query, body, 'meta:read', 'abx.http_jobs', ARRAY['status', 'limit', 'orgId']);
    platform := abx.session_organization_id() IS NULL;
    wanted := nullif(abx.http_field(query, 'query', 'status', 'string') #>> '{}', '');
    IF wanted NOT IN ('failed', 'running', 'succeeded') THEN
        RAISE EXCEPTION 'invalid query.status: must be failed (failed, timeout or interrupted), running or succeeded'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    lim := coalesce(abx.http_number(query, 'query', 'limit', 1, 500), 50)::integer;
    RETURN jsonb_build_object(
        'jobs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'name', j.name, 'schedule_interval', j.schedule_interval, 'cron', j.cron,
                     'enabled', j.enabled, 'builtin', j.builtin,
                     'last_status', last.status, 'last_run_at', last.started_at,
                     'next_run_at', CASE WHEN j.enabled THEN j.next_run_at END,
                     'failures_24h', (SELECT count(*) FROM abx.job_runs f
                                       WHERE f.job_id = j.id AND f.started_at >= now_at - interval '24 hours'
                                         AND f.status IN ('failed', 'timeout', 'interrupted')))
                     ORDER BY j.name), '[]')
                   FROM abx.jobs j
                   LEFT JOIN LATERAL (SELECT r.status, r.started_at FROM abx.job_runs r WHERE r.job_id = j.id
                                       ORDER BY r.started_at DESC, r.id DESC LIMIT 1) last ON true
                  WHERE platform),
        'runs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'id', r.id, 'job', j.name, 'slot', r.slot, 'attempt', r.attempt, 'status', r.status,
                     'started_at', r.started_at, 'finished_at', r.finished_at, 'sqlstate', r.sqlstate,
                     'message', r.message, 'manual', r.manual) ORDER BY r.id DESC), '[]')
                   FROM (SELECT * FROM abx.job_runs r
                          WHERE platform
                            AND (wanted IS NULL
                                 OR (wanted = 'failed' AND r.status IN ('failed', 'timeout', 'interrupted'))
                                 OR r.status = wanted)
                          ORDER BY r.id DESC LIMIT lim) r
                   JOIN abx.jobs j ON j.id = r.job_id));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The experiment list (GET /api/experiments and /api/admin/experiments) with the page's filters:
-- status also active (running or paused), q searches code, name and description (any case);
-- each experiment also says its type (ab, bandit) and whether a winner is promoted. Without a
-- status, every status, as before.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION abx.http_experiment_list(query jsonb, function_name text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    wanted text;
    statuses text[];
    search text;
    lim double precision;
    skip double precision;
    total bigint;
    items jsonb;
BEGIN
    IF query IS NULL OR function_name IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN query IS NULL THEN 'query' ELSE 'function_name' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM abx.require_right('experiments:read', function_name, false);
    PERFORM abx.http_keys(query, 'query', ARRAY['status', 'q', 'limit', 'offset', 'orgId']);
    wanted := abx.http_field(query, 'query', 'status', 'string') #>> '{}';
    statuses := CASE wanted WHEN 'active' THEN ARRAY['running', 'paused'] ELSE ARRAY[wanted] END;
    IF wanted NOT IN ('active', 'draft', 'running', 'paused', 'completed', 'archived') THEN
        RAISE EXCEPTION 'invalid query.status: must be active (running or paused), draft, running, paused, completed or archived'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    search := nullif(btrim(abx.http_field(query, 'query', 'q', 'string') #>> '{}'), '');
    IF length(search) > 200 THEN
        RAISE EXCEPTION 'invalid query.q: at most 200 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A LIKE pattern matching the text anywhere, its wildcards taken literally.
    search := '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    lim := coalesce(abx.http_number(query, 'query', 'limit'), 100);
    skip := coalesce(abx.http_number(query, 'query', 'offset'), 0);
    IF lim <> trunc(lim) OR lim NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid query.limit: must be an integer from 1 to 1000' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    IF skip <> trunc(skip) OR skip NOT BETWEEN 0 AND 1e9 THEN
        RAISE EXCEPTION 'invalid query.offset: must be an integer from 0 to 1000000000' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    SELECT count(*) INTO total FROM abx.experiments e
     WHERE (e.organization_id IS NULL OR abx.organization_visible(e.organization_id))
       AND (wanted IS NULL OR e.status = ANY (statuses))
       AND (search IS NULL OR e.code ILIKE search OR e.name ILIKE search OR e.description ILIKE search);
    SELECT coalesce(jsonb_agg(x.doc ORDER BY x.id), '[]') INTO items FROM (
        SELECT e.id, jsonb_build_object(
                   'id', e.id, 'code', e.code, 'organization', o.key, 'name', e.name,
                   'description', e.description, 'status', e.status, 'kind', e.kind, 'type', e.kind,
                   'coverage', e.coverage, 'created_at', e.created_at, 'updated_at', e.updated_at,
                   'started_at', e.started_at, 'paused_at', e.paused_at, 'completed_at', e.completed_at,
                   'archived_at', e.archived_at,
                   'winner', jsonb_build_object('variant', e.winner_variant, 'decided_at', e.winner_decided_at,
                                                'reason', e.winner_reason),
                   'promoted_variant', (SELECT p.key FROM abx.variants p WHERE p.id = e.promoted_variant_id),
                   'promoted', e.promoted_variant_id IS NOT NULL,
                   'variants', (SELECT jsonb_agg(jsonb_build_object('key', v.key, 'name', v.name, 'weight', v.weight,
                                                                    'is_control', v.is_control) ORDER BY v.position)
                                  FROM abx.variants v WHERE v.experiment_id = e.id)) AS doc
          FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
         WHERE (e.organization_id IS NULL OR abx.organization_visible(e.organization_id))
           AND (wanted IS NULL OR e.status = ANY (statuses))
           AND (search IS NULL OR e.code ILIKE search OR e.name ILIKE search OR e.description ILIKE search)
         ORDER BY e.id LIMIT lim::integer OFFSET skip::bigint) x;
    RETURN jsonb_build_object('experiments', items, 'total', total, 'limit', lim::integer, 'offset', skip::bigint);
END
$$;
