// Small builders shared by the analysis unit tests.
#pragma once
#include "abx/analysis.hpp"

#include <string>
#include <utility>
#include <vector>

namespace abx_test {

// A rate metric: n subjects, x of them converted (per-subject values are 0/1).
inline abx::stats::Summary rate(double n, double x) {
    return {n, x, x};
}

// n subjects with the given mean and (unbiased) sd.
inline abx::stats::Summary values(double n, double mean, double sd) {
    return {n, n * mean, (n - 1) * sd * sd + n * mean * mean};
}

inline abx::analysis::VariantData arm(const std::string& key, bool control, std::int64_t assigned,
                                      std::vector<abx::stats::Summary> metrics, double weight = 1) {
    abx::analysis::VariantData v;
    v.key = key;
    v.is_control = control;
    v.assigned = assigned;
    v.weight = weight;
    v.metrics = std::move(metrics);
    return v;
}

}  // namespace abx_test
