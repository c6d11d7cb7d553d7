// Holm–Bonferroni adjustment. See include/abx/stats/multiple_testing.hpp and docs/statistics.md.
#include "abx/stats/multiple_testing.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace abx::stats {

std::vector<double> holm_adjust(std::span<const double> p_values) {
    std::vector<std::size_t> order;  // indices of the defined p-values
    order.reserve(p_values.size());
    InterruptPoll poll;
    for (std::size_t i = 0; i < p_values.size(); ++i) {
        poll.tick();
        const double p = p_values[i];
        if (std::isnan(p)) continue;
        if (!(p >= 0.0 && p <= 1.0)) {
            invalid_field("p_values[" + std::to_string(i) + "]",
                          "must be between 0 and 1 (or NaN)");
        }
        order.push_back(i);
    }
    std::vector<double> adjusted(p_values.begin(), p_values.end());  // NaN stays NaN
    // Stable sort: ties keep their input order; they receive the same adjusted value anyway.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
    const double m = static_cast<double>(order.size());
    double running_max = 0;
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
        poll.tick();
        const double factor = m - static_cast<double>(rank);  // m - j + 1 with j = rank + 1
        running_max = std::max(running_max, std::min(1.0, factor * p_values[order[rank]]));
        adjusted[order[rank]] = running_max;
    }
    return adjusted;
}

}  // namespace abx::stats
