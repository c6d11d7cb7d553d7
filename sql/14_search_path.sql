-- A caller's search_path cannot capture the functions and operators of abx's own queries: a schema
-- placed before pg_catalog (here "evil") is never consulted by abx's SPI statements.
SET abx.pinned_now = '2026-03-08 10:00:00+00';
SELECT abx.create_experiment(t.spec('hijack', '{"metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}'))->>'code';
SELECT abx.start('hijack')->>'status';
CREATE SCHEMA evil;
CREATE TABLE evil.calls (f text);
CREATE FUNCTION evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO evil.calls VALUES ('nextval'); RETURN pg_catalog.nextval($1); END $$;
CREATE FUNCTION evil.date_bin(interval, timestamptz, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO evil.calls VALUES ('date_bin'); RETURN pg_catalog.date_bin($1, $2, $3); END $$;
CREATE FUNCTION evil.coalesce_org(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION evil.texteq_spy(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO evil.calls VALUES ('='); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_spy);
CREATE FUNCTION evil.to_char(date, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO evil.calls VALUES ('to_char'); RETURN pg_catalog.to_char($1, $2); END $$;

SET search_path = evil, pg_catalog, public;
SELECT variant IS NOT NULL AS assigned FROM abx.assign('hijack', 'h1');
SELECT variant IS NOT NULL AS assigned FROM abx.assign('hijack', 'h2', '{"country": "SN"}');
SELECT status FROM abx.track('hijack', 'h1', 'buy', idempotency_key => 'k1');
SELECT status FROM abx.track('hijack', 'h2', 'buy');
SELECT status FROM abx.track_batch('[{"experiment": "hijack", "subject": "h1", "event": "view", "idempotency_key": "k2"}]');
SELECT status FROM abx.aggregate('hijack');
SELECT count(*) > 0 AS results FROM abx.results('hijack');
SELECT abx.ensure_partitions(9) >= 0 AS partitions;
SELECT abx.experiment('hijack')->>'code';
SELECT abx.update_experiment('hijack', '{"description": "d"}')->>'description';
RESET search_path;
SELECT f, count(*) FROM evil.calls GROUP BY f ORDER BY f;
DROP SCHEMA evil CASCADE;
RESET abx.pinned_now;
