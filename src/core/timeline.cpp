#include "abx/timeline.hpp"

namespace abx::timeline {

std::vector<std::size_t> evenly_spaced(std::size_t count, std::size_t limit) {
    std::vector<std::size_t> kept;
    if (count == 0 || limit == 0) return kept;
    if (count <= limit) {
        for (std::size_t i = 0; i < count; ++i) kept.push_back(i);
        return kept;
    }
    if (limit == 1) return {count - 1};
    // Index j * (count - 1) / (limit - 1), rounded to the nearest, in integers: exact for any
    // count, strictly increasing since count > limit makes the step above 1.
    const std::size_t span = count - 1, steps = limit - 1;
    kept.reserve(limit);
    for (std::size_t j = 0; j < limit; ++j) kept.push_back((j * span * 2 + steps) / (steps * 2));
    return kept;
}

}  // namespace abx::timeline
