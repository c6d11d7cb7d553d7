// Daily range partitions of abx.events, created ahead; rows that landed in the default partition
// (because no daily partition existed yet) are moved into the new partition before it is attached.
// Partitions are plain tables, not extension members: pg_dump dumps them with their data.
#include "partitions.hpp"

#include "access.hpp"

using namespace abx;
using namespace abx::pg;

namespace {

Statement missing_days(R"SQL(
SELECT pg_catalog.to_char(d, 'YYYYMMDD'), pg_catalog.to_char(d, 'YYYY-MM-DD'),
       pg_catalog.to_char(d + 1, 'YYYY-MM-DD')
  FROM pg_catalog.generate_series(0, $2 + 1) AS g(i),
       LATERAL (SELECT pg_catalog.timezone('UTC', $1)::date - 1 + g.i AS d) AS day
 WHERE pg_catalog.to_regclass(pg_catalog.format('abx.events_p%s', pg_catalog.to_char(d, 'YYYYMMDD'))) IS NULL
 ORDER BY d)SQL",
                       {TIMESTAMPTZOID, INT4OID});

}  // namespace

namespace abx::pg {

std::uint64_t ensure_event_partitions(int days_ahead) {
    // One maintainer at a time; concurrent callers wait and then find nothing left to do.
    spi_exec(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('abx.ensure_partitions'))");
    Args args(2);
    args.set(0, TimestampTzGetDatum(abx_now())).set(1, Int32GetDatum(days_ahead));
    std::uint64_t n = missing_days.run(args.values(), args.nulls(), false);
    struct Day {
        std::string suffix, from, to;
    };
    std::vector<Day> days;
    for (std::uint64_t i = 0; i < n; ++i)
        days.push_back({*col_text(i, 1), *col_text(i, 2), *col_text(i, 3)});

    if (!days.empty())
        // Inserts wait until the new partitions are attached: a row for a new day committed
        // between the move below and ATTACH would make ATTACH fail (23514). The lock is on the
        // parent, taken before an insert routes its row (a lock on the default partition alone
        // lets a waiting insert, routed there before the wait, fail its partition constraint).
        spi_exec("LOCK TABLE abx.events IN SHARE ROW EXCLUSIVE MODE");
    for (const Day& d : days) {
        std::string name = "events_p" + d.suffix;
        std::string table = "abx." + sql_identifier(name);
        std::string lo = sql_literal(d.from + " 00:00:00+00");
        std::string hi = sql_literal(d.to + " 00:00:00+00");
        spi_exec("CREATE TABLE " + table + " (LIKE abx.events INCLUDING DEFAULTS)");
        // The aggregation window's index belongs to each partition (there is none on abx.events:
        // an extension-owned partitioned index breaks pg_restore of runtime partitions).
        spi_exec("CREATE INDEX " + sql_identifier(name + "_window") + " ON " + table +
                 " (experiment_id, xid)");
        spi_exec("WITH moved AS (DELETE FROM abx.events_default WHERE ts >= " + lo + " AND ts < " +
                 hi + " RETURNING *) INSERT INTO " + table + " SELECT * FROM moved");
        spi_exec("ALTER TABLE abx.events ATTACH PARTITION " + table + " FOR VALUES FROM (" + lo +
                 ") TO (" + hi + ")");
    }
    return days.size();
}

}  // namespace abx::pg

ABX_SQL_FUNCTION(abx_ensure_partitions) {
    int days_ahead = PG_ARGISNULL(0) ? 7 : PG_GETARG_INT32(0);
    if (days_ahead < 0 || days_ahead > 366)
        invalid_field("days_ahead", "must be between 0 and 366");
    require_right(Right::ExperimentsAdmin, "abx.ensure_partitions");
    spi_connect();
    std::uint64_t created = ensure_event_partitions(days_ahead);
    spi_finish();
    PG_RETURN_INT32((int)created);
}
