-- Batches: valid items are stored, invalid ones reported, each item gets a row.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';
SELECT abx.create_experiment(t.spec('bt'))->>'code';
SELECT abx.start('bt')->>'status';
SELECT count(*) FROM (SELECT abx.assign('bt', 'b' || s) FROM generate_series(1, 3) s) x;

SELECT * FROM abx.track_batch('[
  {"experiment": "bt", "subject": "b1", "event": "view"},
  {"experiment": "bt", "subject": "b2", "event": "purchase", "value": 12.5, "ts": "2026-01-15T11:00:00Z", "meta": {"sku": "A"}},
  {"experiment": "bt", "subject": "nobody", "event": "view"},
  {"experiment": "missing", "subject": "b1", "event": "view"},
  {"experiment": "bt", "subject": "b1", "event": "view", "value": "x"},
  {"experiment": "bt", "subject": "b1", "event": "view", "ts": "yesterday"},
  {"experiment": "bt", "subject": "b1", "event": "view", "ts": "2026-01-16T00:00:00Z"},
  {"experiment": "bt", "subject": "b1", "event": "view", "colour": "red"},
  {"experiment": "bt", "subject": 3, "event": "purchase", "value": 7, "idempotency_key": "o-1"},
  {"experiment": "bt", "subject": "b3", "event": "purchase", "value": 7, "idempotency_key": "o-1"},
  "not an object",
  {"experiment": "bt", "subject": "b3", "event": "refund", "value": -7, "organization": null}
]') ORDER BY item;
SELECT subject, event_key, value, ts, meta, idempotency_key FROM abx.events
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'bt') ORDER BY id;

-- The same key again in a later batch is a duplicate pointing at the stored event.
SELECT item, status, event_id = (SELECT id FROM abx.events WHERE idempotency_key = 'o-1') AS same_event
  FROM abx.track_batch('{"events": [{"experiment": "bt", "subject": "b3", "event": "purchase", "idempotency_key": "o-1"}]}');

-- The document itself must have the right shape.
SELECT t.err($$SELECT * FROM abx.track_batch('{"items": []}')$$);
SELECT t.err($$SELECT * FROM abx.track_batch('42')$$);
SELECT t.err($$SELECT * FROM abx.track_batch(NULL)$$);
SELECT count(*) AS empty_batch_rows FROM abx.track_batch('[]');
-- An all-invalid batch stores nothing.
SELECT item, status, error_code, error_message
  FROM abx.track_batch('[{"experiment": "bt", "subject": "b1"}, {"subject": "b1", "event": "view"}, {"experiment": "bt", "event": "view"}]');
SELECT count(*) AS bt_events FROM abx.events WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'bt');
RESET abx.pinned_now;
