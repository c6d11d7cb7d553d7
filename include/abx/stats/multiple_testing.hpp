// Multiple-comparison adjustment of p-values (several treatment arms or several metrics tested at
// once). Formulas and assumptions: docs/statistics.md.
#pragma once
#include "abx/core_only.hpp"

#include <span>
#include <vector>

namespace abx::stats {

// Holm–Bonferroni step-down adjustment (Holm 1979). Returns the adjusted p-values in the input
// order: with the m defined p-values sorted ascending p_(1) <= ... <= p_(m),
//     adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)),
// so the result is monotone in the raw p-values and capped at 1. Rejecting every hypothesis with
// adjusted p <= alpha controls the family-wise error rate at alpha.
// A NaN input (an undefined test) stays NaN and does not count toward m, as R's
// p.adjust(p, "holm") does with NA. Any other value outside [0, 1] throws Error 22023 naming the
// index ("invalid p_values[3]: ..."). An empty input gives an empty result.
std::vector<double> holm_adjust(std::span<const double> p_values);

}  // namespace abx::stats
