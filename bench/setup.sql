-- Benchmark fixture (run by bench/run.sh in a fresh database abx_bench, psql -v ON_ERROR_STOP=1).
--   abx side: a running experiment "bench" with 2 variants and 100,000 assigned subjects u1..u100000.
--   raw side: schema raw with plain tables of the same shape as abx.assignments and abx.events
--             (same columns, defaults, primary key; events range-partitioned on ts with the same
--             daily partitions and default partition, each with the same (experiment_id, xid)
--             index), raw.assignments holding the same 100,000 rows.
\set ON_ERROR_STOP 1
\set pool 100000
SET client_min_messages = warning;
CREATE EXTENSION abx;
SELECT id AS experiment_id FROM jsonb_to_record(abx.create_experiment(
    '{"code": "bench", "name": "benchmark",
      "variants": [{"key": "control", "is_control": true, "weight": 1, "config": {"color": "blue"}},
                   {"key": "treatment", "weight": 1, "config": {"color": "green"}}]}'))
    AS x(id bigint) \gset
SELECT status FROM jsonb_to_record(abx.start('bench')) AS x(status text);  -- also creates daily partitions

-- The returning-subject pool, assigned through abx.assign itself. A first small slice, then ANALYZE,
-- then the rest in a new session: whenever abx.assign takes its SPI path, the generic plan of its
-- lookup, made while abx.assignments is tiny, probes only part of the primary key, and one
-- statement assigning 100k subjects through it takes minutes (docs/benchmarks.md, "bulk assignment").
SELECT count(*) AS assigned FROM generate_series(1, 1000) AS g, abx.assign('bench', 'u' || g) AS a
 WHERE a.is_new;
ANALYZE abx.assignments;
\connect
SET client_min_messages = warning;
SELECT count(*) AS assigned FROM generate_series(1001, :pool) AS g, abx.assign('bench', 'u' || g) AS a
 WHERE a.is_new;

-- Raw tables of the same shape.
CREATE SCHEMA raw;
CREATE TABLE raw.assignments (LIKE abx.assignments INCLUDING ALL);
INSERT INTO raw.assignments SELECT * FROM abx.assignments;

CREATE SEQUENCE raw.events_id_seq AS bigint;
CREATE TABLE raw.events (LIKE abx.events INCLUDING ALL) PARTITION BY RANGE (ts);
ALTER TABLE raw.events ALTER COLUMN id SET DEFAULT nextval('raw.events_id_seq');
ALTER SEQUENCE raw.events_id_seq OWNED BY raw.events.id;
DO $$
DECLARE p record;
BEGIN
    FOR p IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'abx.events'::regclass
    LOOP
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.events %s', p.relname, p.bound);
        -- The same aggregation-window index as each abx partition (abx keeps it per partition).
        EXECUTE format('CREATE INDEX ON raw.%I (experiment_id, xid)', p.relname);
    END LOOP;
END $$;

-- The application's login role: abx_service only, a member of no organization (global scope).
CREATE ROLE abx_bench_service LOGIN IN ROLE abx_service;

VACUUM ANALYZE;
SELECT (SELECT count(*) FROM abx.assignments) AS abx_assignments,
       (SELECT count(*) FROM raw.assignments) AS raw_assignments,
       (SELECT count(*) FROM pg_inherits WHERE inhparent = 'abx.events'::regclass) AS abx_partitions,
       (SELECT count(*) FROM pg_inherits WHERE inhparent = 'raw.events'::regclass) AS raw_partitions;
