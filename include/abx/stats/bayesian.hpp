// Bayesian analysis of one metric across the arms of an experiment: Beta-Binomial posteriors for
// rates, normal posteriors for means; chance to beat control, expected loss, probability of being
// best, credible intervals, and the fail-fast rule. Formulas, sources, assumptions and switch
// points are documented in docs/statistics-bayesian.md.
#pragma once
#include "abx/core_only.hpp"
#include "abx/stats/summary.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace abx::stats {

// Which direction of a metric is good. Lower is for metrics such as churn, refund or fraud rate,
// latency: "better" then means a lower value everywhere in this header.
enum class Better { Higher, Lower };

// ---------------------------------------------------------------------------------------------
// Posteriors
// ---------------------------------------------------------------------------------------------

// Prior of a conversion rate. Beta(1, 1) is uniform; Beta(0.5, 0.5) is Jeffreys'.
struct BetaPrior {
    double alpha = 1.0;
    double beta = 1.0;
};

struct BetaPosterior {
    double alpha = 1.0;
    double beta = 1.0;

    double mean() const { return alpha / (alpha + beta); }
    double variance() const {
        const double s = alpha + beta;
        return alpha * beta / (s * s * (s + 1.0));
    }
};

// Beta(conversions + prior.alpha, n - conversions + prior.beta) where rate.sum is the number of
// conversions. Throws Error 22023 unless n >= 0, 0 <= sum <= n (finite) and the prior is > 0.
BetaPosterior beta_posterior(const Summary& rate, const BetaPrior& prior = {});

// Posterior of a mean under a flat prior with the sample variance plugged in: N(x̄, s²/n).
// Requires n >= 2 (Error 22023 otherwise). sd is 0 when every value is equal.
struct NormalPosterior {
    double mean = 0.0;
    double sd = 0.0;
};
NormalPosterior normal_posterior(const Summary& values);

// Equal-tailed credible interval holding `level` of the posterior mass, level in (0, 1).
struct CredibleInterval {
    double lower = 0.0;
    double upper = 0.0;
};
CredibleInterval credible_interval(const BetaPosterior& posterior, double level = 0.95);
CredibleInterval credible_interval(const NormalPosterior& posterior, double level = 0.95);

// ---------------------------------------------------------------------------------------------
// Two independent posteriors
// ---------------------------------------------------------------------------------------------

// How P(X > Y) is computed for two Beta posteriors.
//  - ExactSum: Evan Miller's closed-form sum, O(m) terms where m is the smallest integer-valued
//    parameter among the four equivalent forms; needs at least one integer parameter.
//  - Quadrature: adaptive 1-D integration of f(t)·G(t) with Boost.Math.
//  - Auto: ExactSum when m <= kExactSumMaxTerms, Quadrature otherwise.
enum class BetaMethod { Auto, ExactSum, Quadrature };
inline constexpr double kExactSumMaxTerms = 1000;

// The method Auto resolves to for this pair (ExactSum or Quadrature).
BetaMethod auto_method(const BetaPosterior& x, const BetaPosterior& y);

// P(X > Y) for independent X ~ x, Y ~ y.
double prob_greater(const BetaPosterior& x, const BetaPosterior& y,
                    BetaMethod method = BetaMethod::Auto);
// E[max(X - Y, 0)] = mean(x)·P(X' > Y) - mean(y)·P(X > Y') with X' ~ Beta(ax+1, bx),
// Y' ~ Beta(ay+1, by).
double expected_excess(const BetaPosterior& x, const BetaPosterior& y,
                       BetaMethod method = BetaMethod::Auto);

// The same for normal posteriors, in closed form (D = X - Y is normal).
double prob_greater(const NormalPosterior& x, const NormalPosterior& y);
double expected_excess(const NormalPosterior& x, const NormalPosterior& y);

// Treatment against control, oriented by `better`.
struct BayesComparison {
    double control_mean = 0.0;  // posterior means
    double treatment_mean = 0.0;
    // P(treatment is better than control).
    double chance_to_beat_control = 0.0;
    // E[how much worse the treatment is, or 0]: the risk of shipping it.
    double expected_loss_treatment = 0.0;
    // E[how much worse the control is, or 0]: the risk of keeping it.
    double expected_loss_control = 0.0;
};
// For Better::Higher: chance = P(T > C), loss_treatment = E[max(C - T, 0)],
// loss_control = E[max(T - C, 0)]; for Better::Lower the inequalities and differences flip.
// Losses are in the metric's units (absolute rate or mean), never negative.
BayesComparison compare(const BetaPosterior& control, const BetaPosterior& treatment,
                        Better better = Better::Higher);
BayesComparison compare(const NormalPosterior& control, const NormalPosterior& treatment,
                        Better better = Better::Higher);
BayesComparison compare_rates(const Summary& control, const Summary& treatment,
                              Better better = Better::Higher, const BetaPrior& prior = {});
BayesComparison compare_means(const Summary& control, const Summary& treatment,
                              Better better = Better::Higher);

// ---------------------------------------------------------------------------------------------
// k arms
// ---------------------------------------------------------------------------------------------

// Probability that each arm is the best: P_i = ∫ f_i(t) ∏_{j≠i} F_j(t) dt (Higher; 1 - F_j for
// Lower), exact for independent posteriors, computed by adaptive quadrature. The result has one
// entry per arm and is normalised to sum to 1 (the raw sum differs from 1 by < 1e-9).
// At least one arm; with one arm the result is {1}.
std::vector<double> prob_best(std::span<const BetaPosterior> arms, Better better = Better::Higher);
// Normal arms may have sd 0 (a point mass); point masses tied at the top share equally.
std::vector<double> prob_best(std::span<const NormalPosterior> arms,
                              Better better = Better::Higher);
std::vector<double> prob_best_rates(std::span<const Summary> arms, Better better = Better::Higher,
                                    const BetaPrior& prior = {});
std::vector<double> prob_best_means(std::span<const Summary> arms, Better better = Better::Higher);

// ---------------------------------------------------------------------------------------------
// Fail-fast
// ---------------------------------------------------------------------------------------------

// An arm is flagged as a loser when it and the reference ("best") arm both have at least
// min_samples subjects and P(arm is worse than best) > threshold.
struct FailFastConfig {
    double threshold = 0.95;   // in (0, 1)
    double min_samples = 100;  // subjects, >= 0
};

struct FailFastArm {
    bool eligible = false;              // n >= min_samples (and, for means, n >= 2)
    double prob_worse_than_best = 0.0;  // 0 for the best arm itself; NaN if undefined
    bool flagged = false;
};

struct FailFastResult {
    // Reference arm: the eligible arm with the highest probability of being best among the
    // eligible arms (lowest index on ties). Empty when no arm is eligible.
    std::optional<std::size_t> best;
    std::vector<FailFastArm> arms;  // one per input arm, in input order

    bool any_flagged() const {
        for (const auto& a : arms)
            if (a.flagged) return true;
        return false;
    }
};

FailFastResult fail_fast_rates(std::span<const Summary> arms, Better better = Better::Higher,
                               const FailFastConfig& config = {}, const BetaPrior& prior = {});
FailFastResult fail_fast_means(std::span<const Summary> arms, Better better = Better::Higher,
                               const FailFastConfig& config = {});

}  // namespace abx::stats
