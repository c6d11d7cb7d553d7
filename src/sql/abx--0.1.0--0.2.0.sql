-- abx 0.1.0 -> 0.2.0: hardening. Aggregation isolates each experiment and survives a restore or
-- logical replication; event partitions dump and restore cleanly; results expose the sequential
-- test's memory. A fresh install of 0.2.0 runs abx--0.1.0.sql and then this script.
\echo Use "ALTER EXTENSION abx UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- Aggregation state: which cluster the stored xid bound belongs to, and the last failure.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE abx.aggregation_state
    ADD COLUMN system_identifier  bigint,       -- pg_control_system() of the cluster of xid_done
    ADD COLUMN failures           bigint NOT NULL DEFAULT 0,  -- consecutive failed runs
    ADD COLUMN last_error_code    text,
    ADD COLUMN last_error_message text,
    ADD COLUMN last_error_at      timestamptz;
COMMENT ON COLUMN abx.aggregation_state.system_identifier IS
    'The cluster whose transaction ids xid_done counts in; a different one (restore into another cluster) makes the next run rebuild the experiment''s aggregates.';
-- Existing bounds were taken in this cluster.
UPDATE abx.aggregation_state
   SET system_identifier = (SELECT system_identifier FROM pg_catalog.pg_control_system());

DROP FUNCTION abx.aggregate(text, text);
CREATE FUNCTION abx.aggregate(experiment text DEFAULT NULL, organization text DEFAULT NULL)
    RETURNS TABLE (experiment_code text, organization_key text, status text, events bigint,
                   subjects bigint, assignments bigint, buckets bigint, events_total bigint,
                   runs bigint, error_code text, error_message text)
    AS 'MODULE_PATHNAME', 'abx_aggregate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.aggregate(text, text) IS
    'Folds the events of transactions finished since the last run into buckets, per-subject totals and per-variant statistics; one experiment, or all running, paused and completed ones, each in its own subtransaction: a failing experiment is reported (status error) and recorded, the others go on.';

-- ---------------------------------------------------------------------------------------------
-- Event partitions: the aggregation index lives on each partition, not on the partitioned table.
-- With an extension-owned partitioned index, pg_restore's ATTACH PARTITION created the
-- partition's index itself and then failed on the dumped CREATE INDEX ("already exists").
-- ---------------------------------------------------------------------------------------------
DROP INDEX abx.events_aggregation_window;
CREATE INDEX events_default_window ON abx.events_default (experiment_id, xid);
DO $$
DECLARE
    p regclass;
BEGIN
    FOR p IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
              WHERE i.inhparent = 'abx.events'::regclass AND i.inhrelid <> 'abx.events_default'::regclass
    LOOP
        EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (experiment_id, xid)',
                                  (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = p) || '_window', p);
    END LOOP;
END $$;

-- Identity sequences of the configuration tables: without them in the dump, the first insert
-- after a restore collides with a restored id.
SELECT pg_catalog.pg_extension_config_dump('abx.organizations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.experiments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abx.variants_id_seq', '');

-- ---------------------------------------------------------------------------------------------
-- Logical replication: rows applied on a subscriber carry the publisher's transaction ids, which
-- mean nothing to the subscriber's aggregation window. Applied rows are stamped with the local
-- transaction (the trigger fires only in replica mode, i.e. in apply workers).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION abx.stamp_local_xid() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    NEW.xid := pg_catalog.pg_current_xact_id();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION abx.stamp_local_xid() IS
    'Replica-mode trigger: rows applied by logical replication count in this cluster''s aggregation window.';
CREATE TRIGGER events_local_xid BEFORE INSERT ON abx.events
    FOR EACH ROW EXECUTE FUNCTION abx.stamp_local_xid();
ALTER TABLE abx.events ENABLE REPLICA TRIGGER events_local_xid;
CREATE TRIGGER assignments_local_xid BEFORE INSERT ON abx.assignments
    FOR EACH ROW EXECUTE FUNCTION abx.stamp_local_xid();
ALTER TABLE abx.assignments ENABLE REPLICA TRIGGER assignments_local_xid;

