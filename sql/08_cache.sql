-- The per-session experiment cache behind abx.assign/abx.track's fast path follows every change.
-- (Runs last: it drops and recreates the extension.)
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SELECT abx.create_experiment(t.spec('cached'))->>'code';
SELECT abx.start('cached')->>'status';
SELECT variant, config, reason FROM abx.assign('cached', 'c1');   -- fills the cache
SELECT variant, config, reason FROM abx.assign('cached', 'c1');   -- answered from it
-- A config change is seen at once.
SELECT abx.update_experiment('cached', '{"variants": [{"key": "control", "config": {"color": "navy"}},
                                                      {"key": "treatment", "config": {"color": "lime"}}]}')->>'code';
SELECT variant, config, reason FROM abx.assign('cached', 'c1');
-- So are status changes, for events too.
SELECT status FROM abx.track('cached', 'c1', 'view');
SELECT abx.complete('cached')->>'status', abx.archive('cached')->>'status';
SELECT t.err($$SELECT abx.track('cached', 'c1', 'view')$$);
SELECT variant, reason FROM abx.assign('cached', 'c1');
-- Changes inside a transaction that is rolled back leave the cache right.
SELECT abx.create_experiment(t.spec('cached2'))->>'code';
SELECT abx.start('cached2')->>'status';
SELECT variant, config FROM abx.assign('cached2', 'c2');
BEGIN;
SELECT abx.update_experiment('cached2', '{"variants": [{"key": "control", "config": {"v": 2}}, {"key": "treatment", "config": {"v": 2}}]}')->>'code';
SELECT variant, config FROM abx.assign('cached2', 'c2');
ROLLBACK;
SELECT variant, config FROM abx.assign('cached2', 'c2');
-- An organization's own experiment appearing later takes over from the global one it used.
SELECT abx.create_organization('initech') > 0 AS created;
SELECT variant, reason FROM abx.assign('cached2', 'o1', '{}', 'initech');
SELECT abx.create_experiment(t.spec('cached2', '{"variants": [{"key": "own-a"}, {"key": "own-b"}]}'), 'initech')->>'organization';
SELECT abx.start('cached2', 'initech')->>'status';
SELECT variant LIKE 'own-%' AS own_experiment, reason FROM abx.assign('cached2', 'o2', '{}', 'initech');
-- Dropping and recreating the extension in the same session: the cache notices.
DROP EXTENSION abx CASCADE;
CREATE EXTENSION abx;
SELECT abx.create_experiment(t.spec('cached'))->>'code';
SELECT abx.start('cached')->>'status';
SELECT variant, config, reason FROM abx.assign('cached', 'c1');
SELECT variant, config, reason FROM abx.assign('cached', 'c1');
SELECT status FROM abx.track('cached', 'c1', 'view');
