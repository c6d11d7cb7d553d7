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
CREATE OR REPLACE FUNCTION abx.create_organization(key text, name text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    new_id bigint;
BEGIN
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

CREATE VIEW abx.audit_trail AS
SELECT a.seq, a.at, a.actor, a.jwt_subject, o.key AS organization, a.action, a.target,
       e.code AS experiment, a.outcome, a.error_code, a.change, a.request_id
  FROM abx.audit_log a
  LEFT JOIN abx.organizations o ON o.id = a.organization_id
  LEFT JOIN abx.experiments e ON e.id = a.experiment_id;
COMMENT ON VIEW abx.audit_trail IS 'The audit log with readable organization and experiment names.';

CREATE VIEW abx.experiment_history AS
SELECT e.code AS experiment, o.key AS organization, a.seq, a.at, a.actor, a.action, a.outcome,
       a.change
  FROM abx.audit_log a
  JOIN abx.experiments e ON e.id = a.experiment_id
  LEFT JOIN abx.organizations o ON o.id = e.organization_id;
COMMENT ON VIEW abx.experiment_history IS 'Per experiment, every audited change in order.';

CREATE VIEW abx.audit_failures AS
SELECT a.action, a.outcome, a.error_code, count(*) AS entries, min(a.at) AS first_at, max(a.at) AS last_at
  FROM abx.audit_log a
 WHERE a.outcome <> 'ok'
 GROUP BY a.action, a.outcome, a.error_code;
COMMENT ON VIEW abx.audit_failures IS 'Refused actions by action and SQLSTATE (the data of audit_failures_total and the top errors).';
REVOKE ALL ON abx.audit_trail, abx.experiment_history, abx.audit_failures FROM PUBLIC;