-- ---------------------------------------------------------------------------------------------
-- Results: the sequential test's number of looks, and a status per row.
-- ---------------------------------------------------------------------------------------------
DROP VIEW abx.running_results;
DROP FUNCTION abx.results(text, text);
CREATE FUNCTION abx.results(experiment text, organization text DEFAULT NULL)
    RETURNS TABLE (variant text, is_control boolean, metric text, kind text, role text,
                   n double precision, mean double precision, sd double precision,
                   mean_lower double precision, mean_upper double precision,
                   abs_lift double precision, abs_lift_lower double precision, abs_lift_upper double precision,
                   rel_lift double precision, rel_lift_lower double precision, rel_lift_upper double precision,
                   p_value double precision, p_value_holm double precision,
                   seq_p_value double precision, seq_lower double precision, seq_upper double precision,
                   seq_looks bigint,
                   chance_to_beat_control double precision, expected_loss double precision,
                   prob_best double precision, note text)
    AS 'MODULE_PATHNAME', 'abx_results' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.results(text, text) IS
    'Per variant and metric, every statistic as of the last abx.aggregate(); seq_looks counts the sequential test''s looks (one per aggregation run). A metric not yet aggregated under its current definition has NULL figures and a note.';

CREATE VIEW abx.running_results AS
SELECT e.code AS experiment, o.key AS organization, r.*
  FROM abx.experiments e
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
  CROSS JOIN LATERAL abx.results(e.code, o.key) r
 WHERE e.status = 'running';

-- ---------------------------------------------------------------------------------------------
-- Organizations: a NULL key is 22004 like every other NULL argument.
-- ---------------------------------------------------------------------------------------------
-- (abx.create_organization is replaced in the governance section below: it checks rights.)

-- ---------------------------------------------------------------------------------------------
-- Idempotency keys are scoped like subjects, per experiment and organization: organization B's
-- key of a global experiment no longer collides with organization A's.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE abx.event_idempotency ADD COLUMN organization_id bigint NOT NULL DEFAULT 0;
UPDATE abx.event_idempotency i SET organization_id = e.organization_id
  FROM abx.events e WHERE e.id = i.event_id AND e.organization_id <> 0;
ALTER TABLE abx.event_idempotency DROP CONSTRAINT event_idempotency_pkey,
    ADD PRIMARY KEY (experiment_id, organization_id, idempotency_key);

-- ---------------------------------------------------------------------------------------------
-- Audit log: one entry per mutation through abx, appended in the mutation's transaction,
-- append-only (revokes + triggers) and hash-chained (docs/security.md, "Audit log").
-- ---------------------------------------------------------------------------------------------
CREATE TABLE abx.audit_log (
    seq             bigint PRIMARY KEY,          -- 1, 2, 3, ... one linear chain
    at              timestamptz NOT NULL,        -- abx.now()
    actor           text NOT NULL,               -- the role acting (SET ROLE included)
    jwt_subject     text,                        -- request.jwt.claims ->> 'sub', when present
    organization_id bigint,
    action          text NOT NULL,               -- organization.create, experiment.start, ...
    target          text NOT NULL,               -- organization:3, experiment:42
    experiment_id   bigint,
    change          jsonb NOT NULL,              -- {"before": {...}, "after": {...}} of the changed fields
    request_id      text,                        -- request.id, when present
    outcome         text NOT NULL CHECK (outcome IN ('ok', 'denied')),
    error_code      text,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL               -- sha256(prev_hash || canonical(entry))
);
CREATE INDEX audit_log_experiment ON abx.audit_log (experiment_id, seq);
COMMENT ON TABLE abx.audit_log IS
    'Append-only, hash-chained audit trail of every mutation through abx; abx.verify_audit() checks it.';

-- The chain's head, kept beside the rows: a deleted tail leaves the head pointing past the end.
CREATE TABLE abx.audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);

CREATE FUNCTION abx.audit_refuse_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' AND NEW.seq = OLD.seq + 1 THEN
        RETURN NEW;  -- the head only ever moves one entry forward
    END IF;
    RAISE EXCEPTION 'abx.% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON abx.audit_log
    FOR EACH ROW EXECUTE FUNCTION abx.audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON abx.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION abx.audit_refuse_change();
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON abx.audit_head
    FOR EACH ROW EXECUTE FUNCTION abx.audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON abx.audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION abx.audit_refuse_change();
