// Every abx.* setting, in one place. Check hooks run inside PostgreSQL's GUC machinery (plain C
// calls only, no C++ object alive across a possible longjmp).
#include "pg.hpp"

#include "settings.hpp"

#include "analysis_input.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace abx::pg {
namespace {

char* pinned_now_text = nullptr;
bool pinned = false;
TimestampTz pinned_value = 0;
int event_future_tolerance_s = 300;
char* organization_text = nullptr;
bool scheduler_on = true;
bool slo_watcher_on = true;
bool test_clock_on = false;
int launcher_naptime_s = 10;
int events_retention = 30;
bool auto_promotion_on = true;
bool autonomy_on = true;
bool require_approval = false;
int min_sample_size = 1000;
double min_confidence = 0.95;
double min_improvement = 0.05;
double min_runtime_hours = 48;
double max_error_rate = 0.05;
int metrics_retention = 180;
int outbox_retention = 30;

// abx.now() must stay a finite instant whose day abx can name a partition after.
const char* const kPinnedRange = "2000-01-01 00:00:00+00";
const char* const kPinnedEnd = "10000-01-01 00:00:00+00";

bool parse_timestamptz(const char* text, TimestampTz* out) {
    MemoryContext context = CurrentMemoryContext;
    volatile bool ok = true;
    PG_TRY();
    {
        *out = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
                                                       ObjectIdGetDatum(InvalidOid),
                                                       Int32GetDatum(-1)));
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(context);
        FlushErrorState();
        ok = false;
    }
    PG_END_TRY();
    return ok;
}

// A test-only, session-level clock: only SET (or a connection option) may pin it, never a
// database, role or configuration-file default that would pin it for every session.
bool session_level(GucSource source) {
    return source == PGC_S_DEFAULT || source == PGC_S_DYNAMIC_DEFAULT || source == PGC_S_CLIENT ||
           source == PGC_S_SESSION || source == PGC_S_OVERRIDE;
}

bool check_pinned_now(char** newval, void** extra, GucSource source) {
    if (*newval == nullptr || (*newval)[0] == '\0') return true;
    if (!session_level(source)) {
        GUC_check_errmsg("abx.pinned_now can only be set for a session (SET abx.pinned_now)");
        GUC_check_errdetail("It pins the clock of every abx decision; tests pin it per session.");
        return false;
    }
    TimestampTz value = 0, lo = 0, hi = 0;
    if (!parse_timestamptz(*newval, &value)) {
        GUC_check_errmsg("invalid abx.pinned_now: \"%s\" is not a timestamp", *newval);
        return false;
    }
    parse_timestamptz(kPinnedRange, &lo);
    parse_timestamptz(kPinnedEnd, &hi);
    if (TIMESTAMP_NOT_FINITE(value) || value < lo || value >= hi) {
        GUC_check_errmsg(
            "invalid abx.pinned_now: must be a finite timestamp from 2000-01-01 "
            "to 9999-12-31 (got \"%s\")",
            *newval);
        return false;
    }
    // GUC frees `extra` with free(): it must come from malloc.
    TimestampTz* stored = (TimestampTz*)malloc(sizeof(TimestampTz));
    if (stored == nullptr) return false;
    *stored = value;
    *extra = stored;
    return true;
}

// abx.organization names an organization by key (membership is checked when it is used).
bool check_organization(char** newval, void** extra, GucSource source) {
    const char* v = *newval;
    if (v == nullptr || v[0] == '\0') return true;
    std::size_t n = strlen(v);
    bool ok = n <= 63 && ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= '0' && v[0] <= '9'));
    for (std::size_t i = 1; ok && i < n; ++i)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
             v[i] == '-';
    if (!ok) {
        GUC_check_errmsg("invalid abx.organization: \"%s\" is not an organization key", v);
        GUC_check_errdetail("Keys match ^[a-z0-9][a-z0-9_-]{0,62}$.");
    }
    return ok;
}

void assign_pinned_now(const char* newval, void* extra) {
    pinned = extra != nullptr;
    pinned_value = extra ? *(TimestampTz*)extra : 0;
}

}  // namespace

