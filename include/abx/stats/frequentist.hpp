// Fixed-horizon (frequentist) comparison of a treatment arm against the control arm for one metric,
// and single-arm confidence intervals for display. Formulas, sources and assumptions:
// docs/statistics.md.
//
// Conventions shared by every function here:
// - Inputs are sufficient statistics over subjects (abx::stats::Summary). For a rate metric the
//   per-subject values are 0/1, so `sum` is the number of converted subjects (`sum_sq` is ignored).
// - Invalid inputs (a confidence outside (0, 1), a negative or non-finite count, conversions > n)
//   throw abx::Error with SQLSTATE 22023 and a message naming the parameter.
// - Degenerate but valid data (an empty arm, n = 1, zero variance, no conversions at all) never
//   throws: the affected quantity is NaN, `defined` is false and `reason` says why.
#pragma once
#include "abx/core_only.hpp"
#include "abx/stats/summary.hpp"

#include <limits>
#include <string>

namespace abx::stats {

inline constexpr double kDefaultConfidence = 0.95;
// NaN marks an undefined quantity throughout.
inline constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

enum class MetricKind {
    Rate,  // per-subject 0/1 (conversion): two-proportion z-test, Wilson interval
    Mean,  // per-subject real value (revenue, duration): Welch t-test, t interval
};

// A point estimate with its standard error and a two-sided confidence interval.
struct Estimate {
    double value = kUndefined;      // NaN when the estimate itself is undefined
    double std_error = kUndefined;  // NaN when undefined
    double lower = kUndefined;      // NaN when the interval is undefined
    double upper = kUndefined;      // NaN when the interval is undefined
    bool defined = false;           // value, std_error and both bounds are finite
    std::string reason;             // why something is undefined; empty when defined
};

// Test of "treatment and control have the same mean/rate", two-sided.
struct TestResult {
    double statistic = kUndefined;  // z (rates) or Welch t (means); NaN when undefined
    double df = kUndefined;  // Welch–Satterthwaite degrees of freedom; +infinity for the z-test
    double p_value = kUndefined;  // two-sided; NaN when undefined
    bool defined = false;
    std::string reason;  // why the test is undefined; empty when defined
};

struct FrequentistComparison {
    MetricKind kind = MetricKind::Rate;
    double confidence = kUndefined;  // level of every interval below
    Estimate control;                // control mean/rate with its single-arm interval (Wilson or t)
    Estimate treatment;              // treatment mean/rate with its single-arm interval
    TestResult test;                 // z-test (pooled SE) or Welch t-test
    Estimate absolute;  // treatment - control; CI with unpooled SE (z) or Welch SE and t quantile
    Estimate relative;  // treatment / control - 1; CI by the delta method, normal quantile
};

// Two-proportion z-test. `sum` of each Summary is the number of converted subjects (0 <= sum <= n).
FrequentistComparison two_proportion_test(const Summary& control, const Summary& treatment,
                                          double confidence = kDefaultConfidence);

// Welch's unequal-variance t-test on per-subject values.
FrequentistComparison welch_test(const Summary& control, const Summary& treatment,
                                 double confidence = kDefaultConfidence);

// Dispatches on `kind` to two_proportion_test or welch_test.
FrequentistComparison frequentist_compare(MetricKind kind, const Summary& control,
                                          const Summary& treatment,
                                          double confidence = kDefaultConfidence);

// Wilson score interval of a single rate (successes out of n subjects). Defined for any n > 0,
// including 0 or n successes; undefined (NaN) for n = 0. std_error is the plain sqrt(p(1-p)/n).
Estimate rate_interval(double successes, double n, double confidence = kDefaultConfidence);

// Student t interval of a single mean, df = n - 1. Undefined for n < 2 or zero variance.
Estimate mean_interval(const Summary& arm, double confidence = kDefaultConfidence);

}  // namespace abx::stats
