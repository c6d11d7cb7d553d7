// Values of abx's GUCs, as plain C++ values.
#pragma once
#include <cstdint>

namespace abx::pg {
std::int64_t event_future_tolerance_us();
}  // namespace abx::pg