REVOKE ALL ON abx.audit_log, abx.audit_head FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('abx.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('abx.audit_head', '');

-- Appends an entry (used by abx's SQL-language functions; C functions append directly).
CREATE FUNCTION abx.audit_append(action text, target text, organization_id bigint,
                                 experiment_id bigint, change jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'abx_audit_append' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION abx.audit_append(text, text, bigint, bigint, jsonb) FROM PUBLIC;

CREATE FUNCTION abx.verify_audit(anchor_seq bigint DEFAULT NULL, anchor_hash bytea DEFAULT NULL,
                                 OUT ok boolean, OUT checked bigint, OUT broken_seq bigint,
                                 OUT reason text, OUT head_seq bigint, OUT head_hash text)
    AS 'MODULE_PATHNAME', 'abx_verify_audit' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.verify_audit(bigint, bytea) IS
    'Walks the audit chain: ok, or the first broken entry and why. With an anchor (a seq and hash recorded outside the database, e.g. from the server log), also checks that entry.';

-- The organization the session acts for (docs/security.md): every view and row-level security
-- policy filters with it.
CREATE FUNCTION abx.session_organization_id() RETURNS bigint
    AS 'MODULE_PATHNAME', 'abx_session_organization_id' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.session_organization_id() IS
    'The id of the organization this session acts for (abx.organization, or the JWT org claim on a gateway session), checked against membership; NULL for none.';
CREATE FUNCTION abx.organization_visible(organization_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'abx_organization_visible' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.organization_visible(bigint) IS
    'Row filter of the views: the session''s organization''s rows; without one, the global rows (NULL), or every row for a superuser.';

CREATE VIEW abx.audit_trail WITH (security_barrier) AS
SELECT a.seq, a.at, a.actor, a.jwt_subject, o.key AS organization, a.action, a.target,
       e.code AS experiment, a.outcome, a.error_code, a.change, a.request_id
  FROM abx.audit_log a
  LEFT JOIN abx.organizations o ON o.id = a.organization_id
  LEFT JOIN abx.experiments e ON e.id = a.experiment_id
 WHERE abx.organization_visible(a.organization_id);
COMMENT ON VIEW abx.audit_trail IS 'The audit log with readable organization and experiment names.';

CREATE VIEW abx.experiment_history WITH (security_barrier) AS
SELECT e.code AS experiment, o.key AS organization, a.seq, a.at, a.actor, a.action, a.outcome,
       a.change
  FROM abx.audit_log a
  JOIN abx.experiments e ON e.id = a.experiment_id
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
 WHERE abx.organization_visible(a.organization_id);
COMMENT ON VIEW abx.experiment_history IS 'Per experiment, every audited change in order.';

CREATE VIEW abx.audit_failures WITH (security_barrier) AS
SELECT a.action, a.outcome, a.error_code, count(*) AS entries, min(a.at) AS first_at, max(a.at) AS last_at
  FROM abx.audit_log a
 WHERE a.outcome <> 'ok' AND abx.organization_visible(a.organization_id)
 GROUP BY a.action, a.outcome, a.error_code;
COMMENT ON VIEW abx.audit_failures IS 'Refused actions by action and SQLSTATE (the data of audit_failures_total and the top errors).';
REVOKE ALL ON abx.audit_trail, abx.experiment_history, abx.audit_failures FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Governance (docs/security.md): group roles, organization membership, rights checked by every
-- function, tables closed to everyone but the extension owner, rows filtered by organization.
-- ---------------------------------------------------------------------------------------------

-- Group roles, NOLOGIN, shared by every database of the cluster: created once, kept as they are
-- when they exist (a DBA may have granted them already). A DBA's one step: GRANT abx_<role> TO
-- <login role>.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('abx_admin',        'abx ops admin: every right, organizations, archive and delete of drafts'),
        ('abx_experimenter', 'abx experimenter (marketing): create, update, start, pause, stop experiments; read results'),
        ('abx_analyst',      'abx analyst (data science): read everything incl. raw events and audit; run the aggregation'),
        ('abx_service',      'abx service (application modules): assign, track, read an assignment and the winner'),
        ('abx_reader',       'abx reader: experiment documents and results, read-only'),
        ('abx_gateway',      'abx gateway: its login role''s sessions may pass JWT claims (request.jwt.claims)'))
        AS v(name, description)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.name);
            EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, r.description);
        END IF;
    END LOOP;
END $$;

-- Which roles act for which organization. A role (or any role it inherits from) listed here is
-- bound: it acts only for its organizations, one per session.
CREATE TABLE abx.organization_members (
    organization_id bigint NOT NULL REFERENCES abx.organizations (id) ON DELETE CASCADE,
    role_name       text NOT NULL,
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, role_name)
);
COMMENT ON TABLE abx.organization_members IS
    'Login or group roles (by name) that act for an organization; changed with abx.add_member / abx.remove_member.';
SELECT pg_catalog.pg_extension_config_dump('abx.organization_members', '');

CREATE FUNCTION abx.members_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'abx_members_changed' LANGUAGE C;
CREATE TRIGGER organization_members_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON abx.organization_members
    FOR EACH STATEMENT EXECUTE FUNCTION abx.members_changed();

