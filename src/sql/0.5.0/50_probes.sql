
-- ---------------------------------------------------------------------------------------------
-- Readiness (seed 003's /readiness) and the database's Prometheus series as of 0.5.0, in one
-- place. Readiness:
-- - outbound warns while a delivery has been pending more than 15 minutes (events without a
--   target are done when written; rows written before 0.5.0 had none and do not count) or a dead
--   letter waits for an operator (retry or discard);
-- - slo warns while a watched experiment's last check could not ask Prometheus (error) or its
--   checks stopped (none for three intervals and 30 s: the watcher is not running); the
--   experiments are named.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION abx.readiness_report(facts jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    running boolean;
    failed bigint;
    backlog bigint;
    waiting double precision;
    dead bigint;
    queue text;
    outbound text;
    slo_failing jsonb := coalesce(facts -> 'slo_failing', '[]');
    slo_stale jsonb := coalesce(facts -> 'slo_stale', '[]');
    slo text;
BEGIN
    IF facts IS NULL THEN
        RAISE EXCEPTION 'facts must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    running := coalesce((facts ->> 'scheduler_enabled')::boolean, false)
               AND coalesce((facts ->> 'scheduler_running')::boolean, false);
    failed := coalesce((facts ->> 'failed_job_runs')::bigint, 0);
    backlog := coalesce((facts ->> 'outbox_backlog')::bigint, 0);
    waiting := (facts ->> 'oldest_undelivered_seconds')::double precision;
    dead := coalesce((facts ->> 'dead_letters')::bigint, 0);
    queue := CASE WHEN NOT running THEN 'fail' WHEN failed > 0 OR backlog > 10000 THEN 'warn' ELSE 'ok' END;
    outbound := CASE WHEN waiting > 900 OR dead > 0 THEN 'warn' ELSE 'ok' END;
    slo := CASE WHEN jsonb_array_length(slo_failing) > 0 OR jsonb_array_length(slo_stale) > 0 THEN 'warn'
                ELSE 'ok' END;
    RETURN jsonb_build_object(
        'status', CASE WHEN queue = 'fail' THEN 'not_ready'
                       WHEN queue = 'warn' OR outbound = 'warn' OR slo = 'warn' THEN 'degraded' ELSE 'ready' END,
        'checks', jsonb_build_object(
            'db', jsonb_build_object('status', 'ok'),
            'queue', jsonb_build_object(
                'status', queue,
                'scheduler', jsonb_build_object('enabled', coalesce((facts ->> 'scheduler_enabled')::boolean, false),
                                                'running', coalesce((facts ->> 'scheduler_running')::boolean, false)),
                'failed_job_runs_last_hour', failed,
                'outbox_backlog', backlog),
            'outbound', jsonb_build_object(
                'status', outbound,
                'oldest_undelivered_seconds', waiting,
                'warn_after_seconds', 900,
                'pending_deliveries', coalesce((facts ->> 'pending_deliveries')::bigint, 0),
                'dead_letters', dead),
            'slo', jsonb_build_object(
                'status', slo,
                'watched', coalesce((facts ->> 'slo_watched')::bigint, 0),
                'prometheus_unreachable', slo_failing,
                'not_checked', slo_stale)));
END
$$;

CREATE OR REPLACE FUNCTION abx.http_readiness(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    clock timestamptz := abx.now();
    slo record;
BEGIN
    PERFORM abx.http_args(path, query, body);
    -- The watched experiments (as the watcher picks them) and their latest check; bounded.
    SELECT count(*) AS watched,
           coalesce(jsonb_agg(w.code ORDER BY w.code) FILTER (WHERE w.outcome = 'error'), '[]') AS failing,
           coalesce(jsonb_agg(w.code ORDER BY w.code)
                    FILTER (WHERE coalesce(w.at, w.since) < clock - 3 * w.every - interval '30 seconds'), '[]') AS stale
      INTO slo
      FROM (SELECT e.code, l.at, l.outcome, greatest(e.started_at, e.updated_at) AS since,
                   coalesce((e.prometheus ->> 'intervalMs')::double precision, 30000) * interval '1 millisecond' AS every
              FROM abx.experiments e
              LEFT JOIN LATERAL (SELECT o.at, o.outcome FROM abx.slo_observations o
                                  WHERE o.experiment_id = e.id ORDER BY o.at DESC, o.id DESC LIMIT 1) l ON true
             WHERE e.prometheus IS NOT NULL
               AND (e.status = 'running' OR (e.status = 'completed' AND e.promoted_variant_id IS NOT NULL))
             LIMIT 1000) w;
    RETURN abx.readiness_report(jsonb_build_object(
        'scheduler_enabled', current_setting('abx.scheduler')::boolean,
        'scheduler_running', EXISTS (SELECT FROM pg_stat_activity a
                                      WHERE a.backend_type = 'abx scheduler' AND a.datname = current_database()),
        'failed_job_runs', (SELECT count(*) FROM abx.job_runs r
                             WHERE r.status IN ('failed', 'timeout', 'interrupted')
                               AND coalesce(r.finished_at, r.started_at) BETWEEN clock - interval '1 hour' AND clock),
        'outbox_backlog', (SELECT count(*) FROM (SELECT FROM abx.outbox o WHERE o.delivered_at IS NULL
                                                  LIMIT 10001) b),
        'oldest_undelivered_seconds',
            (SELECT extract(epoch FROM greatest(clock, abx.delivery_now()) - d.created_at) FROM abx.deliveries d
              WHERE d.status = 'pending' ORDER BY d.outbox_id LIMIT 1),
        'pending_deliveries', (SELECT count(*) FROM (SELECT FROM abx.deliveries d WHERE d.status = 'pending'
                                                      LIMIT 10001) p),
        'dead_letters', (SELECT count(*) FROM (SELECT FROM abx.deliveries d WHERE d.status = 'dead'
                                                LIMIT 10001) x),
        'slo_watched', slo.watched, 'slo_failing', slo.failing, 'slo_stale', slo.stale));
END
$$;

-- GET /api/meta/metrics and /metrics: the database's series, since 0.5.0 with per-variant series
-- (experiment_variant_assignments, experiment_variant_events_total, experiment_bandit_alpha/beta/
-- share) and the deliveries' gauges (abx_deliveries{status,kind},
-- abx_delivery_oldest_pending_seconds); a series whose name does not end in _total is a gauge.
CREATE OR REPLACE FUNCTION abx.http_metrics(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    counters jsonb;
BEGIN
    PERFORM abx.http_args(path, query, body, 'meta:read', 'abx.http_metrics', ARRAY['orgId']);
    WITH series(name, help, labels, value) AS (
        SELECT 'policy_denies_total', 'Actions refused by the autonomy policy, by feature and reason',
               jsonb_build_object('feature', coalesce(a.change ->> 'feature', ''),
                                  'reason', coalesce(a.change ->> 'reason', '')),
               count(*)
          FROM abx.audit_log a
         WHERE a.outcome <> 'ok' AND a.action = 'policy.deny' AND abx.organization_visible(a.organization_id)
         GROUP BY 3
        UNION ALL
        SELECT 'audit_failures_total', 'Refused actions in the audit log (denials and policy denials)',
               '{}'::jsonb, coalesce(sum(f.entries), 0)
          FROM abx.audit_failures f
        UNION ALL
        SELECT 'experiments_total', 'Experiments by status', jsonb_build_object('status', s.status),
               (SELECT count(*) FROM abx.experiments e
                 WHERE e.status = s.status AND abx.organization_visible(e.organization_id))
          FROM unnest(ARRAY['draft', 'running', 'paused', 'completed', 'archived']) s(status)
        UNION ALL
        SELECT 'experiment_assignments_total', 'Assigned subjects per experiment, as of the last aggregation',
               jsonb_build_object('experiment_id', e.id::text, 'experiment', e.code), sum(va.assigned)
          FROM abx.variant_assignments va JOIN abx.experiments e ON e.id = va.experiment_id
         WHERE abx.organization_visible(e.organization_id)
         GROUP BY e.id, e.code
        UNION ALL
        SELECT 'experiment_metrics_total', 'Events per experiment and event type, as of the last aggregation',
               jsonb_build_object('experiment_id', e.id::text, 'experiment', e.code, 'event_type', b.event_key),
               sum(b.count)
          FROM abx.metric_buckets b JOIN abx.experiments e ON e.id = b.experiment_id
         WHERE abx.organization_visible(e.organization_id)
         GROUP BY e.id, e.code, b.event_key
        UNION ALL
        -- Per variant (seed 002's Grafana panels: variant performance, funnel by variant, bandit
        -- evolution), as of the last aggregation run.
        SELECT 'experiment_variant_assignments', 'Assigned subjects per variant, as of the last aggregation',
               jsonb_build_object('experiment', e.code, 'variant', v.key), va.assigned
          FROM abx.variant_assignments va JOIN abx.experiments e ON e.id = va.experiment_id
          JOIN abx.variants v ON v.id = va.variant_id
         WHERE abx.organization_visible(e.organization_id)
        UNION ALL
        SELECT 'experiment_variant_events_total', 'Events per variant and event type, as of the last aggregation',
               jsonb_build_object('experiment', e.code, 'variant', v.key, 'event_type', b.event_key), sum(b.count)
          FROM abx.metric_buckets b JOIN abx.experiments e ON e.id = b.experiment_id
          JOIN abx.variants v ON v.id = b.variant_id
         WHERE abx.organization_visible(e.organization_id)
         GROUP BY e.code, v.key, b.event_key
        UNION ALL
        SELECT 'experiment_bandit_' || x.param,
               CASE x.param WHEN 'share' THEN 'Thompson-sampling allocation share per arm of a bandit'
                            ELSE 'Thompson-sampling posterior Beta(alpha, beta): ' || x.param || ' per arm of a bandit' END,
               jsonb_build_object('experiment', e.code, 'variant', v.key),
               CASE x.param WHEN 'alpha' THEN a.alpha WHEN 'beta' THEN a.beta ELSE a.share END
          FROM abx.bandit_arms a JOIN abx.experiments e ON e.id = a.experiment_id
          JOIN abx.variants v ON v.id = a.variant_id, unnest(ARRAY['alpha', 'beta', 'share']) x(param)
         WHERE abx.organization_visible(e.organization_id)
        UNION ALL
        -- Deliveries (webhooks, Slack, PagerDuty, email) waiting and dead-lettered, by channel.
        SELECT 'abx_deliveries', 'Deliveries of notifications pending or dead-lettered, by status and channel',
               jsonb_build_object('status', s.status, 'kind', k.kind),
               (SELECT count(*) FROM abx.deliveries d JOIN abx.delivery_targets t ON t.id = d.target_id
                 WHERE d.status = s.status AND t.kind = k.kind AND abx.organization_visible(d.organization_id))
          FROM unnest(ARRAY['pending', 'dead']) s(status), unnest(ARRAY['webhook', 'slack', 'pagerduty', 'email']) k(kind)
        UNION ALL
        SELECT 'abx_delivery_oldest_pending_seconds', 'Age of the oldest pending delivery (0 when none)',
               '{}'::jsonb,
               coalesce((SELECT extract(epoch FROM greatest(abx.now(), abx.delivery_now()) - d.created_at)
                           FROM abx.deliveries d
                          WHERE d.status = 'pending' AND abx.organization_visible(d.organization_id)
                          ORDER BY d.outbox_id LIMIT 1), 0))
    SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.name, 'help', s.help, 'labels', s.labels,
                                                 'value', s.value,
                                                 'type', CASE WHEN s.name LIKE '%\_total' THEN 'counter'
                                                              ELSE 'gauge' END)
                              ORDER BY s.name, s.labels::text), '[]')
      INTO counters FROM series s;
    RETURN jsonb_build_object('counters', counters);
END
$$;
