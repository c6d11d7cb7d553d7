// Sufficient statistics of one variant for one metric, over subjects (the unit of analysis).
#pragma once
#include "abx/core_only.hpp"

#include <cmath>
#include <cstdint>

namespace abx::stats {

struct Summary {
    double n = 0;       // subjects
    double sum = 0;     // sum of per-subject values
    double sum_sq = 0;  // sum of squared per-subject values

    double mean() const { return n > 0 ? sum / n : 0.0; }
    // Unbiased sample variance; 0 when fewer than two subjects.
    double variance() const {
        if (n < 2) return 0.0;
        double v = (sum_sq - sum * sum / n) / (n - 1);
        return v > 0 ? v : 0.0;
    }
    double sd() const { return std::sqrt(variance()); }
};

}  // namespace abx::stats
