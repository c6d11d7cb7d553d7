// Helpers shared by the frequentist, sequential and SRM sources (not part of the public API).
#pragma once
#include "abx/core_only.hpp"
#include "abx/error.hpp"
#include "abx/stats/summary.hpp"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/policies/policy.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace abx::stats::freq_internal {

// Boost.Math reports domain errors and overflows as NaN / infinity instead of throwing: the
// callers validate their inputs first and treat a non-finite result as "undefined".
using Policy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;
using Normal = boost::math::normal_distribution<double, Policy>;
using StudentT = boost::math::students_t_distribution<double, Policy>;
using ChiSquared = boost::math::chi_squared_distribution<double, Policy>;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A level strictly inside (0, 1): confidence, alpha, threshold.
inline void require_open_unit(const std::string& name, double value) {
    if (!(value > 0.0 && value < 1.0))
        invalid_field(name, "must be a number strictly between 0 and 1");
}

inline void require_nonnegative(const std::string& name, double value) {
    if (!std::isfinite(value) || value < 0.0) invalid_field(name, "must be a finite number >= 0");
}

inline void require_finite(const std::string& name, double value) {
    if (!std::isfinite(value)) invalid_field(name, "must be a finite number");
}

// A rate arm: 0 <= sum (conversions) <= n.
inline void validate_rate_arm(const std::string& name, const Summary& arm) {
    require_nonnegative(name + ".n", arm.n);
    require_nonnegative(name + ".sum", arm.sum);
    if (arm.sum > arm.n) invalid_field(name + ".sum", "conversions must not exceed n");
}

// A mean arm: n >= 0, finite sum, sum of squares >= 0.
inline void validate_mean_arm(const std::string& name, const Summary& arm) {
    require_nonnegative(name + ".n", arm.n);
    require_finite(name + ".sum", arm.sum);
    require_nonnegative(name + ".sum_sq", arm.sum_sq);
}

// z_{1 - (1 - confidence) / 2}: the two-sided normal critical value.
inline double normal_critical(double confidence) {
    return boost::math::quantile(boost::math::complement(Normal(0.0, 1.0), (1.0 - confidence) / 2));
}

// t_{1 - (1 - confidence) / 2, df}: the two-sided Student t critical value.
inline double t_critical(double confidence, double df) {
    if (std::isinf(df)) return normal_critical(confidence);
    return boost::math::quantile(boost::math::complement(StudentT(df), (1.0 - confidence) / 2));
}

// Two-sided p-value 2 P(Z > |z|), computed on the upper tail so that tiny p-values keep precision.
inline double normal_two_sided_p(double z) {
    double p = 2.0 * boost::math::cdf(boost::math::complement(Normal(0.0, 1.0), std::fabs(z)));
    return p > 1.0 ? 1.0 : p;
}

inline double t_two_sided_p(double t, double df) {
    if (std::isinf(df)) return normal_two_sided_p(t);
    double p = 2.0 * boost::math::cdf(boost::math::complement(StudentT(df), std::fabs(t)));
    return p > 1.0 ? 1.0 : p;
}

}  // namespace abx::stats::freq_internal
