// Results over time (abx.timeline): which of an experiment's recorded looks a chart gets when
// there are more than it asked for.
#pragma once
#include <cstddef>
#include <vector>

namespace abx::timeline {

// The largest and default number of looks (aggregation runs) one timeline returns.
constexpr std::size_t kDefaultLooks = 500;
constexpr std::size_t kMaxLooks = 5000;

// Ascending indices of `limit` of `count` looks spread evenly over them, the first and the last
// always included (a chart keeps its whole time span and ends on the current figures): all of
// them when count <= limit. limit 1 keeps the last; limit 0 none.
std::vector<std::size_t> evenly_spaced(std::size_t count, std::size_t limit);

}  // namespace abx::timeline
