-- Creating and updating experiments from a JSON spec: every bad input names its field.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET abx.pinned_now = '2026-01-15 12:00:00+00';

SELECT t.err($$SELECT abx.create_experiment(NULL)$$);
SELECT t.err($$SELECT abx.create_experiment('[]')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "x"}')$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('bad code!'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('typo', '{"colour": 1}'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('k', '{"kind": "mab"}'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('c0', '{"coverage": 0}'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('c2', '{"coverage": 1.5}'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('tg', '{"targeting": {"country": {"within": ["SN"]}}}'))$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('tg2', '{"targeting": {"txn_count": {"gte": "five"}}}'))$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "one", "variants": [{"key": "a"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "dup", "variants": [{"key": "a"}, {"key": "a"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "neg", "variants": [{"key": "a"}, {"key": "b", "weight": -1}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "zero", "variants": [{"key": "a", "weight": 0}, {"key": "b", "weight": 0}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "two", "variants": [{"key": "a", "is_control": true}, {"key": "b", "is_control": true}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "cfg", "variants": [{"key": "a", "config": 3}, {"key": "b"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment('{"code": "vk", "variants": [{"key": "a b"}, {"key": "b"}]}')$$);
SELECT t.err($$SELECT abx.create_experiment(t.spec('org'), 'no-such-org')$$);
-- Nothing was written by any of the refused calls.
SELECT count(*) AS experiments_after_refusals FROM abx.experiments WHERE code NOT LIKE 'life%';

-- Defaults: the first variant is the control when none is marked; name defaults to code.
SELECT x->>'name' AS name, x->>'kind' AS kind, x->>'coverage' AS coverage,
       jsonb_path_query_array(x, '$.variants[*].is_control') AS controls, length(x->>'salt') AS salt_length
  FROM abx.create_experiment('{"code": "defaults", "variants": [{"key": "a"}, {"key": "b"}]}') x;

-- Codes are unique per organization; the same code may exist once globally and once per organization.
SELECT t.err($$SELECT abx.create_experiment(t.spec('defaults'))$$);
SELECT abx.create_organization('acme', 'Acme Corp') > 0 AS acme_created;
SELECT abx.create_organization('globex') > 0 AS globex_created;
SELECT abx.create_experiment(t.spec('defaults'), 'acme')->>'organization' AS organization;
SELECT t.err($$SELECT abx.create_experiment(t.spec('defaults'), 'acme')$$);
SELECT t.err($$SELECT abx.create_organization('Bad Key')$$);
SELECT t.err($$SELECT abx.create_organization('acme')$$);

-- Updates in draft may change anything, including replacing the variants.
SELECT x->>'name' AS name, jsonb_path_query_array(x, '$.variants[*].key') AS variants,
       jsonb_path_query_array(x, '$.variants[*].weight') AS weights
  FROM abx.update_experiment('defaults', '{"name": "Defaults", "variants": [{"key": "x", "weight": 1}, {"key": "y", "weight": 3}, {"key": "z", "weight": 0}]}') x;
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"coverage": -1}')$$);
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"nonsense": true}')$$);
SELECT t.err($$SELECT abx.update_experiment('defaults', NULL)$$);

-- Running: weights, configs, coverage and targeting may change and variants may be added ...
SELECT abx.start('defaults')->>'status';
SELECT jsonb_path_query_array(x, '$.variants[*].key') AS variants,
       jsonb_path_query_array(x, '$.variants[*].weight') AS weights, x->'targeting' AS targeting
  FROM abx.update_experiment('defaults', '{"variants": [{"key": "y", "weight": 1}, {"key": "w", "weight": 2}], "targeting": {"lang": "fr"}}') x;
-- ... but nothing that would break stored assignments.
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"variants": [{"key": "y", "is_control": true}]}')$$);
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"salt": "new-salt"}')$$);
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"kind": "bandit"}')$$);  -- a bandit needs a rate metric first
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"kind": "bandit", "metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}}}')$$);
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"code": "renamed"}')$$);
-- Completed experiments are frozen.
SELECT abx.complete('defaults')->>'status';
SELECT t.err($$SELECT abx.update_experiment('defaults', '{"name": "late"}')$$);
SELECT key, weight, is_control, position FROM abx.variants
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'defaults' AND organization_id IS NULL)
 ORDER BY position;
SELECT abx.experiment('defaults', 'acme')->>'status' AS acme_status,
       abx.experiment('defaults')->>'status' AS global_status;
-- A global experiment's document is readable from every organization.
SELECT abx.experiment('defaults', 'globex')->>'organization' IS NULL AS global_document;
RESET abx.pinned_now;
