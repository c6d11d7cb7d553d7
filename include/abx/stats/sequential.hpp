// Sequential (peeking-safe) testing: the mixture sequential probability ratio test (mSPRT) with a
// normal mixing distribution, from Johari, Koomen, Pekelis & Walsh, "Always Valid Inference:
// Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022 (arXiv:1512.04922).
// Formulas, the choice of the mixing variance tau^2 and assumptions: docs/statistics.md.
//
// For an estimate theta_hat of a difference with (estimated) variance V and mixing
// distribution theta ~ N(0, tau^2) under the alternative, the mixture likelihood ratio against
// H0: theta = 0 is
//     Lambda = sqrt(V / (V + tau^2)) * exp( theta_hat^2 / (2 V) * tau^2 / (V + tau^2) )
// and the always-valid p-value is p_n = min(p_{n-1}, 1 / Lambda_n) with p_0 = 1. The
// always-valid confidence interval at one look is {theta : Lambda_n(theta) < 1/alpha}, i.e.
//     theta_hat +- sqrt( V (V + tau^2) / tau^2 * ( ln((V + tau^2) / V) + 2 ln(1/alpha) ) ),
// and the confidence sequence is the running intersection of these intervals.
#pragma once
#include "abx/core_only.hpp"
#include "abx/stats/frequentist.hpp"
#include "abx/stats/summary.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace abx::stats {

inline constexpr double kDefaultSequentialAlpha = 0.05;
// Default planning horizon for the automatic tau^2: the per-arm sample size at which the
// always-valid interval is made narrowest (see msprt_tau2_for_planned_variance).
inline constexpr double kDefaultPlannedSubjectsPerArm = 10000;

// One look of the mSPRT, without memory of earlier looks.
struct MsprtLook {
    double estimate = kUndefined;    // theta_hat (difference treatment - control)
    double variance = kUndefined;    // V, variance of theta_hat
    double tau2 = kUndefined;        // mixing variance used
    double alpha = kUndefined;       // level of the interval
    double log_lambda = kUndefined;  // ln Lambda against theta = 0
    double p_value = kUndefined;     // min(1, 1/Lambda) at this look only (no running minimum)
    double lower = kUndefined;       // always-valid interval at this look (not intersected)
    double upper = kUndefined;
    bool defined = false;
    std::string reason;  // why undefined; empty when defined
};

// Stateless mSPRT from current statistics. `variance` must be >= 0 and `tau2` > 0 (finite), alpha
// in (0, 1), otherwise Error 22023. A zero variance (no variation observed yet) or a non-finite
// estimate gives an undefined look (p_value NaN), not an error.
MsprtLook msprt(double estimate, double variance, double tau2,
                double alpha = kDefaultSequentialAlpha);

// The tau^2 that makes the always-valid interval narrowest at the look where V equals
// `planned_variance`: tau^2 = x* V where x* solves x = ln(1 + x) + 2 ln(1/alpha) (x* ~ 8.21 for
// alpha = 0.05). planned_variance > 0 and alpha in (0, 1), otherwise Error 22023.
double msprt_tau2_for_planned_variance(double planned_variance,
                                       double alpha = kDefaultSequentialAlpha);

// tau^2 from the size of effect one expects (or cares about), in the metric's absolute units:
// tau = |expected_effect|. This roughly equals the planned-variance choice at the sample size that
// gives 80 % power for that effect in a fixed-horizon test at alpha = 0.05 (docs/statistics.md).
// expected_effect must be finite and non-zero, otherwise Error 22023.
double msprt_tau2_for_effect(double expected_effect);

struct SequentialOptions {
    double alpha = kDefaultSequentialAlpha;
    // Mixing variance in the metric's units (squared). Unset: derived from the current per-subject
    // variances as msprt_tau2_for_planned_variance(s_t^2 / N + s_c^2 / N) with
    // N = planned_subjects_per_arm.
    std::optional<double> tau2;
    double planned_subjects_per_arm = kDefaultPlannedSubjectsPerArm;
};

