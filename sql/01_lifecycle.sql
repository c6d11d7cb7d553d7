-- The experiment state machine: draft -> running <-> paused -> completed -> archived.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';
SELECT x->>'status' AS status, x->>'code' AS code, x->'variants'->0->>'key' AS first_variant,
       (x->'variants'->0->>'is_control')::bool AS first_is_control, x->>'created_at' AS created_at
  FROM abx.create_experiment(t.spec('life')) x;

-- Every transition that is not allowed from draft.
SELECT t.err($$SELECT abx.pause('life')$$);
SELECT t.err($$SELECT abx.resume('life')$$);
SELECT t.err($$SELECT abx.complete('life')$$);
SELECT t.err($$SELECT abx.archive('life')$$);

SET abx.pinned_now = '2026-01-15 13:00:00+00';
SELECT x->>'status' AS status, x->>'started_at' AS started_at FROM abx.start('life') x;
SELECT t.err($$SELECT abx.start('life')$$);
SELECT t.err($$SELECT abx.resume('life')$$);
SELECT t.err($$SELECT abx.archive('life')$$);

SET abx.pinned_now = '2026-01-15 14:00:00+00';
SELECT x->>'status' AS status, x->>'paused_at' AS paused_at FROM abx.pause('life') x;
SELECT t.err($$SELECT abx.start('life')$$);
SELECT t.err($$SELECT abx.pause('life')$$);
SELECT t.err($$SELECT abx.archive('life')$$);
SELECT x->>'status' AS status, x->>'paused_at' AS paused_at FROM abx.resume('life') x;

SET abx.pinned_now = '2026-01-16 09:00:00+00';
SELECT x->>'status' AS status, x->>'completed_at' AS completed_at FROM abx.complete('life') x;
SELECT t.err($$SELECT abx.start('life')$$);
SELECT t.err($$SELECT abx.pause('life')$$);
SELECT t.err($$SELECT abx.resume('life')$$);
SELECT t.err($$SELECT abx.complete('life')$$);

SELECT x->>'status' AS status, x->>'archived_at' AS archived_at FROM abx.archive('life') x;
SELECT t.err($$SELECT abx.start('life')$$);
SELECT t.err($$SELECT abx.pause('life')$$);
SELECT t.err($$SELECT abx.resume('life')$$);
SELECT t.err($$SELECT abx.complete('life')$$);
SELECT t.err($$SELECT abx.archive('life')$$);

-- A paused experiment can be completed directly.
SELECT abx.create_experiment(t.spec('life2'))->>'status';
SELECT abx.start('life2')->>'status', abx.pause('life2')->>'status', abx.complete('life2')->>'status';

-- Unknown experiments and NULL arguments.
SELECT t.err($$SELECT abx.start('no-such')$$);
SELECT t.err($$SELECT abx.start(NULL)$$);
SELECT t.err($$SELECT abx.start('life', 'no-such-org')$$);

-- The stored row agrees with what the functions said.
SELECT code, status, started_at, paused_at, completed_at, archived_at
  FROM abx.experiments WHERE code IN ('life', 'life2') ORDER BY code;
RESET abx.pinned_now;
