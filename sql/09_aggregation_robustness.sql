-- Aggregation survives any stored data, restores, rewrites and metric changes; results never show
-- a figure they do not have.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;
SET abx.pinned_now = '2026-03-02 10:00:00+00';

-- One experiment with a value no event can have any more (a row of an older abx, written here
-- directly): its run fails and is reported; the other experiment is aggregated all the same.
SELECT abx.create_experiment(t.spec('poisoned'))->>'code';
SELECT abx.start('poisoned')->>'status';
SELECT abx.create_experiment(t.spec('healthy'))->>'code';
SELECT abx.start('healthy')->>'status';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('poisoned', 'p1');
SELECT variant IS NOT NULL AS assigned FROM abx.assign('healthy', 'h1');
SELECT status FROM abx.track('healthy', 'h1', 'purchase', 12.5);
INSERT INTO abx.events (experiment_id, subject, variant_id, event_key, value, ts)
SELECT a.experiment_id, a.subject, a.variant_id, 'purchase', 1e-170, abx.now()
  FROM abx.assignments a JOIN abx.experiments x ON x.id = a.experiment_id WHERE x.code = 'poisoned';
SELECT experiment_code, status, events, error_code, error_message
  FROM abx.aggregate() WHERE experiment_code IN ('poisoned', 'healthy') ORDER BY 1;
SELECT x.code, s.failures, s.last_error_code, s.runs
  FROM abx.aggregation_state s JOIN abx.experiments x ON x.id = s.experiment_id
 WHERE x.code IN ('poisoned', 'healthy') ORDER BY 1;
-- The failure is reported the same way when the experiment is named.
SELECT status, error_code FROM abx.aggregate('poisoned');
-- The same value is refused at the door now.
SELECT t.err($$SELECT abx.track('healthy', 'h1', 'purchase', 1e-170)$$);
SELECT t.err($$SELECT abx.track('healthy', 'h1', 'purchase', 2e154)$$);

-- Nothing to aggregate in a draft: said so, not silently run.
SELECT abx.create_experiment(t.spec('still-draft'))->>'status';
SELECT t.err($$SELECT * FROM abx.aggregate('still-draft')$$);

-- A metric added after the last aggregation has no figures until the next one: NULL and a note,
-- never n = assigned with a mean of 0.
SELECT abx.update_experiment('healthy', '{"metrics": {"primary": {"key": "buyers", "kind": "rate", "event": "purchase"}}}')->'metrics'->'primary'->>'key';
SELECT variant, metric, n, mean, note FROM abx.results('healthy') ORDER BY variant;
SELECT status, events FROM abx.aggregate('healthy');
SELECT variant, metric, n, mean, note FROM abx.results('healthy') ORDER BY variant;
-- Redefined under the same key (another event): the old figures are not shown as the new metric's.
SELECT abx.update_experiment('healthy', '{"metrics": {"primary": {"key": "buyers", "kind": "rate", "event": "signup"}}}')->'metrics'->'primary'->>'event';
SELECT variant, metric, n, mean, note FROM abx.results('healthy') ORDER BY variant;

-- The sequential test's memory, observed: between two aggregations the naive p-value rises while
-- the always-valid one keeps its running minimum; seq_looks counts the looks.
SELECT abx.create_experiment(t.spec('looks', '{"metrics": {"primary": {"key": "conv", "kind": "rate", "event": "buy"}}}'))->>'code';
SELECT abx.start('looks')->>'status';
CREATE TEMP TABLE looks_subjects AS
SELECT i, (abx.assign('looks', 'l' || i)).variant FROM generate_series(1, 2000) i;
-- Round 1: treatment converts at 20 %, control at 10 %.
SELECT count(*) AS tracked FROM looks_subjects s, LATERAL abx.track('looks', 'l' || s.i, 'buy')
 WHERE s.i <= 1000 AND ((s.variant = 'treatment' AND s.i % 5 = 0) OR (s.variant = 'control' AND s.i % 10 = 0));
SELECT events FROM abx.aggregate('looks');
CREATE TEMP TABLE look1 AS SELECT p_value, seq_p_value, seq_lower, seq_upper, seq_looks
  FROM abx.results('looks') WHERE variant = 'treatment';
-- Round 2: control catches up.
SELECT count(*) AS tracked FROM looks_subjects s, LATERAL abx.track('looks', 'l' || s.i, 'buy')
 WHERE s.i > 1000 AND s.variant = 'control' AND s.i % 5 = 0;
SELECT events FROM abx.aggregate('looks');
SELECT r.p_value > l.p_value AS naive_p_rose,
       r.seq_p_value <= l.seq_p_value AS always_valid_p_did_not_rise,
       r.seq_lower >= l.seq_lower AND r.seq_upper <= l.seq_upper AS interval_only_narrowed,
       l.seq_looks AS looks_before, r.seq_looks AS looks_after
  FROM abx.results('looks') r, look1 l WHERE r.variant = 'treatment';
SELECT variant, seq_looks FROM abx.results('looks') ORDER BY variant;