CREATE FUNCTION abx.require_right(right_name text, function_name text, without_organization boolean)
    RETURNS void AS 'MODULE_PATHNAME', 'abx_require_right' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.require_right(text, text, boolean) IS
    'The right check of abx''s SQL-language functions (42501 naming the right).';

CREATE OR REPLACE FUNCTION abx.create_organization(key text, name text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    new_id bigint;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.create_organization', true);
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF key !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid key: must match ^[a-z0-9][a-z0-9_-]{0,62}$ (got %)', quote_literal(key)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO abx.organizations AS o (key, name) VALUES (key, coalesce(name, key)) RETURNING o.id INTO new_id;
    PERFORM abx.audit_append('organization.create', 'organization:' || new_id, new_id, NULL,
                             jsonb_build_object('after', jsonb_build_object('key', key, 'name', coalesce(name, key))));
    RETURN new_id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'organization "%" already exists', key USING ERRCODE = 'unique_violation';
END
$$;

CREATE FUNCTION abx.add_member(organization text, role text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org_id bigint;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.add_member', true);
    IF organization IS NULL THEN
        RAISE EXCEPTION 'organization must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT o.id INTO org_id FROM abx.organizations o WHERE o.key = organization;
    IF org_id IS NULL THEN
        RAISE EXCEPTION 'unknown organization "%"', organization USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO abx.organization_members (organization_id, role_name) VALUES (org_id, role)
        ON CONFLICT DO NOTHING;
    IF FOUND THEN
        PERFORM abx.audit_append('organization.add_member', 'organization:' || org_id, org_id, NULL,
                                 jsonb_build_object('after', jsonb_build_object('member', role)));
    END IF;
END
$$;

CREATE FUNCTION abx.remove_member(organization text, role text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    org_id bigint;
BEGIN
    PERFORM abx.require_right('experiments:admin', 'abx.remove_member', true);
    IF organization IS NULL THEN
        RAISE EXCEPTION 'organization must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT o.id INTO org_id FROM abx.organizations o WHERE o.key = organization;
    DELETE FROM abx.organization_members m WHERE m.organization_id = org_id AND m.role_name = role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not a member of organization "%"', role, organization
            USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM abx.audit_append('organization.remove_member', 'organization:' || org_id, org_id, NULL,
                             jsonb_build_object('before', jsonb_build_object('member', role)));
END
$$;

CREATE FUNCTION abx.delete_experiment(code text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_delete_experiment' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abx.delete_experiment(text, text) IS
    'Deletes a draft (ops admins); anything that ran is archived instead. Returns the deleted document.';

CREATE FUNCTION abx.winner(experiment text, organization text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abx_winner' LANGUAGE C STABLE;
COMMENT ON FUNCTION abx.winner(text, text) IS
    'The winner the policy picks now (or null) and whether the experiment is eligible; no statistics.';

-- Every function that reads or writes abx's tables runs as the extension owner and checks the
-- caller's rights itself. SQL-language functions are SECURITY DEFINER with SET search_path; C
-- functions switch to their owner at the error boundary (src/pg/boundary.cpp, the same switch
-- SECURITY DEFINER makes, without fmgr's per-execution catalog lookup) and resolve every name
-- through a pinned path (pg_catalog, abx; src/pg/spi.cpp).

-- Closed by default: nothing for PUBLIC, then each group role gets what its rights need. EXECUTE
-- goes to every group role so that a call reaches the right check, whose error names the right.
REVOKE ALL ON ALL TABLES IN SCHEMA abx FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA abx FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA abx FROM PUBLIC;
GRANT USAGE ON SCHEMA abx TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
GRANT EXECUTE ON FUNCTION
    abx.now(), abx.session_organization_id(), abx.organization_visible(bigint),
    abx.create_organization(text, text), abx.add_member(text, text), abx.remove_member(text, text),
    abx.create_experiment(jsonb, text), abx.update_experiment(text, jsonb, text),
    abx.experiment(text, text), abx.start(text, text), abx.pause(text, text),
    abx.resume(text, text), abx.complete(text, text), abx.archive(text, text),
    abx.delete_experiment(text, text),
    abx.assign(text, text, jsonb, text), abx.assignment(text, text, text),
    abx.track(text, text, text, double precision, timestamptz, jsonb, text, text),
    abx.track_batch(jsonb), abx.ensure_partitions(integer), abx.aggregate(text, text),
    abx.results(text, text), abx.srm(text, text), abx.insights(text, text),
    abx.evaluate_winner(text, text), abx.winner(text, text), abx.verify_audit(bigint, bytea)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;

-- Views: owner-run, rows filtered by the session's organization (security_barrier keeps a
-- caller's own predicates from seeing rows before the filter). A global experiment's figures pool
-- every organization's subjects: they show only to sessions without an organization.
CREATE OR REPLACE VIEW abx.variant_overview WITH (security_barrier) AS
SELECT e.id AS experiment_id,
       o.key AS organization,
       e.code AS experiment,
       e.status,
       v.key AS variant,
       v.is_control,
       v.weight,
       (SELECT count(*) FROM abx.assignments a
         WHERE a.experiment_id = e.id AND a.variant_id = v.id) AS assignments,
       coalesce(ev.events, 0) AS events,
       coalesce(ev.converting_subjects, 0) AS converting_subjects
  FROM abx.experiments e
  JOIN abx.variants v ON v.experiment_id = e.id
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
  LEFT JOIN LATERAL (
        SELECT count(*) AS events, count(DISTINCT x.subject) AS converting_subjects
          FROM abx.events x WHERE x.experiment_id = e.id AND x.variant_id = v.id) ev ON true
 WHERE abx.organization_visible(e.organization_id);

CREATE OR REPLACE VIEW abx.running_results WITH (security_barrier) AS
SELECT e.code AS experiment, o.key AS organization, r.*
  FROM abx.experiments e
  LEFT JOIN abx.organizations o ON o.id = e.organization_id
  CROSS JOIN LATERAL abx.results(e.code, o.key) r
 WHERE e.status = 'running' AND abx.organization_visible(e.organization_id);

GRANT SELECT ON abx.variant_overview, abx.running_results
    TO abx_admin, abx_experimenter, abx_analyst, abx_reader;
GRANT SELECT ON abx.audit_trail, abx.experiment_history, abx.audit_failures TO abx_admin, abx_analyst;

-- Direct reads for analysts and ops admins, filtered by row-level security. Partitions of
-- abx.events get no grant: they are read through abx.events, where the policy applies.
GRANT SELECT ON abx.organizations, abx.organization_members, abx.experiments, abx.variants,
                abx.assignments, abx.events, abx.event_idempotency, abx.metric_buckets,
                abx.subject_events, abx.variant_assignments, abx.variant_metric_stats,
                abx.aggregation_state, abx.bandit_arms, abx.audit_log, abx.audit_head
    TO abx_admin, abx_analyst;

ALTER TABLE abx.organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.organizations FOR SELECT
    USING (abx.session_organization_id() IS NULL OR id = abx.session_organization_id());
ALTER TABLE abx.organization_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.organization_members FOR SELECT
    USING (abx.session_organization_id() IS NULL OR organization_id = abx.session_organization_id());
-- Experiment documents: an organization's own and the global ones.
ALTER TABLE abx.experiments ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.experiments FOR SELECT
    USING (organization_id IS NULL OR organization_id = abx.session_organization_id());
ALTER TABLE abx.variants ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.variants FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e));
-- Per-subject rows carry the organization scope they were made in (0: none).
ALTER TABLE abx.assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.assignments FOR SELECT
    USING (organization_id = coalesce(abx.session_organization_id(), 0));
ALTER TABLE abx.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.events FOR SELECT
    USING (organization_id = coalesce(abx.session_organization_id(), 0));
ALTER TABLE abx.event_idempotency ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.event_idempotency FOR SELECT
    USING (organization_id = coalesce(abx.session_organization_id(), 0));
ALTER TABLE abx.subject_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.subject_events FOR SELECT
    USING (organization_id = coalesce(abx.session_organization_id(), 0));
-- Per-experiment aggregates pool the experiment's subjects: the owning organization's, and a
-- global experiment's only without an organization.
ALTER TABLE abx.metric_buckets ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.metric_buckets FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
ALTER TABLE abx.variant_assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.variant_assignments FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
ALTER TABLE abx.variant_metric_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.variant_metric_stats FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
ALTER TABLE abx.aggregation_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.aggregation_state FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
ALTER TABLE abx.bandit_arms ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.bandit_arms FOR SELECT
    USING (experiment_id IN (SELECT e.id FROM abx.experiments e
                              WHERE e.organization_id IS NOT DISTINCT FROM abx.session_organization_id()));
-- Audit rows of the organization; the chain's head (which spans every organization) and the
-- entries without one only without an organization.
ALTER TABLE abx.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.audit_log FOR SELECT
    USING (organization_id IS NOT DISTINCT FROM abx.session_organization_id());
ALTER TABLE abx.audit_head ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_visible ON abx.audit_head FOR SELECT
    USING (abx.session_organization_id() IS NULL);
