// Fixed-horizon comparison of two arms: two-proportion z-test, Welch t-test, absolute and
// relative lift, Wilson and t intervals. See include/abx/stats/frequentist.hpp and
// docs/statistics.md.
#include "abx/stats/frequentist.hpp"

#include "frequentist_internal.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace abx::stats {

namespace {

using freq_internal::kInf;
using freq_internal::kNaN;

bool all_finite(const Estimate& e) {
    return std::isfinite(e.value) && std::isfinite(e.std_error) && std::isfinite(e.lower) &&
           std::isfinite(e.upper);
}

// Fills lower/upper = value -+ critical * std_error and the defined flag.
void finish_interval(Estimate& e, double critical) {
    e.lower = e.value - critical * e.std_error;
    e.upper = e.value + critical * e.std_error;
    e.defined = all_finite(e);
}

// Why a comparison is impossible when an arm is empty; empty string when both arms have subjects.
std::string empty_arm_reason(const Summary& treatment, const Summary& control) {
    if (treatment.n == 0 && control.n == 0) return "both arms have no subjects";
    if (treatment.n == 0) return "treatment arm has no subjects";
    if (control.n == 0) return "control arm has no subjects";
    return {};
}

void mark_all_undefined(FrequentistComparison& r, const std::string& reason) {
    r.test.reason = reason;
    r.absolute.reason = reason;
    r.relative.reason = reason;
}

// Relative lift t/c - 1 with the delta-method standard error
//   Var(t/c) ~ Var(t)/c^2 + t^2 Var(c)/c^4,
// where var_t and var_c are the variances of the two arm means (s^2/n). Normal quantile.
Estimate relative_lift(double mean_t, double var_t, double mean_c, double var_c,
                       double confidence) {
    Estimate e;
    if (mean_c == 0.0) {
        e.reason = "control mean is 0: relative lift is undefined";
        return e;
    }
    e.value = mean_t / mean_c - 1.0;
    const double c2 = mean_c * mean_c;
    const double var = var_t / c2 + (mean_t * mean_t) * var_c / (c2 * c2);
    e.std_error = std::sqrt(var);
    if (!std::isfinite(e.std_error)) {
        e.std_error = kNaN;
        e.reason = "variance unknown: an arm has fewer than 2 subjects";
        return e;
    }
    if (e.std_error == 0.0) {
        e.reason = "zero standard error: no variation within either arm";
        return e;
    }
    finish_interval(e, freq_internal::normal_critical(confidence));
    if (!e.defined) e.reason = "relative lift interval is not finite";
    return e;
}

}  // namespace

Estimate rate_interval(double successes, double n, double confidence) {
    freq_internal::require_open_unit("confidence", confidence);
    freq_internal::require_nonnegative("n", n);
    freq_internal::require_nonnegative("successes", successes);
    if (successes > n) invalid_field("successes", "must not exceed n");

    Estimate e;
    if (n == 0.0) {
        e.reason = "no subjects";
        return e;
    }
    const double p = successes / n;
    e.value = p;
    e.std_error = std::sqrt(p * (1.0 - p) / n);
    // Wilson score interval: the set of rates p0 whose score test |p - p0| / sqrt(p0(1-p0)/n)
    // does not reject at the given level; it stays inside [0, 1] and is sensible at p = 0 or 1.
    const double z = freq_internal::normal_critical(confidence);
    const double z2 = z * z;
    const double denom = 1.0 + z2 / n;
    const double center = (p + z2 / (2.0 * n)) / denom;
    const double half = z / denom * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    e.lower = std::max(0.0, center - half);
    e.upper = std::min(1.0, center + half);
    e.defined = all_finite(e);
    if (!e.defined) e.reason = "interval is not finite";
    return e;
}

Estimate mean_interval(const Summary& arm, double confidence) {
    freq_internal::require_open_unit("confidence", confidence);
    freq_internal::validate_mean_arm("arm", arm);

    Estimate e;
    if (arm.n == 0.0) {
        e.reason = "no subjects";
        return e;
    }
    e.value = arm.mean();
    if (arm.n < 2.0) {
        e.reason = "fewer than 2 subjects: variance unknown";
        return e;
    }
    e.std_error = std::sqrt(arm.variance() / arm.n);
    if (e.std_error == 0.0) {
        e.reason = "zero variance: every subject has the same value";
        return e;
    }
    finish_interval(e, freq_internal::t_critical(confidence, arm.n - 1.0));
    if (!e.defined) e.reason = "interval is not finite";
    return e;
}