// One look at treatment - control for a metric: theta_hat = difference of means/rates and
// V = s_t^2/n_t + s_c^2/n_c (rates: p(1-p)/n per arm; means: unbiased s^2/n per arm).
// Undefined (not an error) when an arm has no subjects, a mean arm has fewer than 2 subjects, or
// V = 0.
MsprtLook sequential_look(MetricKind kind, const Summary& control, const Summary& treatment,
                          const SequentialOptions& options = {});

// What has to be carried from one look to the next (the glue stores it per experiment, variant
// and metric). A fresh state (no look yet) is the default value.
struct SequentialState {
    std::int64_t looks = 0;  // defined looks folded in so far
    double p_value = 1.0;    // running minimum of the per-look p-values
    double lower = -std::numeric_limits<double>::infinity();  // running intersection
    double upper = std::numeric_limits<double>::infinity();

    // An empty running intersection: the per-look intervals contradict each other, which only
    // happens with a (1 - alpha)-unlikely sample path or a violated assumption (e.g. an effect that
    // changes over time). The p-value is then <= alpha; display the latest per-look interval.
    bool interval_empty() const { return lower > upper; }
};

// Folds one look into the state: p = min(p, look.p_value), interval = intersection. An undefined
// look leaves the state unchanged. Throws Error 22023 if `state` is malformed (p outside [0, 1],
// negative looks, NaN bounds).
SequentialState sequential_update(const SequentialState& state, const MsprtLook& look);

// ---------------------------------------------------------------------------------------------
// One-sided sequential test for harm (guardrail metrics)
// ---------------------------------------------------------------------------------------------
// `harm` is the difference oriented so that positive is harmful (treatment - control for a metric
// to minimize, control - treatment for one to maximize). The mixture puts a half-normal N(0, tau^2)
// restricted to harm > theta0 on the alternative, which gives in closed form, with x = harm_hat -
// theta0,
//     Lambda+(x) = 2 sqrt(V / (V + tau^2)) exp( x^2 tau^2 / (2 V (V + tau^2)) ) Phi( x tau /
//     sqrt(V (V + tau^2)) ).
// Lambda+(0) is a nonnegative martingale under harm = 0 and a supermartingale under harm < 0, so
// rejecting "no harm" once 1/Lambda+ <= alpha at any look keeps the error below alpha however often
// one looks. Lambda+ increases with x, so the always-valid lower bound of the harm at one look is
// harm_hat - x* with Lambda+(x*) = 1/alpha; harm is shown when that bound is above 0 (the
// interval lies wholly on the harmful side). Anchors: GrowthBook safe rollouts and LaunchDarkly
// guarded rollouts (one-sided sequential tests on guardrails); docs/statistics.md.
struct HarmLook {
    double harm = kUndefined;        // harm_hat
    double variance = kUndefined;    // V
    double tau2 = kUndefined;        // mixing variance
    double alpha = kUndefined;       // level
    double log_lambda = kUndefined;  // ln Lambda+ against harm <= 0
    double p_value = kUndefined;     // min(1, 1 / Lambda+(harm_hat)) at this look only
    double lower = kUndefined;       // always-valid lower bound of the harm at this look
    bool defined = false;
    std::string reason;  // why undefined; empty when defined
};

// The one-sided test from a two-sided look of the same comparison (its estimate, variance, tau^2
// and alpha); `higher_is_better` orients the harm. An undefined look gives an undefined HarmLook.
HarmLook harm_look(const MsprtLook& look, bool higher_is_better);

// Running state: p = running minimum, lower = running maximum (the confidence sequence).
struct HarmState {
    std::int64_t looks = 0;
    double p_value = 1.0;
    double lower = -std::numeric_limits<double>::infinity();
    // Harm is shown at level alpha: the running lower bound is above 0 (equivalently p <= alpha).
    bool harmful() const { return lower > 0.0; }
};

// Folds one look in; an undefined look leaves the state unchanged. Error 22023 for a malformed
// state (p outside [0, 1], negative looks, NaN bound).
HarmState harm_update(const HarmState& state, const HarmLook& look);

}  // namespace abx::stats
