
-- ---------------------------------------------------------------------------------------------
-- Notifications written before 0.5.0 had nowhere to go (no delivery target existed): they are
-- settled as of their writing, as a new event without a target is, so they neither count as a
-- backlog in /readiness nor wait forever for abx.retention().
-- ---------------------------------------------------------------------------------------------
UPDATE abx.outbox SET delivered_at = created_at WHERE delivered_at IS NULL;
