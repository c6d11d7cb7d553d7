-- Single events: attributed server-side to the stored variant; every refusal has a SQLSTATE.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';
SELECT abx.create_experiment(t.spec('ev'))->>'code';
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view')$$);  -- draft: no events
SELECT abx.start('ev')->>'status';
SELECT variant AS u1_variant FROM abx.assign('ev', 'u1');
SELECT variant AS u2_variant FROM abx.assign('ev', 'u2');

SELECT * FROM abx.track('ev', 'u1', 'view');
SELECT * FROM abx.track('ev', 'u1', 'purchase', 49.99, '2026-01-15 11:59:00+00', '{"page": "checkout"}');
SELECT * FROM abx.track('ev', 'u2', 'purchase', 10, idempotency_key => 'order-1');
SELECT * FROM abx.track('ev', 'u2', 'purchase', 10, idempotency_key => 'order-1');  -- duplicate
SELECT * FROM abx.track('ev', 'u2', 'purchase', 99, idempotency_key => 'order-1');  -- still the same key
-- Events carry the variant of the assignment, not anything the caller says.
SELECT e.subject, v.key AS variant, e.event_key, e.value, e.ts, e.meta, e.idempotency_key
  FROM abx.events e JOIN abx.variants v ON v.id = e.variant_id ORDER BY e.id;

-- Refusals.
SELECT t.err($$SELECT abx.track('ev', 'stranger', 'view')$$);
SELECT t.err($$SELECT abx.track('nope', 'u1', 'view')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', 'NaN')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', 'Infinity')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', NULL)$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', 1, 'infinity')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', 1, '2026-01-15 12:06:00+00')$$);  -- 6 min ahead
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', 1, '2026-01-15 12:04:00+00')$$);  -- within tolerance
SELECT t.err($$SELECT abx.track('ev', 'u1', 'bad key!')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', '')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', meta => '[1]')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', idempotency_key => '')$$);
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view', organization => 'no-such-org')$$);
SELECT t.err($$SELECT abx.track('ev', NULL, 'view')$$);
SELECT count(*) AS events_stored FROM abx.events;

-- Paused and completed experiments still take events of assigned subjects; archived ones do not.
SELECT abx.pause('ev')->>'status';
SELECT status FROM abx.track('ev', 'u1', 'late_view');
SELECT abx.complete('ev')->>'status';
SELECT status FROM abx.track('ev', 'u1', 'late_purchase', 5);
SELECT abx.archive('ev')->>'status';
SELECT t.err($$SELECT abx.track('ev', 'u1', 'view')$$);

-- The DBA view.
SELECT experiment, variant, is_control, assignments, events, converting_subjects
  FROM abx.variant_overview WHERE experiment = 'ev' ORDER BY variant;
RESET abx.pinned_now;
