// abx.retention(): raw events older than abx.events_retention_days go, a whole daily partition at
// a time, never one holding events the aggregation has not folded in yet (with their idempotency
// keys); metric buckets older than abx.metrics_retention_days go; notifications settled longer
// ago than abx.outbox_retention_days go with their finished deliveries (never a pending delivery
// or a dead letter, which waits for an operator). Results stay: they come from the
// per-variant statistics, not from raw events or buckets (docs/operations.md, "Retention"). The
// recorded looks (abx.timeline) are thinned: every look of the last 2 days, then the last of each
// hour up to 30 days, the last of each day beyond; an experiment's latest look always stays.
#include "access.hpp"
#include "audit.hpp"
#include "settings.hpp"
#include "spi.hpp"

using namespace abx;
using namespace abx::pg;

namespace {

// Events the aggregation has not folded in: of an experiment never aggregated, newer than its
// bound, or counted in another cluster (a restore rebuilds from the raw events).
const char* const kUnaggregated = R"SQL(
  LEFT JOIN abx.aggregation_state s ON s.experiment_id = e.experiment_id
 WHERE s.experiment_id IS NULL OR e.xid >= s.xid_done
    OR s.system_identifier IS DISTINCT FROM (SELECT system_identifier FROM pg_catalog.pg_control_system()))SQL";

Statement old_partitions(R"SQL(
SELECT c.relname::text,
       pg_catalog.to_char(pg_catalog.to_date(substr(c.relname, 9), 'YYYYMMDD'), 'YYYY-MM-DD')
  FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'abx.events'::pg_catalog.regclass AND c.relname ~ '^events_p[0-9]{8}$'
   AND pg_catalog.to_date(substr(c.relname, 9), 'YYYYMMDD') + 1 <= $1::date
 ORDER BY c.relname)SQL",
                         {TEXTOID});

Statement cutoff_of(
    "SELECT pg_catalog.to_char(pg_catalog.timezone('UTC', $1)::date - $2, 'YYYY-MM-DD')",
    {TIMESTAMPTZOID, INT4OID});
Statement delete_buckets("DELETE FROM abx.metric_buckets WHERE bucket_start < $1",
                         {TIMESTAMPTZOID});

Statement delete_notifications(R"SQL(
DELETE FROM abx.outbox o
 WHERE o.delivered_at < $1
   AND NOT EXISTS (SELECT FROM abx.deliveries d
                    WHERE d.outbox_id = o.id AND d.status IN ('pending', 'dead')))SQL",
                               {TIMESTAMPTZOID});

// The runs whose looks go: older than 2 days, and not the latest of their hour (up to 30 days)
// or of their day (beyond), in UTC. Result and bandit rows of one run go together.
Statement thin_looks(R"SQL(
WITH runs AS (
  SELECT experiment_id, run, look_at FROM abx.result_looks WHERE look_at < $1 - interval '2 days'
  UNION
  SELECT experiment_id, run, look_at FROM abx.bandit_looks WHERE look_at < $1 - interval '2 days'),
doomed AS MATERIALIZED (
  SELECT experiment_id, run FROM (
    SELECT experiment_id, run,
           row_number() OVER (PARTITION BY experiment_id, look_at < $1 - interval '30 days',
                                           pg_catalog.date_trunc(CASE WHEN look_at < $1 - interval '30 days'
                                                                      THEN 'day' ELSE 'hour' END, look_at, 'UTC')
                              ORDER BY look_at DESC, run DESC) AS newest
      FROM runs) r
   WHERE newest > 1),
gone_results AS (
  DELETE FROM abx.result_looks l USING doomed d
   WHERE l.experiment_id = d.experiment_id AND l.run = d.run RETURNING 1),
gone_bandit AS (
  DELETE FROM abx.bandit_looks l USING doomed d
   WHERE l.experiment_id = d.experiment_id AND l.run = d.run RETURNING 1)
SELECT (SELECT count(*) FROM doomed), (SELECT count(*) FROM gone_results) + (SELECT count(*) FROM gone_bandit))SQL",
                     {TIMESTAMPTZOID});

}  // namespace

