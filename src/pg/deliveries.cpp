// The database side of delivery decisions (src/sql/0.5.0/20_deliveries.sql): the clock that
// schedules attempts, and the retry decision of the core (include/abx/delivery.hpp).
#include "outbox.hpp"
#include "settings.hpp"
#include "spi.hpp"
#include "workers.hpp"

#include "abx/delivery.hpp"

extern "C" {
#include "common/pg_prng.h"
}

using namespace abx;
using namespace abx::pg;

namespace abx::pg {
TimestampTz delivery_now() {
    // A pinned session clock wins; on test clusters the test clock moves retries forward.
    if (pinned_now()) return abx_now();
    if (test_clock_enabled()) return current_test_clock();
    return abx_now();
}
}  // namespace abx::pg

ABX_SQL_FUNCTION(abx_delivery_now) {
    PG_RETURN_TIMESTAMPTZ(delivery_now());
}

ABX_SQL_FUNCTION(abx_delivery_retry_at) {
    if (PG_ARGISNULL(0)) null_field("attempts");
    if (PG_ARGISNULL(1)) null_field("first_attempt_at");
    if (PG_ARGISNULL(2)) null_field("failed_at");
    std::int32_t attempts = PG_GETARG_INT32(0);
    TimestampTz first = PG_GETARG_TIMESTAMPTZ(1), failed = PG_GETARG_TIMESTAMPTZ(2);
    if (attempts < 1) invalid_field("attempts", "must be at least 1");
    if (TIMESTAMP_NOT_FINITE(first) || TIMESTAMP_NOT_FINITE(failed))
        invalid_field(TIMESTAMP_NOT_FINITE(first) ? "first_attempt_at" : "failed_at",
                      "must be a finite timestamp");
    // The core only adds and compares: PostgreSQL's epoch serves as well as Unix's.
    double unit = pg_call([] { return pg_prng_double(&pg_global_prng_state); });
    std::optional<std::int64_t> next =
        delivery::next_attempt(delivery::RetryPolicy{}, attempts, first, failed, unit);
    if (!next) PG_RETURN_NULL();
    PG_RETURN_TIMESTAMPTZ(*next);
}
