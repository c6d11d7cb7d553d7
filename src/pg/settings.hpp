// Values of abx's GUCs, as plain C++ values.
#pragma once
#include <cstdint>

namespace abx::pg {
std::int64_t event_future_tolerance_us();

// Length of abx.metric_buckets' time buckets (seed 004: one hour); aggregation and readers agree.
inline constexpr int kBucketSeconds = 3600;
}  // namespace abx::pg