ABX_SQL_FUNCTION(abx_retention) {
    require_platform(Right::ExperimentsAdmin, "abx.retention");
    spi_connect();
    // No partition is created or dropped by anyone else meanwhile.
    spi_exec(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('abx.ensure_partitions'))");
    TimestampTz now = abx_now();
    std::int64_t events_days = events_retention_days(), metrics_days = metrics_retention_days();
    // Whole days: events before the start of the day `events_days` ago (UTC).
    Args c(2);
    c.set(0, TimestampTzGetDatum(now)).set(1, Int32GetDatum((int)events_days));
    cutoff_of.run(c.values(), c.nulls(), true, 1);
    std::string cutoff = *col_text(0, 1);

    nlohmann::json dropped = nlohmann::json::array(), kept = nlohmann::json::array();
    std::int64_t keys = 0, events = 0;
    Args p(1);
    p.set(0, text_datum(cutoff));
    std::uint64_t n = old_partitions.run(p.values(), p.nulls(), false);
    std::vector<std::pair<std::string, std::string>> candidates;
    for (std::uint64_t r = 0; r < n; ++r) candidates.emplace_back(*col_text(r, 1), *col_text(r, 2));
    for (const auto& [name, day] : candidates) {
        std::string table = "abx." + sql_identifier(name);
        // New rows wait (a backfilled event may still be landing here); the check below then
        // sees every committed row with a fresh snapshot.
        spi_exec("LOCK TABLE " + table + " IN SHARE MODE");
        spi_exec("SELECT e.experiment_id, count(*) FROM " + table + " e" + kUnaggregated +
                     " GROUP BY 1 ORDER BY 1",
                 false);
        if (SPI_processed > 0) {
            nlohmann::json waiting = nlohmann::json::object();
            for (std::uint64_t r = 0; r < SPI_processed; ++r)
                waiting[std::to_string(*col_int64(r, 1))] = *col_int64(r, 2);
            kept.push_back({{"partition", name},
                            {"day", day},
                            {"reason", "events not aggregated yet"},
                            {"unaggregated_events_by_experiment", waiting}});
            continue;
        }
        keys += (std::int64_t)spi_exec("DELETE FROM abx.event_idempotency k USING " + table +
                                       " e WHERE k.event_id = e.id");
        spi_exec("SELECT count(*) FROM " + table, true);
        std::int64_t rows = *col_int64(0, 1);
        events += rows;
        spi_exec("DROP TABLE " + table);
        dropped.push_back({{"partition", name}, {"day", day}, {"events", rows}});
    }
    // Old rows the default partition caught (backfilled timestamps), aggregated ones only.
    std::string old_default =
        "FROM abx.events_default e WHERE e.ts < '" + cutoff +
        " 00:00:00+00' AND NOT EXISTS (SELECT 1 FROM (SELECT e.experiment_id, e.xid) e " +
        kUnaggregated + ")";
    keys += (std::int64_t)spi_exec(
        "DELETE FROM abx.event_idempotency k USING abx.events_default d WHERE k.event_id = d.id "
        "AND d.id IN (SELECT e.id " +
        old_default + ")");
    std::int64_t from_default = (std::int64_t)spi_exec("DELETE " + old_default);

    Args b(1);
    b.set(0, TimestampTzGetDatum(now - metrics_days * USECS_PER_DAY));
    std::int64_t buckets = (std::int64_t)delete_buckets.run(b.values(), b.nulls(), false);
    Args o(1);
    o.set(0, TimestampTzGetDatum(now - outbox_retention_days() * USECS_PER_DAY));
    std::int64_t notifications =
        (std::int64_t)delete_notifications.run(o.values(), o.nulls(), false);

    Args t(1);
    t.set(0, TimestampTzGetDatum(now));
    thin_looks.run(t.values(), t.nulls(), false, 1);
    const std::int64_t looks_thinned = *col_int64(0, 1), look_rows = *col_int64(0, 2);

    nlohmann::json report = {{"events_before", cutoff},
                             {"dropped_partitions", dropped},
                             {"kept_partitions", kept},
                             {"events_dropped", events + from_default},
                             {"events_from_default_partition", from_default},
                             {"idempotency_keys_deleted", keys},
                             {"buckets_deleted", buckets},
                             {"notifications_deleted", notifications},
                             {"looks_thinned", looks_thinned},
                             {"look_rows_deleted", look_rows}};
    if (!dropped.empty() || from_default > 0 || buckets > 0 || notifications > 0 || !kept.empty() ||
        looks_thinned > 0) {
        AuditRecord r;
        r.action = "retention.run";
        r.target = "events";
        r.change = {{"after", report}};
        append_audit(r);
    }
    spi_finish();
    return jsonb_datum(report);
}
