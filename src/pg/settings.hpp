// abx's settings (GUCs): all defined in settings.cpp, each with its checks, read here as plain
// C++ values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace abx::pg {

// Registers every abx.* setting; called once from _PG_init.
void define_settings();

std::int64_t event_future_tolerance_us();

// The workers' settings: abx.scheduler (on/off, reloadable), abx.test_clock (server start only),
// abx.launcher_naptime (how often the launcher looks for new databases).
bool scheduler_enabled();
// abx.slo_watcher (on/off, reloadable): the SLO watcher runs beside the scheduler.
bool slo_watcher_enabled();
bool test_clock_enabled();
int launcher_naptime_ms();

// Seed 001's promotion settings: whether auto-promotion runs at all, the server-wide autonomy
// switch (seed 000), and the defaults of every experiment's winner policy.
bool auto_promotion_enabled();
bool allow_autonomy();
// (The winner policy defaults: winner_policy_defaults() in analysis_input.hpp.)

// Retention (seed 004): raw events and metric buckets are kept this many days.
int events_retention_days();
int metrics_retention_days();
int outbox_retention_days();

// abx.organization as set ("" when unset), read without a lookup.
const char* organization_setting();

// A setting's text (any, e.g. request.jwt.claims), nullopt when unset or empty.
std::optional<std::string> setting_text(const char* name);

// abx.pinned_now as a PostgreSQL timestamptz (microseconds since 2000-01-01), if pinned.
std::optional<std::int64_t> pinned_now();

// Length of abx.metric_buckets' time buckets (seed 004: one hour); aggregation and readers agree.
inline constexpr int kBucketSeconds = 3600;
}  // namespace abx::pg
