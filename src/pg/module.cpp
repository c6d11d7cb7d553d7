// Module entry: PG_MODULE_MAGIC, settings (GUCs) and abx.now().
#include "pg.hpp"
#include "spi.hpp"
#include "settings.hpp"

extern "C" {
#include "utils/guc.h"
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace abx::pg {
namespace {
char* pinned_now = nullptr;
int event_future_tolerance_s = 300;
}  // namespace

std::int64_t event_future_tolerance_us() {
    return (std::int64_t)event_future_tolerance_s * 1000000;
}
}  // namespace abx::pg

void _PG_init(void) {
    // Called by PostgreSQL while loading the library, outside any C++ frame: plain C calls only.
    DefineCustomStringVariable(
        "abx.pinned_now", "Pins abx.now() to this timestamp (tests only).",
        "Every time-dependent decision of abx reads abx.now(); pinning it makes scheduler and "
        "policy tests deterministic. Empty means the transaction timestamp.",
        &abx::pg::pinned_now, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "abx.event_future_tolerance", "How far in the future an event timestamp may lie.",
        "Events stamped further ahead of abx.now() than this are refused (clock skew guard).",
        &abx::pg::event_future_tolerance_s, 300, 0, 7 * 24 * 3600, PGC_SUSET, GUC_UNIT_S, nullptr,
        nullptr, nullptr);
    MarkGUCPrefixReserved("abx");
}

ABX_SQL_FUNCTION(abx_now) {
    return TimestampTzGetDatum(abx::pg::abx_now());
}
