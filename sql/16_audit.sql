-- The audit log: one entry per mutation, in its transaction; append-only; a hash chain that
-- abx.verify_audit() walks, and finds every kind of tampering.
SET timezone = 'UTC';
SET abx.pinned_now = '2026-03-10 09:00:00+00';
SELECT count(*) AS entries_before FROM abx.audit_log \gset
SELECT abx.create_organization('audited') > 0 AS created;
SELECT abx.create_experiment(t.spec('audited', '{"metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}'), 'audited')->>'status';
SELECT abx.update_experiment('audited', '{"coverage": 0.5, "variants": [{"key": "control"}, {"key": "treatment", "weight": 30}]}', 'audited')->>'coverage';
SELECT abx.start('audited', 'audited')->>'status';
SELECT abx.update_experiment('audited', '{"winner_policy": {"min_assignments": 10}}', 'audited')->'winner_policy';
SELECT abx.pause('audited', 'audited')->>'status';
-- A rolled back change leaves no entry.
BEGIN;
SELECT abx.resume('audited', 'audited')->>'status';
ROLLBACK;
-- Refusals of the API itself change nothing, so they add nothing either.
SELECT t.err($$SELECT abx.archive('audited', 'audited')$$);
SELECT seq - :entries_before AS n, actor = current_user AS actor_is_me, organization, action, target LIKE 'experiment:%' OR target LIKE 'organization:%' AS has_target,
       experiment, outcome,
       CASE WHEN action = 'experiment.create' THEN jsonb_build_object('after.status', change->'after'->'status', 'after.salt', change->'after'->'salt')
            ELSE change END AS change
  FROM abx.audit_trail WHERE seq > :entries_before ORDER BY seq;
SELECT experiment, action FROM abx.experiment_history WHERE experiment = 'audited' ORDER BY seq;
SELECT ok, checked > 0 AS checked, broken_seq, reason FROM abx.verify_audit();

-- The gateway's context (JWT subject, request id) is recorded when present; the JWT subject only
-- on a gateway's session (its session user a member of abx_gateway: claims from any other session
-- are not trusted).
CREATE ROLE audit_gateway NOLOGIN IN ROLE abx_gateway, abx_admin;
SET SESSION AUTHORIZATION audit_gateway;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "user-42", "role": "abx_admin", "org": "audited"}', true),
       set_config('request.id', 'req-7', true) IS NOT NULL AS set;
SELECT abx.resume('audited', 'audited')->>'status';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT jwt_subject, request_id, action FROM abx.audit_log ORDER BY seq DESC LIMIT 1;
DROP ROLE audit_gateway;

-- Append-only, for everyone including the owner.
SELECT t.err($$UPDATE abx.audit_log SET actor = 'someone else' WHERE seq = 1$$);
SELECT t.err($$DELETE FROM abx.audit_log WHERE seq = 1$$);
SELECT t.err($$TRUNCATE abx.audit_log$$);
SELECT t.err($$DELETE FROM abx.audit_head$$);
SELECT t.err($$UPDATE abx.audit_head SET seq = seq - 1$$);
SELECT has_table_privilege('public', 'abx.audit_log', 'SELECT') AS public_reads,
       has_function_privilege('public', 'abx.audit_append(text, text, bigint, bigint, jsonb)', 'EXECUTE') AS public_appends;

-- Tampering by a superuser who disables the triggers: each case is found, at its entry.
SELECT max(seq) AS last FROM abx.audit_log \gset
SELECT hash AS anchor_hash FROM abx.audit_log WHERE seq = :last \gset
BEGIN;
ALTER TABLE abx.audit_log DISABLE TRIGGER USER;
UPDATE abx.audit_log SET change = '{"after": {"coverage": 1}}' WHERE seq = :last - 3;
SELECT ok, broken_seq = :last - 3 AS at_the_edit, reason FROM abx.verify_audit();
ROLLBACK;
BEGIN;
ALTER TABLE abx.audit_log DISABLE TRIGGER USER;
DELETE FROM abx.audit_log WHERE seq = :last - 2;
SELECT ok, broken_seq = :last - 2 AS at_the_hole, reason FROM abx.verify_audit();
ROLLBACK;
BEGIN;
ALTER TABLE abx.audit_log DISABLE TRIGGER USER;
UPDATE abx.audit_log SET seq = -1 WHERE seq = :last - 2;
UPDATE abx.audit_log SET seq = :last - 2 WHERE seq = :last - 1;
UPDATE abx.audit_log SET seq = :last - 1 WHERE seq = -1;
SELECT ok, broken_seq = :last - 2 AS at_the_swap, reason FROM abx.verify_audit();
ROLLBACK;
BEGIN;
ALTER TABLE abx.audit_log DISABLE TRIGGER USER;
DELETE FROM abx.audit_log WHERE seq = :last;
SELECT ok, broken_seq = :last AS at_the_tail, reason FROM abx.verify_audit();
-- Cutting the tail and rewriting the head too is consistent inside the database; only an anchor
-- kept outside it (the server log records every head) finds it.
ALTER TABLE abx.audit_head DISABLE TRIGGER USER;
UPDATE abx.audit_head SET seq = seq - 1, hash = (SELECT hash FROM abx.audit_log WHERE seq = :last - 1);
SELECT ok AS ok_without_anchor FROM abx.verify_audit();
SELECT ok AS ok_with_anchor, broken_seq = :last AS at_the_anchor, reason FROM abx.verify_audit(:last, :'anchor_hash'::bytea);
ROLLBACK;
SELECT ok AS intact_again FROM abx.verify_audit(:last, :'anchor_hash'::bytea);
RESET abx.pinned_now;
