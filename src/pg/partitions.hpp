// Daily partitions of abx.events (partitions.cpp).
#pragma once
#include "spi.hpp"

namespace abx::pg {

// Creates the missing daily partitions from yesterday to `days_ahead` days ahead (inside
// spi_connect; no right check: callers are abx.ensure_partitions and the lifecycle functions).
// Returns how many were created.
std::uint64_t ensure_event_partitions(int days_ahead);

}  // namespace abx::pg
