// Sample-ratio mismatch (SRM): Pearson's chi-square goodness-of-fit test of the observed
// assignment counts per arm against the shares implied by the configured weights. A mismatch means
// the assignment or the logging is broken, and the experiment's results should not be trusted.
// Formulas and assumptions: docs/statistics.md.
#pragma once
#include "abx/core_only.hpp"

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace abx::stats {

inline constexpr double kDefaultSrmThreshold = 0.001;

struct SrmResult {
    double chi_square = std::numeric_limits<double>::quiet_NaN();  // NaN when undefined
    double df = std::numeric_limits<double>::quiet_NaN();       // (arms with positive weight) - 1
    double p_value = std::numeric_limits<double>::quiet_NaN();  // upper tail of chi2(df)
    std::vector<double> expected;  // expected count per arm, same order as the input (0 for
                                   // arms with zero weight)
    double total = 0;              // sum of all observed counts
    std::int64_t unexpected = 0;   // assignments observed in arms whose weight is 0
    double min_expected = std::numeric_limits<double>::quiet_NaN();  // smallest positive expected
    bool small_expected = false;  // some arm with positive weight expects < 5: chi-square is rough
    bool mismatch = false;        // p_value < threshold, or unexpected > 0
    bool defined = false;         // chi-square and p-value are finite
    bool applicable = true;       // false for adaptive allocation (a bandit): no test is made
    std::string reason;           // why undefined, or why mismatch was forced; empty otherwise
};

// observed[i] >= 0 and weights[i] >= 0 (finite) per arm, same length >= 2, at least one positive
// weight; threshold in (0, 1). Violations throw Error 22023 naming the parameter
// (e.g. "invalid weights[2]: ..."). Weights need not sum to 1.
// Arms with weight 0 are left out of the chi-square (df counts arms with positive weight only); any
// assignment observed in such an arm is reported in `unexpected` and forces mismatch = true.
// No assignments at all, or fewer than two arms with positive weight: undefined, mismatch = false
// (unless `unexpected` > 0).
SrmResult srm_check(std::span<const std::int64_t> observed, std::span<const double> weights,
                    double threshold = kDefaultSrmThreshold);

}  // namespace abx::stats
