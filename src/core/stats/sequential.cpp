// Mixture SPRT (normal mixture) and its always-valid p-value and confidence sequence. See
// include/abx/stats/sequential.hpp and docs/statistics.md.
#include "abx/stats/sequential.hpp"

#include "frequentist_internal.hpp"

#include <boost/math/tools/roots.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

namespace abx::stats {

namespace {

using freq_internal::kNaN;

MsprtLook undefined_look(double estimate, double variance, double tau2, double alpha,
                         std::string reason) {
    MsprtLook look;
    look.estimate = estimate;
    look.variance = variance;
    look.tau2 = tau2;
    look.alpha = alpha;
    look.reason = std::move(reason);
    return look;
}

void require_tau2(const std::string& name, double tau2) {
    if (!std::isfinite(tau2) || !(tau2 > 0.0)) invalid_field(name, "must be a finite number > 0");
}

}  // namespace

MsprtLook msprt(double estimate, double variance, double tau2, double alpha) {
    freq_internal::require_open_unit("alpha", alpha);
    require_tau2("tau2", tau2);
    if (!std::isnan(variance) && (variance < 0.0 || std::isinf(variance))) {
        invalid_field("variance", "must be a finite number >= 0");
    }
    if (std::isnan(estimate) || std::isnan(variance)) {
        return undefined_look(estimate, variance, tau2, alpha, "estimate or variance is undefined");
    }
    if (std::isinf(estimate)) invalid_field("estimate", "must be finite");
    if (variance == 0.0) {
        return undefined_look(estimate, variance, tau2, alpha,
                              "zero variance: no variation observed yet");
    }

    MsprtLook look;
    look.estimate = estimate;
    look.variance = variance;
    look.tau2 = tau2;
    look.alpha = alpha;
    // ln Lambda = -1/2 ln(1 + tau^2/V) + theta^2 / (2V) * tau^2 / (V + tau^2), in logs so that a
    // huge statistic gives p = 0 rather than inf/inf.
    const double ratio = tau2 / variance;  // tau^2 / V
    const double shrink = tau2 / (variance + tau2);
    look.log_lambda = -0.5 * std::log1p(ratio) + estimate * estimate / (2.0 * variance) * shrink;
    look.p_value = std::min(1.0, std::exp(-look.log_lambda));
    // {theta : Lambda(theta) < 1/alpha} = theta_hat +- sqrt(V (V + tau^2) / tau^2 *
    //                                                    (ln((V + tau^2) / V) + 2 ln(1/alpha)))
    const double half =
        std::sqrt(variance * (1.0 + variance / tau2) * (std::log1p(ratio) - 2.0 * std::log(alpha)));
    look.lower = estimate - half;
    look.upper = estimate + half;
    look.defined = std::isfinite(look.log_lambda) && std::isfinite(look.p_value) &&
                   std::isfinite(look.lower) && std::isfinite(look.upper);
    if (!look.defined) look.reason = "statistic is not finite";
    return look;
}

double msprt_tau2_for_planned_variance(double planned_variance, double alpha) {
    freq_internal::require_open_unit("alpha", alpha);
    if (!std::isfinite(planned_variance) || !(planned_variance > 0.0)) {
        invalid_field("planned_variance", "must be a finite number > 0");
    }
    // Half-width^2 = V (1 + x)/x (ln(1 + x) + c) with x = tau^2 / V and c = 2 ln(1/alpha); its
    // derivative in x vanishes where x = ln(1 + x) + c. Newton's method on
    // f(x) = x - ln(1 + x) - c (convex, increasing for x > 0), started right of the root.
    const double c = -2.0 * std::log(alpha);
    double x = c + std::log1p(c) + 1.0;
    for (int i = 0; i < 100; ++i) {
        const double f = x - std::log1p(x) - c;
        const double step = f / (x / (1.0 + x));
        x -= step;
        if (std::fabs(step) <= 1e-14 * x) break;
    }
    return x * planned_variance;
}

double msprt_tau2_for_effect(double expected_effect) {
    if (!std::isfinite(expected_effect) || expected_effect == 0.0) {
        invalid_field("expected_effect", "must be a finite non-zero number");
    }
    return expected_effect * expected_effect;
}

MsprtLook sequential_look(MetricKind kind, const Summary& control, const Summary& treatment,
                          const SequentialOptions& options) {
    freq_internal::require_open_unit("alpha", options.alpha);
    if (options.tau2) require_tau2("tau2", *options.tau2);
    if (!std::isfinite(options.planned_subjects_per_arm) ||
        !(options.planned_subjects_per_arm > 0.0)) {
        invalid_field("planned_subjects_per_arm", "must be a finite number > 0");
    }
    if (kind == MetricKind::Rate) {
        freq_internal::validate_rate_arm("treatment", treatment);
        freq_internal::validate_rate_arm("control", control);
    } else {
        freq_internal::validate_mean_arm("treatment", treatment);
        freq_internal::validate_mean_arm("control", control);
    }
    const double tau2_given = options.tau2 ? *options.tau2 : kNaN;

    if (treatment.n == 0.0 || control.n == 0.0) {
        return undefined_look(
            kNaN, kNaN, tau2_given, options.alpha,
            treatment.n == 0.0 ? "treatment arm has no subjects" : "control arm has no subjects");
    }
    const double estimate = treatment.mean() - control.mean();
    double unit_var_t;  // per-subject variance of each arm
    double unit_var_c;
    if (kind == MetricKind::Rate) {
        const double pt = treatment.mean();
        const double pc = control.mean();
        unit_var_t = pt * (1.0 - pt);
        unit_var_c = pc * (1.0 - pc);
    } else {
        if (treatment.n < 2.0 || control.n < 2.0) {
            return undefined_look(estimate, kNaN, tau2_given, options.alpha,
                                  std::string("fewer than 2 subjects in the ") +
                                      (treatment.n < 2.0 ? "treatment" : "control") +
                                      " arm: variance unknown");
        }
        unit_var_t = treatment.variance();
        unit_var_c = control.variance();
    }
    const double variance = unit_var_t / treatment.n + unit_var_c / control.n;
    if (!(variance > 0.0)) {
        return undefined_look(estimate, variance, tau2_given, options.alpha,
                              "zero variance: no variation observed yet");
    }
    const double tau2 =
        options.tau2
            ? *options.tau2
            : msprt_tau2_for_planned_variance(
                  (unit_var_t + unit_var_c) / options.planned_subjects_per_arm, options.alpha);
    return msprt(estimate, variance, tau2, options.alpha);
}

namespace {

// The parts every running state has: a look count, a running p-value and a lower bound.
void check_running_state(std::int64_t looks, double p_value, double lower) {
    if (looks < 0) invalid_field("state.looks", "must be >= 0");
    if (!(p_value >= 0.0 && p_value <= 1.0))
        invalid_field("state.p_value", "must be between 0 and 1");
    if (std::isnan(lower)) invalid_field("state.lower", "must not be NaN");
}

}  // namespace

SequentialState sequential_update(const SequentialState& state, const MsprtLook& look) {
    check_running_state(state.looks, state.p_value, state.lower);
    if (std::isnan(state.upper)) invalid_field("state.upper", "must not be NaN");
    if (!look.defined) return state;

    SequentialState next = state;
    next.looks = state.looks + 1;
    next.p_value = std::min(state.p_value, look.p_value);
    next.lower = std::max(state.lower, look.lower);
    next.upper = std::min(state.upper, look.upper);
    return next;
}

namespace {

// ln Lambda+(x) for the half-normal mixture (sequential.hpp); -inf where Phi underflows.
double log_lambda_plus(double x, double variance, double tau2) {
    const double k = std::sqrt(tau2 / (variance * (variance + tau2)));
    const double phi = 0.5 * std::erfc(-k * x / std::sqrt(2.0));
    if (!(phi > 0.0)) return -std::numeric_limits<double>::infinity();
    return std::log(2.0) - 0.5 * std::log1p(tau2 / variance) + 0.5 * k * k * x * x + std::log(phi);
}

}  // namespace

HarmLook harm_look(const MsprtLook& look, bool higher_is_better) {
    HarmLook h;
    h.harm = higher_is_better ? -look.estimate : look.estimate;
    h.variance = look.variance;
    h.tau2 = look.tau2;
    h.alpha = look.alpha;
    if (!look.defined) {
        h.reason = look.reason.empty() ? "the comparison is undefined" : look.reason;
        return h;
    }
    h.log_lambda = log_lambda_plus(h.harm, look.variance, look.tau2);
    h.p_value = std::min(1.0, std::exp(-h.log_lambda));
    // x* with ln Lambda+(x*) = ln(1/alpha): Lambda+(0) = sqrt(V / (V + tau^2)) < 1 < 1/alpha, and
    // at the two-sided half-width w, Lambda+(w) = 2 Phi(.) Lambda(w) > 1/alpha, so [0, w] brackets
    // it.
    const double target = -std::log(look.alpha);
    const double w = look.upper - look.estimate;
    auto f = [&](double x) { return log_lambda_plus(x, look.variance, look.tau2) - target; };
    std::uintmax_t iterations = 200;
    const auto root = boost::math::tools::toms748_solve(
        f, 0.0, w, boost::math::tools::eps_tolerance<double>(48), iterations);
    h.lower = h.harm - 0.5 * (root.first + root.second);
    h.defined = std::isfinite(h.p_value) && std::isfinite(h.lower);
    if (!h.defined) h.reason = "statistic is not finite";
    return h;
}

HarmState harm_update(const HarmState& state, const HarmLook& look) {
    check_running_state(state.looks, state.p_value, state.lower);
    if (!look.defined) return state;
    HarmState next = state;
    next.looks = state.looks + 1;
    next.p_value = std::min(state.p_value, look.p_value);
    next.lower = std::max(state.lower, look.lower);
    return next;
}

}  // namespace abx::stats
