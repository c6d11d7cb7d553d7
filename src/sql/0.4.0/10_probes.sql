
-- ---------------------------------------------------------------------------------------------
-- Seed 003: readiness, metrics, audit statistics.
-- ---------------------------------------------------------------------------------------------

-- The runbook's states from the probes' facts: a check is ok, warn or fail; the service is ready
-- (all ok), degraded (a warn) or not_ready (a fail). queue fails without a running scheduler (no
-- job runs), warns after failed job runs in the last hour or a backlog of more than 10,000
-- undelivered notifications; outbound (delivery of the outbox) warns when a notification waits
-- longer than 15 minutes. The gateway may answer not_ready with 503.
CREATE FUNCTION abx.readiness_report(facts jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    running boolean;
    failed bigint;
    backlog bigint;
    waiting double precision;
    queue text;
    outbound text;
BEGIN
    IF facts IS NULL THEN
        RAISE EXCEPTION 'facts must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    running := coalesce((facts ->> 'scheduler_enabled')::boolean, false)
               AND coalesce((facts ->> 'scheduler_running')::boolean, false);
    failed := coalesce((facts ->> 'failed_job_runs')::bigint, 0);
    backlog := coalesce((facts ->> 'outbox_backlog')::bigint, 0);
    waiting := (facts ->> 'oldest_undelivered_seconds')::double precision;
    queue := CASE WHEN NOT running THEN 'fail' WHEN failed > 0 OR backlog > 10000 THEN 'warn' ELSE 'ok' END;
    outbound := CASE WHEN waiting > 900 THEN 'warn' ELSE 'ok' END;
    RETURN jsonb_build_object(
        'status', CASE WHEN queue = 'fail' THEN 'not_ready'
                       WHEN queue = 'warn' OR outbound = 'warn' THEN 'degraded' ELSE 'ready' END,
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
                'warn_after_seconds', 900)));
END
$$;

-- GET /readiness (public, as abx_gateway). Counts are bounded so the probe stays cheap.
CREATE FUNCTION abx.http_readiness(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    clock timestamptz := abx.now();
BEGIN
    PERFORM abx.http_args(path, query, body);
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
            (SELECT extract(epoch FROM clock - o.created_at) FROM abx.outbox o
              WHERE o.delivered_at IS NULL ORDER BY o.id LIMIT 1)));
END
$$;

-- GET /api/meta/metrics (meta:read). The counts that live in the database, as
--   {"counters": [{"name": "experiments_total", "help": "...", "labels": {"status": "running"},
--                  "value": 3}, ...]}
-- one entry per series, ordered by name then labels; the gateway prints Prometheus' text format
-- (one HELP and TYPE counter per name) next to its own series. Rows are those of the session's
-- organization, as in abx's views. Assignments and events are as of the last aggregation
-- (abx.variant_assignments, abx.metric_buckets: retention deletes buckets after
-- abx.metrics_retention_days, which a scraper sees as a counter reset).
CREATE FUNCTION abx.http_metrics(path jsonb, query jsonb, body jsonb) RETURNS jsonb
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
         GROUP BY e.id, e.code, b.event_key)
    SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.name, 'help', s.help, 'labels', s.labels,
                                                 'value', s.value) ORDER BY s.name, s.labels::text), '[]')
      INTO counters FROM series s;
    RETURN jsonb_build_object('counters', counters);
END
$$;

-- GET /api/meta/audit-stats (meta:read): the refusals of abx.audit_failures, most frequent first
-- (query.limit of them, 10 by default), and the policy denials by feature and reason.
CREATE FUNCTION abx.http_audit_stats(path jsonb, query jsonb, body jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC' AS
$$
DECLARE
    top double precision;
BEGIN
    PERFORM abx.http_args(path, query, body, 'meta:read', 'abx.http_audit_stats', ARRAY['limit', 'orgId']);
    top := coalesce(abx.http_number(query, 'query', 'limit', 1, 100), 10);
    RETURN jsonb_build_object(
        'total_failures', (SELECT coalesce(sum(f.entries), 0) FROM abx.audit_failures f),
        'top_errors', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                  'action', t.action, 'outcome', t.outcome, 'error_code', t.error_code,
                                  'count', t.entries, 'first_at', t.first_at, 'last_at', t.last_at)
                              ORDER BY t.entries DESC, t.action, t.error_code), '[]')
                         FROM (SELECT * FROM abx.audit_failures f
                                ORDER BY f.entries DESC, f.action, f.error_code LIMIT top::integer) t),
        'policy_denies', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'feature', d.feature, 'reason', d.reason, 'count', d.n)
                                 ORDER BY d.n DESC, d.feature, d.reason), '[]')
                            FROM (SELECT a.change ->> 'feature' AS feature, a.change ->> 'reason' AS reason,
                                         count(*) AS n
                                    FROM abx.audit_log a
                                   WHERE a.outcome <> 'ok' AND a.action = 'policy.deny'
                                     AND abx.organization_visible(a.organization_id)
                                   GROUP BY 1, 2) d));
END
$$;