void define_settings() {
    DefineCustomStringVariable(
        "abx.pinned_now", "Pins abx.now() to this timestamp (tests only, per session).",
        "Every time-dependent decision of abx reads abx.now(); pinning it makes scheduler and "
        "policy tests deterministic. Empty means the transaction timestamp. Only SET may pin it: "
        "database, role and configuration-file values are refused.",
        &pinned_now_text, "", PGC_SUSET, 0, check_pinned_now, assign_pinned_now, nullptr);
    DefineCustomIntVariable(
        "abx.event_future_tolerance", "How far in the future an event timestamp may lie.",
        "Events stamped further ahead of abx.now() than this are refused (clock skew guard).",
        &event_future_tolerance_s, 300, 0, 7 * 24 * 3600, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr,
        nullptr);
    DefineCustomStringVariable(
        "abx.organization", "The organization (key) this session acts for.",
        "Used when a call names none; the role must be a member of it (abx.add_member). On a "
        "gateway session the JWT's org claim wins, and a different value here is refused.",
        &organization_text, "", PGC_USERSET, 0, check_organization, nullptr, nullptr);
    DefineCustomBoolVariable(
        "abx.scheduler", "Runs abx's jobs (abx.jobs) in a scheduler per database.",
        "Off: the schedulers exit and the launcher starts none (jobs can still be run by hand "
        "with abx.run_job).",
        &scheduler_on, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "abx.slo_watcher",
        "Checks the watched experiments' SLOs on Prometheus (a worker per database beside the "
        "scheduler).",
        "Off: no SLO check runs and no SLO guardrail acts; abx.slo_record can still be called.",
        &slo_watcher_on, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "abx.test_clock", "Test clusters only: the schedulers' clock stands still until moved.",
        "On: the schedulers and the jobs they run read a clock that only abx.set_test_clock and "
        "abx.advance_test_clock move, so scheduler tests are deterministic.",
        &test_clock_on, false, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "abx.launcher_naptime", "How often the launcher looks for databases with abx.",
        "CREATE EXTENSION wakes it at once; this is the fallback.", &launcher_naptime_s, 10, 1,
        3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "abx.events_retention_days", "Days raw events are kept (EXPERIMENT_EVENTS_RETENTION_DAYS).",
        "abx.retention() drops whole daily partitions older than this, once aggregated.",
        &events_retention, 30, 1, 36500, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("abx.metrics_retention_days",
                            "Days metric buckets are kept (EXPERIMENT_METRICS_RETENTION_DAYS).",
                            "Results do not depend on buckets: they stay readable.",
                            &metrics_retention, 180, 1, 36500, PGC_SIGHUP, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable(
        "abx.outbox_retention_days", "Days settled notifications are kept (the outbox).",
        "abx.retention() deletes outbox rows settled longer ago, with their finished deliveries; "
        "dead letters and pending deliveries stay.",
        &outbox_retention, 30, 1, 36500, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("abx.allow_autonomy",
                             "Server-wide switch of every autonomous action (seed 000).",
                             "Off: jobs still evaluate and recommend; promotions, fail-fast stops "
                             "and automatic rollbacks are recorded as policy denials.",
                             &autonomy_on, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("abx.auto_promotion_enabled",
                             "Auto-promotion runs (AUTO_PROMOTION_ENABLED).", nullptr,
                             &auto_promotion_on, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "abx.promotion_require_manual_approval",
        "Eligible winners wait for a person's approval (REQUIRE_MANUAL_APPROVAL).",
        "Default of winner_policy.require_manual_approval.", &require_approval, false, PGC_SIGHUP,
        0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "abx.promotion_min_sample_size", "Default winner_policy.min_assignments (MIN_SAMPLE_SIZE).",
        nullptr, &min_sample_size, 1000, 0, 1000000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable(
        "abx.promotion_min_confidence", "Default winner_policy.confidence (MIN_CONFIDENCE).",
        nullptr, &min_confidence, 0.95, 0.5, 0.9999, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable(
        "abx.promotion_min_improvement", "Default winner_policy.min_improvement (MIN_IMPROVEMENT).",
        nullptr, &min_improvement, 0.05, 0, 100, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("abx.promotion_min_runtime_hours",
                             "Default winner_policy.pick_after_hours (MIN_RUNTIME_HOURS).", nullptr,
                             &min_runtime_hours, 48, 0, 8784, PGC_SIGHUP, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomRealVariable("abx.promotion_max_error_rate",
                             "Default winner_policy.max_error_rate (MAX_ERROR_RATE).", nullptr,
                             &max_error_rate, 0.05, 0, 1, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("abx");
}

std::int64_t event_future_tolerance_us() {
    return (std::int64_t)event_future_tolerance_s * 1000000;
}

bool auto_promotion_enabled() {
    return auto_promotion_on;
}
bool allow_autonomy() {
    return autonomy_on;
}
analysis::WinnerPolicy winner_policy_defaults() {
    analysis::WinnerPolicy p;
    p.require_manual_approval = require_approval;
    p.min_assignments = min_sample_size;
    p.confidence = min_confidence;
    p.min_improvement = min_improvement;
    p.min_runtime_hours = min_runtime_hours;
    p.max_error_rate = max_error_rate;
    return p;
}

int events_retention_days() {
    return events_retention;
}
int metrics_retention_days() {
    return metrics_retention;
}
int outbox_retention_days() {
    return outbox_retention;
}

bool scheduler_enabled() {
    return scheduler_on;
}
bool slo_watcher_enabled() {
    return slo_watcher_on;
}
bool test_clock_enabled() {
    return test_clock_on;
}
int launcher_naptime_ms() {
    return launcher_naptime_s * 1000;
}

const char* organization_setting() {
    return organization_text != nullptr ? organization_text : "";
}

std::optional<std::string> setting_text(const char* name) {
    const char* v = pg_call([&] { return GetConfigOption(name, true, false); });
    if (v == nullptr || v[0] == '\0') return std::nullopt;
    return std::string(v);
}

std::optional<std::int64_t> pinned_now() {
    if (!pinned) return std::nullopt;
    return pinned_value;
}

}  // namespace abx::pg
