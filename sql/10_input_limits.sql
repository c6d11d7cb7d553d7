-- Every accepted input is bounded and every refusal names its field (docs/sql-api.md, "Limits").
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-03-05 10:00:00+00';
SELECT abx.create_experiment(t.spec('limits'))->>'code';
SELECT abx.start('limits')->>'status';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('limits', 'u1');

-- Numbers that do not fit a double: named by path, never a parser's message.
SELECT t.err($$SELECT abx.create_experiment('{"code": "big", "variants": [{"key": "a"}, {"key": "b", "weight": 1e309}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "big", "variants": [{"key": "a"}, {"key": "b"}], "analysis": {"confidence": 1e999}}')$$);
SELECT t.err($$SELECT abx.update_experiment('limits', '{"coverage": 1e-400}')$$);
SELECT t.err($$SELECT abx.assign('limits', 'u2', '{"age": 1e400}')$$);
SELECT t.err($$SELECT abx.assign('limits', 'u2', '{"tags": [1, {"deep": -1e400}]}')$$);
SELECT t.err($$SELECT abx.track('limits', 'u1', 'view', meta => '{"price": 1e999}')$$);

-- Event values: 0 or a magnitude in [1e-15, 1e15], so that squares and their sums stay in range.
SELECT t.err($$SELECT abx.track('limits', 'u1', 'view', 1e16)$$);
SELECT t.err($$SELECT abx.track('limits', 'u1', 'view', -1e-16)$$);
SELECT status FROM abx.track('limits', 'u1', 'view', 0);
SELECT status FROM abx.track('limits', 'u1', 'view', -1e15);
SELECT status FROM abx.track('limits', 'u1', 'view', 1e-15);
SELECT t.err($$SELECT abx.track('limits', 'u1', 'view', NULL)$$);

-- A batch: the bad items are reported with their SQLSTATE and field, the good ones stored.
SELECT item, status, error_code, error_message FROM abx.track_batch('[
  {"experiment": "limits", "subject": "u1", "event": "view", "value": 2},
  {"experiment": "limits", "subject": "u1", "event": "view", "value": 1e999},
  {"experiment": "limits", "subject": "u1", "event": "view", "value": null},
  {"experiment": "limits", "subject": "u1", "event": "view", "meta": {"x": [1, 1e-400]}},
  {"experiment": "limits", "subject": "u1", "event": "view", "value": 1e-170},
  {"experiment": "limits", "subject": "u1", "event": "view", "value": "3"},
  {"experiment": "limits", "subject": "u1", "event": "view"}]') ORDER BY item;

-- Sizes are checked before any parsing: context and meta up to 64 KiB, subjects up to 256 bytes.
SELECT t.err(format($$SELECT abx.assign('limits', 'u3', '{"blob": "%s"}')$$, repeat('x', 70000)));
SELECT t.err(format($$SELECT abx.track('limits', 'u1', 'view', meta => '{"blob": "%s"}')$$, repeat('x', 70000)));
SELECT t.err(format($$SELECT abx.assignment('limits', '%s')$$, repeat('s', 300)));
SELECT t.err($$SELECT abx.assignment('limits', '')$$);
SELECT t.err(format($$SELECT abx.assign('limits', 'u3', '%s')$$, repeat('{"a": ', 40) || '1' || repeat('}', 40)));
SELECT length(reason) <= 200 AS reason_is_bounded
  FROM abx.create_experiment(t.spec('targeted', '{"targeting": {"country": "SN"}}')) c,
       abx.start('targeted') s,
       abx.assign('targeted', 'u4', jsonb_build_object('country', repeat('y', 5000))) a;

-- A batch over the item limit is refused from the jsonb header, before anything is converted.
SELECT t.err($$SELECT count(*) FROM abx.track_batch((SELECT jsonb_agg(jsonb_build_object('event', 'x')) FROM generate_series(1, 50001)))$$);

-- abx.pinned_now: a test-only, session-level clock with a checked value.
SELECT t.err($$SET abx.pinned_now = 'garbage'$$);
SELECT t.err($$SET abx.pinned_now = 'infinity'$$);
SELECT t.err($$SET abx.pinned_now = '0044-03-15 12:00:00+00 BC'$$);
SELECT t.err($$SET abx.pinned_now = '1999-12-31 23:00:00+00'$$);
SELECT t.err($$ALTER DATABASE contrib_regression SET abx.pinned_now = '2026-01-01 00:00:00+00'$$);
SELECT t.err($$ALTER ROLE CURRENT_USER SET abx.pinned_now = '2026-01-01 00:00:00+00'$$);
SHOW abx.pinned_now;
RESET abx.pinned_now;
SELECT abx.now() = now() AS unpinned;
