-- Assignment: deterministic, sticky, targeted; reasons instead of errors for subjects left out.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';
SELECT abx.create_experiment(t.spec('btn', '{"targeting": {"country": ["SN", "FR"], "txn_count": {"gte": 3}}}'))->>'status';

-- Draft experiments assign nobody.
SELECT * FROM abx.assign('btn', 'u1', '{"country": "SN", "txn_count": 5}');
SELECT abx.start('btn')->>'status';

-- New, then returning.
SELECT * FROM abx.assign('btn', 'u1', '{"country": "SN", "txn_count": 5}');
SELECT * FROM abx.assign('btn', 'u1', '{"country": "SN", "txn_count": 5}');
-- A returning subject keeps its variant whatever its context says now.
SELECT * FROM abx.assign('btn', 'u1', '{"country": "US"}');
-- Targeting: not matched subjects get a reason and no variant.
SELECT * FROM abx.assign('btn', 'u2', '{"country": "US", "txn_count": 9}');
SELECT * FROM abx.assign('btn', 'u3', '{"country": "FR", "txn_count": 1}');
SELECT * FROM abx.assign('btn', 'u4', '{"country": "FR"}');
SELECT * FROM abx.assign('btn', 'u5', '{"country": "FR", "txn_count": "4"}');
SELECT * FROM abx.assign('btn', 'u6');
-- Read-only lookup.
SELECT * FROM abx.assignment('btn', 'u1');
SELECT * FROM abx.assignment('btn', 'u2');
SELECT subject, context FROM abx.assignments ORDER BY subject;

-- Bad input is an error with a SQLSTATE, not a reason.
SELECT t.err($$SELECT abx.assign('btn', NULL)$$);
SELECT t.err($$SELECT abx.assign(NULL, 'u1')$$);
SELECT t.err($$SELECT abx.assign('btn', '')$$);
SELECT t.err($$SELECT abx.assign('btn', repeat('x', 257))$$);
SELECT t.err($$SELECT abx.assign('btn', 'u7', '[1, 2]')$$);
SELECT t.err($$SELECT abx.assign('nope', 'u1')$$);
SELECT t.err($$SELECT abx.assign('btn', 'u1', '{}', 'no-such-org')$$);

-- The published algorithm (docs/assignment.md): salt exp-salt-1, weights 10/30/60, coverage 0.2:
-- user-42 has coverage bucket 1059 (< 2000, covered) and variant bucket 4839 (>= 4000: third variant).
SELECT abx.create_experiment('{"code": "vectors", "salt": "exp-salt-1", "coverage": 0.2,
    "variants": [{"key": "a", "weight": 10}, {"key": "b", "weight": 30}, {"key": "c", "weight": 60}]}')->>'salt';
SELECT abx.start('vectors')->>'status';
SELECT * FROM abx.assign('vectors', 'user-42');
-- At coverage 0.1 user-42 (bucket 1059 >= 1000) would be left out if it were new; it is not, so it stays.
SELECT (abx.update_experiment('vectors', '{"coverage": 0.1}'))->>'coverage';
SELECT * FROM abx.assign('vectors', 'user-42');

-- Stickiness across weight changes: 2000 subjects, then all weight to one variant.
SELECT abx.create_experiment(t.spec('sticky'))->>'code';
SELECT abx.start('sticky')->>'status';
CREATE TEMP TABLE first_round AS
SELECT s AS subject, (abx.assign('sticky', 's' || s)).variant FROM generate_series(1, 2000) s;
SELECT variant, count(*) BETWEEN 900 AND 1100 AS balanced FROM first_round GROUP BY variant ORDER BY variant;
SELECT jsonb_path_query_array(abx.update_experiment('sticky', '{"variants": [{"key": "control", "weight": 0}, {"key": "treatment", "weight": 1}]}'), '$.variants[*].weight');
SELECT count(*) AS moved FROM first_round f WHERE (abx.assign('sticky', 's' || f.subject)).variant <> f.variant;
SELECT (abx.assign('sticky', 'newcomer-' || s)).variant, count(*) FROM generate_series(1, 300) s GROUP BY 1;
-- Coverage cut to a sliver leaves assigned subjects alone too.
SELECT abx.update_experiment('sticky', '{"coverage": 0.01}')->>'coverage';
SELECT count(*) AS still_assigned FROM first_round f WHERE (abx.assign('sticky', 's' || f.subject)).variant = f.variant;

-- Paused: existing subjects keep their variant, new ones are not assigned.
SELECT abx.pause('sticky')->>'status';
SELECT (abx.assign('sticky', 's1')).reason, (abx.assign('sticky', 'brand-new')).*;
SELECT abx.complete('sticky')->>'status';
SELECT (abx.assign('sticky', 'brand-new-2')).reason;
SELECT abx.archive('sticky')->>'status';
SELECT (abx.assign('sticky', 'brand-new-3')).reason;
SELECT variant IS NOT NULL AS readable_after_archive FROM abx.assignment('sticky', 's1');

-- Organizations: an organization's own experiment wins over a global one with the same code,
-- and the same subject id in two organizations is two subjects.
SELECT abx.create_experiment(t.spec('shared'))->>'code';
SELECT abx.create_experiment(t.spec('shared', '{"variants": [{"key": "acme-a", "is_control": true}, {"key": "acme-b"}]}'), 'acme')->>'organization';
SELECT abx.start('shared')->>'status', abx.start('shared', 'acme')->>'status';
SELECT 'acme' AS org, (abx.assign('shared', 'same-user', '{}', 'acme')).variant LIKE 'acme-%' AS own_experiment;
SELECT 'globex' AS org, (abx.assign('shared', 'same-user', '{}', 'globex')).variant IN ('control', 'treatment') AS global_experiment;
SELECT 'none' AS org, (abx.assign('shared', 'same-user')).is_new;
SELECT o.key, a.subject FROM abx.assignments a LEFT JOIN abx.organizations o ON o.id = a.organization_id
 WHERE a.subject = 'same-user' ORDER BY 1 NULLS FIRST;
RESET abx.pinned_now;