-- Exposures count subjects: one subject viewing ten times is one exposure (two exposed subjects in
-- control, fewer than the 3 required, although they viewed 11 times).
SELECT abx.create_experiment(t.spec('exposed', '{"metrics": {"primary": {"key": "conv", "kind": "rate", "event": "buy"}},
  "winner_policy": {"exposure_event": "view", "min_exposures": 3, "min_assignments": 1}}'))->>'code';
SELECT abx.start('exposed')->>'status';
CREATE TEMP TABLE exposed AS
SELECT i, (abx.assign('exposed', 'e' || i)).variant FROM generate_series(1, 12) i;
CREATE TEMP TABLE exposed_rank AS
SELECT i, variant, row_number() OVER (PARTITION BY variant ORDER BY i) AS k FROM exposed;
-- control: its first subject views 10 times, its second once; treatment: every subject once.
SELECT count(*) AS views FROM exposed_rank r, generate_series(1, 10) n,
       LATERAL abx.track('exposed', 'e' || r.i, 'view')
 WHERE (r.variant = 'control' AND (r.k = 1 OR (r.k = 2 AND n = 1))) OR (r.variant = 'treatment' AND n = 1);
SELECT variant, count(*) >= 3 AS at_least_3 FROM exposed GROUP BY 1 ORDER BY 1;
SELECT events FROM abx.aggregate('exposed');
SELECT value->>'detail' AS min_exposures FROM jsonb_each(abx.evaluate_winner('exposed')->'checks')
 WHERE key = 'min_exposures';

-- Bandits obey weights: an arm set to weight 0 gets no new subjects, min_share notwithstanding.
SELECT abx.create_experiment('{"code": "bandit-w", "kind": "bandit", "salt": "bw",
  "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "click", "kind": "rate", "event": "click"}},
  "analysis": {"bandit": {"min_share": 0.2, "min_samples": 0, "draws": 2000, "seed": 3}}}')->>'kind';
SELECT abx.start('bandit-w')->>'status';
SELECT count(*) AS assigned FROM generate_series(1, 300) i, LATERAL abx.assign('bandit-w', 'w' || i);
SELECT abx.update_experiment('bandit-w', '{"variants": [{"key": "c", "weight": 0}]}')->'variants'->2->>'weight' AS c_weight;
SELECT status FROM abx.aggregate('bandit-w');
SELECT v.key, round(b.share::numeric, 3) AS share FROM abx.bandit_arms b JOIN abx.variants v ON v.id = b.variant_id
  JOIN abx.experiments x ON x.id = b.experiment_id WHERE x.code = 'bandit-w' ORDER BY 1;
SELECT count(*) AS new_subjects_on_c
  FROM generate_series(1, 500) i, LATERAL abx.assign('bandit-w', 'new-w' || i) a WHERE a.variant = 'c';

-- A cancel or statement_timeout stops a long computation (here 10^7 Monte-Carlo draws per run).
SELECT abx.create_experiment('{"code": "slow-bandit", "kind": "bandit", "salt": "sb",
  "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}, {"key": "d"}, {"key": "e"}, {"key": "f"}, {"key": "g"}, {"key": "h"}],
  "metrics": {"primary": {"key": "click", "kind": "rate", "event": "click"}},
  "analysis": {"bandit": {"min_samples": 0, "draws": 10000000}}}')->>'code';
SELECT abx.start('slow-bandit')->>'status';
SELECT count(*) AS assigned FROM generate_series(1, 100) i, LATERAL abx.assign('slow-bandit', 's' || i);
SET statement_timeout = '300ms';
SELECT status FROM abx.aggregate('slow-bandit');
RESET statement_timeout;

-- The assignment cache notices a rewritten experiments table (CLUSTER, VACUUM FULL move rows but
-- keep their xmin): a paused experiment assigns nobody new, in this session that cached it.
SELECT abx.create_experiment(t.spec('rewritten'))->>'code';
SELECT abx.start('rewritten')->>'status';
SELECT reason FROM abx.assign('rewritten', 'r1');
SELECT reason FROM abx.assign('rewritten', 'r1');
SELECT abx.pause('rewritten')->>'status';
CLUSTER abx.experiments USING experiments_pkey;
SELECT variant, reason FROM abx.assign('rewritten', 'r2');
SELECT abx.resume('rewritten')->>'status';
SELECT reason FROM abx.assign('rewritten', 'r3');
SELECT abx.pause('rewritten')->>'status';
VACUUM FULL abx.experiments;
SELECT variant, reason FROM abx.assign('rewritten', 'r4');
SELECT reason FROM abx.assign('rewritten', 'r1');
VACUUM FULL abx.assignments;
SELECT reason FROM abx.assign('rewritten', 'r1');

-- Logical replication: rows an apply worker (replica mode) writes get this cluster's transaction
-- id, so the subscriber's aggregation window counts them.
SELECT abx.resume('rewritten')->>'status';
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO abx.events (experiment_id, subject, variant_id, event_key, value, ts, xid)
SELECT a.experiment_id, a.subject, a.variant_id, 'replicated', 1, abx.now(), '123456789'
  FROM abx.assignments a JOIN abx.experiments x ON x.id = a.experiment_id WHERE x.code = 'rewritten' AND a.subject = 'r1';
SELECT xid = pg_current_xact_id() AS stamped_locally FROM abx.events WHERE event_key = 'replicated';
COMMIT;
SELECT events FROM abx.aggregate('rewritten');
RESET abx.pinned_now;
