-- Event partitions: daily, created ahead; nothing is refused for lack of a partition.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';
-- Starting experiments created partitions around the pinned day.
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'abx.events'::regclass ORDER BY 1;
-- Calling again creates nothing new.
SELECT abx.ensure_partitions();
SELECT t.err($$SELECT abx.ensure_partitions(-1)$$);

-- An event far in the past lands in the default partition ...
SELECT abx.create_experiment(t.spec('parts'))->>'code';
SELECT abx.start('parts')->>'status';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('parts', 'p1');
SELECT status FROM abx.track('parts', 'p1', 'view', 1, '2025-06-01 10:00:00+00');
SELECT tableoid::regclass AS partition FROM abx.events WHERE ts = '2025-06-01 10:00:00+00';
-- ... and once ensure_partitions runs for that day, the day gets its partition and the row moves there.
SET abx.pinned_now = '2025-06-01 12:00:00+00';
SELECT abx.ensure_partitions(0);
SELECT tableoid::regclass AS partition FROM abx.events WHERE ts = '2025-06-01 10:00:00+00';
SELECT count(*) AS left_in_default FROM abx.events_default;
RESET abx.pinned_now;