FrequentistComparison two_proportion_test(const Summary& control, const Summary& treatment,
                                          double confidence) {
    freq_internal::require_open_unit("confidence", confidence);
    freq_internal::validate_rate_arm("treatment", treatment);
    freq_internal::validate_rate_arm("control", control);

    FrequentistComparison r;
    r.kind = MetricKind::Rate;
    r.confidence = confidence;
    r.treatment = rate_interval(treatment.sum, treatment.n, confidence);
    r.control = rate_interval(control.sum, control.n, confidence);
    r.test.df = kInf;
    if (const std::string why = empty_arm_reason(treatment, control); !why.empty()) {
        mark_all_undefined(r, why);
        return r;
    }

    const double pt = treatment.sum / treatment.n;
    const double pc = control.sum / control.n;
    const double diff = pt - pc;

    // Test statistic: pooled standard error under H0 (both arms share one rate).
    const double pooled = (treatment.sum + control.sum) / (treatment.n + control.n);
    const double se0 = std::sqrt(pooled * (1.0 - pooled) * (1.0 / treatment.n + 1.0 / control.n));
    if (se0 > 0.0 && std::isfinite(se0)) {
        r.test.statistic = diff / se0;
        r.test.p_value = freq_internal::normal_two_sided_p(r.test.statistic);
        r.test.defined = std::isfinite(r.test.p_value);
        if (!r.test.defined) r.test.reason = "test statistic is not finite";
    } else if (pooled <= 0.0) {
        r.test.reason = "no conversions in either arm";
    } else {
        r.test.reason = "every subject converted in both arms";
    }

    // Interval of the difference: unpooled (Wald) standard error.
    const double var_t = pt * (1.0 - pt) / treatment.n;
    const double var_c = pc * (1.0 - pc) / control.n;
    r.absolute.value = diff;
    r.absolute.std_error = std::sqrt(var_t + var_c);
    if (r.absolute.std_error > 0.0) {
        finish_interval(r.absolute, freq_internal::normal_critical(confidence));
        if (!r.absolute.defined) r.absolute.reason = "interval is not finite";
    } else {
        r.absolute.reason = "zero standard error: each arm's rate is 0 or 1";
    }

    r.relative = relative_lift(pt, var_t, pc, var_c, confidence);
    return r;
}

FrequentistComparison welch_test(const Summary& control, const Summary& treatment,
                                 double confidence) {
    freq_internal::require_open_unit("confidence", confidence);
    freq_internal::validate_mean_arm("treatment", treatment);
    freq_internal::validate_mean_arm("control", control);

    FrequentistComparison r;
    r.kind = MetricKind::Mean;
    r.confidence = confidence;
    r.treatment = mean_interval(treatment, confidence);
    r.control = mean_interval(control, confidence);
    if (const std::string why = empty_arm_reason(treatment, control); !why.empty()) {
        mark_all_undefined(r, why);
        return r;
    }

    const double mt = treatment.mean();
    const double mc = control.mean();
    r.absolute.value = mt - mc;

    if (treatment.n < 2.0 || control.n < 2.0) {
        const std::string why = std::string("fewer than 2 subjects in the ") +
                                (treatment.n < 2.0 ? "treatment" : "control") +
                                " arm: variance unknown";
        mark_all_undefined(r, why);
        if (mc != 0.0) r.relative.value = mt / mc - 1.0;
        return r;
    }

    const double a = treatment.variance() / treatment.n;  // Var of the treatment mean
    const double b = control.variance() / control.n;      // Var of the control mean
    const double se = std::sqrt(a + b);
    r.absolute.std_error = se;
    if (!(se > 0.0)) {
        mark_all_undefined(r, "zero variance in both arms: every subject has the same value");
        r.relative = relative_lift(mt, a, mc, b, confidence);
        return r;
    }

    // Welch–Satterthwaite degrees of freedom, written with the shares a/(a+b) and b/(a+b) so that
    // neither tiny nor huge variances overflow or underflow.
    const double wa = a / (a + b);
    const double wb = b / (a + b);
    const double df = 1.0 / (wa * wa / (treatment.n - 1.0) + wb * wb / (control.n - 1.0));

    r.test.statistic = r.absolute.value / se;
    r.test.df = df;
    r.test.p_value = freq_internal::t_two_sided_p(r.test.statistic, df);
    r.test.defined = std::isfinite(r.test.p_value) && std::isfinite(r.test.statistic);
    if (!r.test.defined) r.test.reason = "test statistic is not finite";

    finish_interval(r.absolute, freq_internal::t_critical(confidence, df));
    if (!r.absolute.defined) r.absolute.reason = "interval is not finite";

    r.relative = relative_lift(mt, a, mc, b, confidence);
    return r;
}

FrequentistComparison frequentist_compare(MetricKind kind, const Summary& control,
                                          const Summary& treatment, double confidence) {
    return kind == MetricKind::Rate ? two_proportion_test(control, treatment, confidence)
                                    : welch_test(control, treatment, confidence);
}

}  // namespace abx::stats
