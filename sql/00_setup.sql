-- Helpers shared by the regression tests (pg_regress runs them in one database, in order).
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA t;
-- Runs a statement and returns 'SQLSTATE: message', so tests show the error code of every refusal.
CREATE FUNCTION t.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- A two-variant spec with a fixed salt, so assignments are reproducible.
CREATE FUNCTION t.spec(code text, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
SELECT jsonb_build_object(
    'code', code, 'salt', 'regress-' || code,
    'variants', jsonb_build_array(
        jsonb_build_object('key', 'control', 'weight', 50, 'config', '{"color": "blue"}'::jsonb, 'is_control', true),
        jsonb_build_object('key', 'treatment', 'weight', 50, 'config', '{"color": "green"}'::jsonb))) || extra
$$;
-- No SLO watcher queries Prometheus here: the tests record SLO checks by hand (sql/25_slo.sql;
-- the watcher itself: tests/shell/slo.sh). 25_slo turns it back on.
ALTER SYSTEM SET abx.slo_watcher = off;
SELECT pg_reload_conf();
SELECT extname, extversion FROM pg_extension WHERE extname = 'abx';
SELECT abx.now() = now() AS now_follows_transaction;
SET abx.pinned_now = '2026-01-15 12:00:00+00';
SELECT abx.now();
RESET abx.pinned_now;
