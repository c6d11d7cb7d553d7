-- Retention (seed 004): old raw events go by whole daily partitions, never before aggregation has
-- folded them in, with their idempotency keys; old buckets go; results stay readable.
SET abx.pinned_now = '2024-05-10 12:00:00+00';
GRANT USAGE ON SCHEMA t TO PUBLIC;
SELECT abx.create_experiment(t.spec('ret', '{"metrics": {"primary": {"kind": "rate", "event": "buy"}}}'))->>'code';
SELECT abx.start('ret')->>'status';  -- partitions 2024-05-09 .. 2024-05-17
SELECT count(*) FILTER (WHERE variant IS NOT NULL) AS assigned FROM generate_series(1, 10) i, abx.assign('ret', 'r' || i);
-- Events on 2024-05-10 and 2024-05-11 (the second day's are not aggregated before retention runs).
SELECT count(*) FROM generate_series(1, 6) i, abx.track('ret', 'r' || i, 'buy', idempotency_key => 'k' || i);
SELECT count(*) AS aggregated FROM abx.aggregate('ret');
SET abx.pinned_now = '2024-05-11 12:00:00+00';
SELECT count(*) FROM generate_series(7, 8) i, abx.track('ret', 'r' || i, 'buy', idempotency_key => 'k' || i);
-- A backfilled event older than every partition lands in the default partition.
SELECT status FROM abx.track('ret', 'r9', 'buy', 1, '2024-05-02 08:00:00+00', idempotency_key => 'k9');
SELECT count(*) AS aggregated FROM abx.aggregate('ret');
SET abx.pinned_now = '2024-05-11 13:00:00+00';
SELECT status FROM abx.track('ret', 'r10', 'buy', idempotency_key => 'k10');  -- not aggregated
SELECT tableoid::regclass AS partition, count(*) FROM abx.events WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ret') GROUP BY 1 ORDER BY 1;
-- Old buckets (as an earlier aggregation left them).
INSERT INTO abx.metric_buckets SELECT experiment_id, variant_id, event_key, bucket_start - interval '200 days', bucket_seconds, count, sum, sum_sq, min, max FROM abx.metric_buckets WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ret');
SELECT results_before AS r FROM (SELECT string_agg(variant || ':' || n || ':' || mean, ',' ORDER BY variant) AS results_before FROM abx.results('ret')) x \gset

-- 30 days on: the 2024-05-10 partition and the backfilled default row go; the 2024-05-11 partition
-- stays (r10's event is not aggregated); its keys go with them.
SET abx.pinned_now = '2024-06-11 00:30:00+00';
SELECT abx.retention() - 'kept_partitions' AS report;
SELECT p->>'partition' AS kept, p->>'reason' AS reason FROM jsonb_array_elements(abx.retention()->'kept_partitions') p;
SELECT tableoid::regclass AS partition, count(*) FROM abx.events WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ret') GROUP BY 1 ORDER BY 1;
SELECT string_agg(idempotency_key, ',' ORDER BY idempotency_key) AS keys_left FROM abx.event_idempotency WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ret');
SELECT min(bucket_start) >= '2023-12-01' AS old_buckets_gone FROM abx.metric_buckets WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'ret');
-- Results are unchanged: they come from the per-variant statistics.
SELECT string_agg(variant || ':' || n || ':' || mean, ',' ORDER BY variant) = :'r' AS results_unchanged FROM abx.results('ret');
-- Once aggregated, the second day goes too.
SELECT count(*) AS aggregated FROM abx.aggregate('ret');
SELECT jsonb_array_length(r->'dropped_partitions') AS dropped, jsonb_array_length(r->'kept_partitions') AS kept
  FROM abx.retention() r;
SELECT action, change->'after'->'events_dropped' AS events FROM abx.audit_log WHERE action = 'retention.run' ORDER BY seq;
-- Rights: ops admins without an organization.
CREATE ROLE ret_reader NOLOGIN IN ROLE abx_reader;
SET ROLE ret_reader;
SELECT t.err($$SELECT abx.retention()$$);
RESET ROLE;
DROP ROLE ret_reader;
RESET abx.pinned_now;
