-- SLO guardrails on Prometheus (seed 000): the configuration as the watcher reads it, checks
-- recorded by hand as the SLO watcher records them (abx.slo_record), the consecutive-breach
-- count, the action under the autonomy gate (rollback, pause, or a policy denial), the outage
-- notifications, readiness, and reading the state back. The watcher itself: tests/shell/slo.sh.
SET abx.pinned_now = '2026-09-01 10:00:00+00';
SET timezone = 'UTC';

-- Seed 000's defaults filled in; every mistake names its field.
SELECT (abx.slo_config('{"baseUrl": "http://prom:9090/"}') -> 'prometheus') - 'queryLatency'::text - 'queryErrorRate'::text AS defaults;
SELECT abx.slo_config('{"baseUrl": "http://prom:9090"}') #>> '{prometheus,queryLatency}' AS query_latency;
SELECT abx.slo_config('{"baseUrl": "http://prom:9090"}') #>> '{prometheus,queryErrorRate}' AS query_error_rate;
SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "intervalMs": 2000}') #>> '{prometheus,timeoutMs}' AS timeout_bounded_by_interval;
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "window": "5 minutes"}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "breachChecks": 0}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "intervalMs": "30000"}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "intervalMs": 1000, "timeoutMs": 5000}')$$);
SELECT t.err($$SELECT abx.slo_config('{"intervalMs": 1000}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "file:///etc/passwd"}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://ops:secret@prom:9090"}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090", "querylatency": "up"}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090"}', '{"p95_latency_ms": -5}')$$);
SELECT t.err($$SELECT abx.slo_config('{"baseUrl": "http://prom:9090"}', '{"error_rate_threshold": 2}')$$);
SELECT t.err($$SELECT abx.slo_config('[]')$$);
-- The routes check the same (seed 000's start/stop: body.prometheus.*).
SELECT t.err($$SELECT abx.http_slo('{"prometheus": {"baseUrl": "http://p", "window": "5x"}}', 'body', 'prometheus')$$);
SELECT t.err($$SELECT abx.http_slo('{"prometheus": {"baseUrl": "http://p", "breachChecks": 1.5}}', 'body', 'prometheus')$$);
SELECT t.err($$SELECT abx.http_slo('{"prometheus": {"intervalMs": 30000}}', 'body', 'prometheus')$$);
SELECT abx.http_slo('{"prometheus": {"baseUrl": "http://p", "breachChecks": 2, "timeoutMs": 500}}', 'body', 'prometheus');

-- A running experiment watched: seed 000's targets, checked every second, two breaches act.
SELECT abx.create_experiment(t.spec('slo_run'))->>'code';
SELECT abx.start('slo_run')->>'status';
SELECT s - 'config' AS set_slo, (s #> '{config,prometheus}') - 'queryLatency'::text - 'queryErrorRate'::text AS prometheus
  FROM abx.set_slo('slo_run', '{"p95_latency_ms": 800, "error_rate_threshold": 0.02}',
                   '{"baseUrl": "http://prom:9090", "intervalMs": 1000, "window": "15s", "breachChecks": 2}') s;
SELECT t.err($$SELECT abx.set_slo('slo_run', prometheus => '{"baseUrl": "http://prom:9090", "window": "0s"}')$$);
SELECT t.err($$SELECT abx.set_slo('slo_run', '{"p95_latency_ms": "fast"}')$$);
SELECT t.err($$SELECT abx.set_slo('no_such', NULL, '{"baseUrl": "http://prom:9090"}')$$);
SELECT change -> 'before' AS before, change #> '{after,sla_target}' AS after_targets
  FROM abx.audit_log WHERE action = 'experiment.slo' AND change #>> '{after,prometheus,baseUrl}' = 'http://prom:9090';

-- One check as the watcher records it: values (NULL: no data) or the failure to ask.
CREATE FUNCTION t.check(code text, latency double precision, error_rate double precision,
                        failure text DEFAULT NULL) RETURNS TABLE (outcome text, consecutive int, action text, message text)
LANGUAGE sql AS $$
  SELECT r ->> 'outcome', (r ->> 'consecutive')::int, r ->> 'action', r ->> 'message'
    FROM abx.slo_record((SELECT id FROM abx.experiments WHERE code = $1), $2, $3, $4) r
$$;
SELECT * FROM t.check('slo_run', 120, 0.001);
SELECT * FROM t.check('slo_run', 950, 0.001);
-- No data and errors neither count nor clear; an outage is announced once.
SELECT * FROM t.check('slo_run', NULL, NULL);
SELECT * FROM t.check('slo_run', 100, NULL);
SELECT * FROM t.check('slo_run', NULL, NULL, 'latency query: Prometheus at http://prom:9090 unreachable: Connection refused');
SELECT * FROM t.check('slo_run', NULL, NULL, 'latency query: Prometheus at http://prom:9090 unreachable: Connection refused');
SELECT type, level, payload FROM abx.outbox WHERE type LIKE 'experiment.slo%' ORDER BY id;
SELECT status FROM abx.experiments WHERE code = 'slo_run';
-- The second breach in a row: paused (reversible), audited with the evidence, critical.
SELECT * FROM t.check('slo_run', 950, 0.001);
SELECT status FROM abx.experiments WHERE code = 'slo_run';
SELECT type, level, payload - 'evidence' AS payload, payload #> '{evidence,queries,latency}' AS latency_query
  FROM abx.outbox WHERE id > (SELECT max(id) FROM abx.outbox WHERE type = 'experiment.slo_unavailable') ORDER BY id;
SELECT action, change - 'evidence' AS change, (change -> 'evidence') - 'queries'::text AS evidence
  FROM abx.audit_log WHERE action IN ('experiment.guardrail_action', 'experiment.pause') AND target = 'experiment:' || (SELECT id FROM abx.experiments WHERE code = 'slo_run')
 ORDER BY seq;
-- Paused: nothing more to do, the count starts again.
SELECT * FROM t.check('slo_run', 950, 0.001);
SELECT s - 'observations' - 'config' - 'last' AS slo_status, s #> '{last,outcome}' AS last_outcome,
       jsonb_path_query_array(s -> 'observations', '$[*].outcome') AS outcomes
  FROM abx.slo_status('slo_run') s;
-- Seed 000's metrics route shows the same state.
SELECT m #> '{slo,watched}' AS watched, m #> '{slo,consecutive}' AS consecutive, m #> '{slo,last,action}' AS last_action,
       jsonb_array_length(m #> '{slo,observations}') AS observations
  FROM abx.http_meta_metrics('{"id": "slo_run"}', '{}', 'null') m;
SELECT outcome, latency_p95_ms, error_rate, consecutive, action FROM abx.slo_observations
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'slo_run') ORDER BY id;

-- A promoted experiment: the breach (here the error rate) rolls the promotion back.
SELECT abx.create_experiment(t.spec('slo_promo'))->>'code';
SELECT abx.start('slo_promo')->>'status';
SELECT abx.promote('slo_promo', 'treatment', 'shipped') ->> 'winner' AS promoted;
SELECT abx.set_slo('slo_promo', '{"error_rate_threshold": 0.02}', '{"baseUrl": "http://prom:9090", "breachChecks": 1}') ->> 'watched' AS watched;
SELECT * FROM t.check('slo_promo', NULL, 0.05);
SELECT status, promoted_variant FROM jsonb_to_record(abx.experiment('slo_promo')) AS x(status text, promoted_variant text);
SELECT h -> 0 ->> 'rolled_back_by' IS NOT NULL AS rolled_back, h -> 0 ->> 'rollback_reason' AS reason
  FROM abx.promotion_history('slo_promo') h;
SELECT payload ->> 'action' AS action, payload ->> 'remedy' AS remedy, level FROM abx.outbox
 WHERE type = 'experiment.slo_breached' AND payload ->> 'experiment' = 'slo_promo';

-- Autonomy off for the organization: a policy denial and a critical "action needed", once per
-- breach; nothing changes. A new breach after an ok check is denied (and notified) again.
SELECT abx.create_organization('slo_calm') > 0 AS created;
SELECT abx.set_autonomy('slo_calm', false) ->> 'allow_autonomy' AS allow_autonomy;
SELECT abx.create_experiment(t.spec('slo_calm_exp'), 'slo_calm')->>'code';
SELECT abx.start('slo_calm_exp', 'slo_calm')->>'status';
SELECT abx.set_slo('slo_calm_exp', '{"p95_latency_ms": 800}', '{"baseUrl": "http://prom:9090", "breachChecks": 2}', 'slo_calm') ->> 'organization' AS organization;
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT status FROM abx.experiments WHERE code = 'slo_calm_exp';
SELECT actor, outcome, error_code, change ->> 'feature' AS feature, change ->> 'reason' AS reason, change ->> 'remedy' AS remedy
  FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'experiment' = 'slo_calm_exp';
SELECT level, payload ->> 'action' AS action, payload ->> 'action_needed' AS action_needed FROM abx.outbox
 WHERE type = 'experiment.slo_breached' AND payload ->> 'experiment' = 'slo_calm_exp';
SELECT * FROM t.check('slo_calm_exp', 100, NULL);
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT count(*) AS denials FROM abx.audit_log WHERE action = 'policy.deny' AND change ->> 'experiment' = 'slo_calm_exp';
SELECT abx.set_autonomy('slo_calm', true) ->> 'allow_autonomy' AS allow_autonomy;
-- Autonomy back on while the breach goes on: the next breached check acts.
SELECT * FROM t.check('slo_calm_exp', 900, NULL);
SELECT status FROM abx.experiments WHERE code = 'slo_calm_exp';

-- A configuration stored before it was checked this strictly is an error, never a breach.
SELECT abx.create_experiment(t.spec('slo_old'))->>'code';
SELECT abx.start('slo_old')->>'status';
SELECT abx.http_store_slo((SELECT id FROM abx.experiments WHERE code = 'slo_old'), '{"p95_latency_ms": 800}', '{"intervalMs": 30000}');
SELECT * FROM t.check('slo_old', 5000, NULL);
SELECT abx.slo_status('slo_old') ->> 'config_error' AS config_error;
-- Not watched at all: refused.
SELECT t.err($$SELECT abx.slo_record((SELECT id FROM abx.experiments WHERE code = 'sweep'), 1, 0)$$);
SELECT t.err($$SELECT abx.slo_record(-1, 1, 0)$$);

-- Readiness: the slo check warns naming the experiments whose last check could not ask
-- Prometheus, and those not checked for three intervals (the watcher is not running).
SELECT * FROM t.check('slo_old', 100, NULL);
SELECT r ->> 'status' AS status, r #> '{checks,slo}' AS slo FROM abx.http_readiness('{}', '{}', '{}') r;
SELECT * FROM t.check('slo_promo', NULL, NULL, 'error-rate query: Prometheus: bad_data: parse error');
SELECT r ->> 'status' AS status, r #> '{checks,slo}' AS slo FROM abx.http_readiness('{}', '{}', '{}') r;
SET abx.pinned_now = '2026-09-01 10:10:00+00';
SELECT r ->> 'status' AS status, r #> '{checks,slo}' AS slo FROM abx.http_readiness('{}', '{}', '{}') r;
SET abx.pinned_now = '2026-09-01 10:00:00+00';

-- Removing the source stops the watching (JSON null removes, SQL NULL keeps).
SELECT abx.set_slo('slo_promo', prometheus => 'null') - 'config' AS unwatched;
SELECT sla_target, prometheus FROM abx.experiments WHERE code = 'slo_promo';
SELECT abx.set_slo(code, prometheus => 'null', organization => o) ->> 'watched' AS watched
  FROM (VALUES ('slo_old', NULL), ('slo_calm_exp', 'slo_calm'), ('slo_run', NULL)) v(code, o);
SELECT r #> '{checks,slo}' AS slo FROM abx.http_readiness('{}', '{}', '{}') r;

RESET abx.pinned_now;
RESET timezone;
ALTER SYSTEM RESET abx.slo_watcher;
SELECT pg_reload_conf();
