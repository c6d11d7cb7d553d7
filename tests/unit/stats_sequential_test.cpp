// Tests of the mixture SPRT (include/abx/stats/sequential.hpp).
//
// Reference values come from R 4.2 (Debian r-base-core), computed from the paper's own
// parametrisations or from the definitions (numerical integration, root finding, numerical
// optimisation), never from abx's closed forms; the exact commands are in the comments.
// Johari, Koomen, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests",
// Operations Research 70(3), 2022 (arXiv:1512.04922); Johari, Koomen, Pekelis & Walsh, "Peeking at
// A/B Tests", KDD 2017 (Bernoulli form).
#include "abx/error.hpp"
#include "abx/stats/frequentist.hpp"
#include "abx/stats/sequential.hpp"
#include "abx/stats/summary.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <string>

namespace {

using abx::stats::MetricKind;
using abx::stats::MsprtLook;
using abx::stats::SequentialOptions;
using abx::stats::SequentialState;
using abx::stats::Summary;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Summary rate(double conversions, double n) {
    return Summary{n, conversions, conversions};
}

TEST(Sequential, MatchesPaperNormalFormAndIntegral) {
    // Two streams, n = 500 per arm, known sigma^2 = 4, observed difference 0.3, tau^2 = 0.04, so
    // V = 2 sigma^2 / n = 0.016. The paper's form, in R:
    //   n <- 500; s2 <- 4; d <- 0.3; tau2 <- 0.04
    //   L <- sqrt(2*s2/(2*s2+n*tau2)) * exp(n^2*tau2*d^2/(4*s2*(2*s2+n*tau2)))
    //   -> L = 3.9850389533211397, 1/L = 0.25093857593703017
    // The definition (mixture of likelihood ratios) by numerical integration agrees:
    //   V <- 2*s2/n; LR <- function(dhat, th0=0) integrate(function(th) dnorm(dhat, th0+th,
    //     sqrt(V))/dnorm(dhat, th0, sqrt(V))*dnorm(th, 0, sqrt(tau2)), -Inf, Inf,
    //     rel.tol=1e-12)$value;  LR(d) -> 3.9850389533211423
    // and the always-valid interval {theta0 : LR(d, theta0) < 1/alpha}, alpha = 0.05, by uniroot:
    //   uniroot(function(th0) LR(d, th0) - 20, c(d-2, d), tol=1e-13)$root -> -0.10282837083491898
    //   uniroot(function(th0) LR(d, th0) - 20, c(d, d+2), tol=1e-13)$root ->  0.702828370834919
    const MsprtLook look = abx::stats::msprt(0.3, 0.016, 0.04, 0.05);
    ASSERT_TRUE(look.defined) << look.reason;
    EXPECT_NEAR(std::exp(look.log_lambda), 3.9850389533211397, 1e-12);
    EXPECT_NEAR(look.p_value, 0.25093857593703017, 1e-13);
    EXPECT_NEAR(look.lower, -0.10282837083491898, 1e-9);
    EXPECT_NEAR(look.upper, 0.702828370834919, 1e-9);
    EXPECT_EQ(look.estimate, 0.3);
    EXPECT_EQ(look.variance, 0.016);
    EXPECT_EQ(look.tau2, 0.04);
}

TEST(Sequential, MatchesBernoulliForm) {
    // KDD 2017 Bernoulli form with V_n = X(1-X) + Y(1-Y); n = 2000 per arm, 250 vs 200
    // conversions, tau^2 = 5e-4. R:
    //   n <- 2000; Y <- 250/n; X <- 200/n; Vn <- X*(1-X)+Y*(1-Y); tau2 <- 5e-4
    //   L <- sqrt(Vn/(Vn+n*tau2))*exp(n^2*tau2*(Y-X)^2/(2*Vn*(Vn+n*tau2)))
    //   -> L = 5.5650574024497859, min(1, 1/L) = 0.17969266580427209
    SequentialOptions options;
    options.tau2 = 5e-4;
    const MsprtLook look =
        abx::stats::sequential_look(MetricKind::Rate, rate(200, 2000), rate(250, 2000), options);
    ASSERT_TRUE(look.defined) << look.reason;
    EXPECT_NEAR(look.p_value, 0.17969266580427209, 1e-13);
    EXPECT_NEAR(std::exp(look.log_lambda), 5.5650574024497859, 1e-12);
    EXPECT_NEAR(look.estimate, 0.025, 1e-15);
}

TEST(Sequential, Tau2MinimisingIntervalWidth) {
    // x* = tau^2 / V solving x = ln(1 + x) + 2 ln(1/alpha). R:
    //   uniroot(function(x) x - log(1+x) + 2*log(0.05), c(1, 100), tol=1e-14)$root
    //     -> 8.2119680620682534
    //   uniroot(function(x) x - log(1+x) + 2*log(0.01), c(1, 100), tol=1e-14)$root
    //     -> 11.756371222495417
    EXPECT_NEAR(abx::stats::msprt_tau2_for_planned_variance(1.0, 0.05), 8.2119680620682534, 1e-10);
    EXPECT_NEAR(abx::stats::msprt_tau2_for_planned_variance(1.0, 0.01), 11.756371222495417, 1e-10);
    EXPECT_NEAR(abx::stats::msprt_tau2_for_planned_variance(0.01), 0.082119680620682534, 1e-12);
    // The same optimum found numerically, inverting Lambda by root finding for each tau^2 and
    // minimising the half-width with optimize (V = 0.01, alpha = 0.05). R:
    //   V <- 0.01; half <- function(t2) uniroot(function(dev) sqrt(V/(V+t2)) *
    //     exp(dev^2/(2*V)*t2/(V+t2)) - 20, c(0, 10), tol=1e-14)$root
    //   o <- optimize(half, c(0.001, 1), tol=1e-12)
    //   -> o$minimum = 0.082119682966903904, o$objective = 0.30351224130285509
    const double tau2 = abx::stats::msprt_tau2_for_planned_variance(0.01);
    EXPECT_NEAR(tau2, 0.082119682966903904, 1e-6);
    const MsprtLook at_plan = abx::stats::msprt(0.0, 0.01, tau2, 0.05);
    EXPECT_NEAR(at_plan.upper, 0.30351224130285509, 1e-10);
    // Any other tau^2 gives a wider interval at that variance.
    for (double other : {0.5 * tau2, 0.9 * tau2, 1.1 * tau2, 2.0 * tau2}) {
        EXPECT_GT(abx::stats::msprt(0.0, 0.01, other, 0.05).upper, at_plan.upper);
    }
}

TEST(Sequential, Tau2FromExpectedEffect) {
    EXPECT_DOUBLE_EQ(abx::stats::msprt_tau2_for_effect(0.02), 0.0004);
    EXPECT_DOUBLE_EQ(abx::stats::msprt_tau2_for_effect(-3.0), 9.0);
    // tau = delta is the width-optimal tau^2 at the variance that gives 80 % power for delta at
    // alpha = 0.05 in a fixed-horizon test, up to a factor x* / (z_.975 + z_.8)^2. R:
    //   z <- qnorm(.975)+qnorm(.8); xs/z^2 (xs = x* above) -> 1.0462598918582207
    const double delta = 0.02;
    const double power80_variance = std::pow(delta / 2.8015852181129679, 2);
    EXPECT_NEAR(abx::stats::msprt_tau2_for_planned_variance(power80_variance) /
                    abx::stats::msprt_tau2_for_effect(delta),
                1.0462598918582207, 1e-9);
}

TEST(Sequential, AutomaticTau2FromPlannedSubjects) {
    // Default options: tau^2 = x* (p_t(1-p_t) + p_c(1-p_c)) / 10000. R:
    //   pt <- 0.125; pc <- 0.1; tau2a <- xs*(pt*(1-pt)+pc*(1-pc))/10000
    //   Vr <- pt*(1-pt)/2000 + pc*(1-pc)/2000
    //   La <- sqrt(Vr/(Vr+tau2a))*exp(0.025^2/(2*Vr)*tau2a/(Vr+tau2a))
    //   ha <- uniroot(function(dev) sqrt(Vr/(Vr+tau2a))*exp(dev^2/(2*Vr)*tau2a/(Vr+tau2a)) - 20,
    //                 c(0,1), tol=1e-14)$root
    //   -> tau2a = 0.00016372611323748582, min(1,1/La) = 0.2316317486067139,
    //      0.025 -+ ha = -0.0084182228637159143 0.058418222863715917
    const MsprtLook look =
        abx::stats::sequential_look(MetricKind::Rate, rate(200, 2000), rate(250, 2000));
    ASSERT_TRUE(look.defined) << look.reason;
    EXPECT_NEAR(look.tau2, 0.00016372611323748582, 1e-15);
    EXPECT_NEAR(look.p_value, 0.2316317486067139, 1e-12);
    EXPECT_NEAR(look.lower, -0.0084182228637159143, 1e-10);
    EXPECT_NEAR(look.upper, 0.058418222863715917, 1e-10);
}

TEST(Sequential, MeansUseUnbiasedVariances) {
    // For means, V = s_t^2/n_t + s_c^2/n_c with unbiased s^2; with tau^2 fixed the look equals the
    // normal form above: arms of n = 500 with s^2 = 4 and means 10.3 / 10.0, tau^2 = 0.04.
    const auto arm = [](double n, double mean, double var) {
        return Summary{n, n * mean, (n - 1) * var + n * mean * mean};
    };
    SequentialOptions options;
    options.tau2 = 0.04;
    const MsprtLook look = abx::stats::sequential_look(MetricKind::Mean, arm(500, 10.0, 4),
                                                       arm(500, 10.3, 4), options);
    ASSERT_TRUE(look.defined);
    EXPECT_NEAR(look.variance, 0.016, 1e-12);
    EXPECT_NEAR(look.p_value, 0.25093857593703017, 1e-9);  // R value of MatchesPaperNormalForm
}

TEST(Sequential, PValueAndIntervalAgree) {
    // At every look, p <= alpha exactly when 0 lies outside the interval (the interval is the
    // inversion of the same likelihood ratio). Checked on a grid around the boundary.
    for (double v : {1e-6, 0.003, 0.5, 40.0}) {
        for (double tau2 : {0.1 * v, v, 10 * v}) {
            for (double k = 0.0; k < 6.0; k += 0.05) {
                const MsprtLook look = abx::stats::msprt(k * std::sqrt(v), v, tau2, 0.05);
                ASSERT_TRUE(look.defined);
                const bool excludes_zero = look.lower > 0.0 || look.upper < 0.0;
                EXPECT_EQ(look.p_value <= 0.05, excludes_zero) << v << " " << tau2 << " " << k;
            }
        }
    }
    // No difference observed: Lambda < 1, so p = 1 (capped), and the interval is symmetric.
    const MsprtLook flat = abx::stats::msprt(0.0, 0.01, 0.05);
    EXPECT_EQ(flat.p_value, 1.0);
    EXPECT_LT(flat.log_lambda, 0.0);
    EXPECT_DOUBLE_EQ(flat.lower, -flat.upper);
    // An overwhelming difference: p underflows to 0 rather than becoming NaN.
    const MsprtLook huge = abx::stats::msprt(1.0, 1e-9, 1e-4);
    EXPECT_TRUE(huge.defined);
    EXPECT_EQ(huge.p_value, 0.0);
}

TEST(Sequential, RunningMinimumAndIntersection) {
    const auto make = [](double p, double lo, double hi) {
        MsprtLook look;
        look.p_value = p;
        look.lower = lo;
        look.upper = hi;
        look.defined = true;
        return look;
    };
    SequentialState s;  // fresh: no look yet
    EXPECT_EQ(s.looks, 0);
    EXPECT_EQ(s.p_value, 1.0);
    EXPECT_EQ(s.lower, -kInf);
    EXPECT_EQ(s.upper, kInf);

    s = abx::stats::sequential_update(s, make(0.40, -0.10, 0.30));
    EXPECT_EQ(s.looks, 1);
    EXPECT_EQ(s.p_value, 0.40);
    EXPECT_EQ(s.lower, -0.10);
    EXPECT_EQ(s.upper, 0.30);

    s = abx::stats::sequential_update(s, make(0.20, -0.05, 0.35));
    EXPECT_EQ(s.p_value, 0.20);
    EXPECT_EQ(s.lower, -0.05);
    EXPECT_EQ(s.upper, 0.30);

    // The per-look p-value going up again does not raise the always-valid one.
    s = abx::stats::sequential_update(s, make(0.90, -0.20, 0.25));
    EXPECT_EQ(s.looks, 3);
    EXPECT_EQ(s.p_value, 0.20);
    EXPECT_EQ(s.lower, -0.05);
    EXPECT_EQ(s.upper, 0.25);
    EXPECT_FALSE(s.interval_empty());

    // An undefined look changes nothing.
    MsprtLook undefined;
    undefined.reason = "zero variance";
    const SequentialState same = abx::stats::sequential_update(s, undefined);
    EXPECT_EQ(same.looks, 3);
    EXPECT_EQ(same.p_value, 0.20);

    // Disjoint intervals: the running intersection becomes empty and is reported as such.
    s = abx::stats::sequential_update(s, make(0.01, 0.30, 0.50));
    EXPECT_TRUE(s.interval_empty());
    EXPECT_EQ(s.p_value, 0.01);
}

TEST(Sequential, DegenerateLooksAreUndefined) {
    const MsprtLook none =
        abx::stats::sequential_look(MetricKind::Rate, rate(0, 1000), rate(0, 1000));
    EXPECT_FALSE(none.defined);
    EXPECT_TRUE(std::isnan(none.p_value));
    EXPECT_NE(none.reason.find("zero variance"), std::string::npos) << none.reason;

    const MsprtLook empty = abx::stats::sequential_look(MetricKind::Rate, rate(5, 10), rate(0, 0));
    EXPECT_FALSE(empty.defined);
    EXPECT_NE(empty.reason.find("treatment arm has no subjects"), std::string::npos);

    const MsprtLook one =
        abx::stats::sequential_look(MetricKind::Mean, Summary{10, 20, 50}, Summary{1, 3, 9});
    EXPECT_FALSE(one.defined);
    EXPECT_NE(one.reason.find("fewer than 2 subjects in the treatment arm"), std::string::npos);

    const MsprtLook nan_input = abx::stats::msprt(kNaN, 0.1, 0.1);
    EXPECT_FALSE(nan_input.defined);
    EXPECT_TRUE(std::isnan(nan_input.p_value));
    EXPECT_FALSE(abx::stats::msprt(0.2, kNaN, 0.1).defined);
    EXPECT_FALSE(abx::stats::msprt(0.2, 0.0, 0.1).defined);
}

TEST(Sequential, InvalidInputsThrow22023) {
    expect_invalid([] { abx::stats::msprt(0.1, 0.01, 0.01, 0.0); }, "alpha");
    expect_invalid([] { abx::stats::msprt(0.1, 0.01, 0.01, 1.0); }, "alpha");
    expect_invalid([] { abx::stats::msprt(0.1, 0.01, 0.0); }, "tau2");
    expect_invalid([] { abx::stats::msprt(0.1, 0.01, -1.0); }, "tau2");
    expect_invalid([] { abx::stats::msprt(0.1, 0.01, kInf); }, "tau2");
    expect_invalid([] { abx::stats::msprt(0.1, -0.01, 0.01); }, "variance");
    expect_invalid([] { abx::stats::msprt(kInf, 0.01, 0.01); }, "estimate");
    expect_invalid([] { abx::stats::msprt_tau2_for_planned_variance(0.0); }, "planned_variance");
    expect_invalid([] { abx::stats::msprt_tau2_for_planned_variance(1.0, 1.5); }, "alpha");
    expect_invalid([] { abx::stats::msprt_tau2_for_effect(0.0); }, "expected_effect");

    SequentialOptions bad_n;
    bad_n.planned_subjects_per_arm = 0;
    expect_invalid(
        [&] { abx::stats::sequential_look(MetricKind::Rate, rate(1, 10), rate(1, 10), bad_n); },
        "planned_subjects_per_arm");
    SequentialOptions bad_tau;
    bad_tau.tau2 = -2;
    expect_invalid(
        [&] { abx::stats::sequential_look(MetricKind::Rate, rate(1, 10), rate(1, 10), bad_tau); },
        "tau2");
    expect_invalid([] { abx::stats::sequential_look(MetricKind::Rate, rate(1, 10), rate(11, 10)); },
                   "treatment.sum");

    SequentialState bad_state;
    bad_state.p_value = 1.5;
    expect_invalid([&] { abx::stats::sequential_update(bad_state, MsprtLook{}); }, "state.p_value");
    bad_state = SequentialState{};
    bad_state.looks = -1;
    expect_invalid([&] { abx::stats::sequential_update(bad_state, MsprtLook{}); }, "state.looks");
}

// ---- simulations ---------------------------------------------------------------------------

struct PeekingRates {
    double always_valid;  // share of experiments whose always-valid p ever fell to <= alpha
    double naive;         // share whose fixed-horizon z-test p was < alpha at some look
};

// Experiments with conversion rates p_t / p_c, `looks` looks after every `batch` new subjects per
// arm; sufficient statistics only (one binomial draw per arm and look).
PeekingRates simulate_rates(double p_t, double p_c, int experiments, int looks, int batch,
                            std::uint64_t seed) {
    constexpr double kAlpha = 0.05;
    std::mt19937_64 rng(seed);
    std::binomial_distribution<long> draw_t(batch, p_t);
    std::binomial_distribution<long> draw_c(batch, p_c);
    int av_rejections = 0;
    int naive_rejections = 0;
    for (int e = 0; e < experiments; ++e) {
        Summary t;
        Summary c;
        SequentialState state;
        bool naive_rejected = false;
        for (int look = 0; look < looks; ++look) {
            const double xt = static_cast<double>(draw_t(rng));
            const double xc = static_cast<double>(draw_c(rng));
            t.n += batch;
            t.sum += xt;
            t.sum_sq += xt;
            c.n += batch;
            c.sum += xc;
            c.sum_sq += xc;
            state = abx::stats::sequential_update(
                state, abx::stats::sequential_look(MetricKind::Rate, c, t));
            const auto fixed = abx::stats::two_proportion_test(c, t);
            if (fixed.test.defined && fixed.test.p_value < kAlpha) naive_rejected = true;
        }
        if (state.p_value <= kAlpha) ++av_rejections;
        if (naive_rejected) ++naive_rejections;
    }
    return {static_cast<double>(av_rejections) / experiments,
            static_cast<double>(naive_rejections) / experiments};
}

TEST(Sequential, AaSimulationAlwaysValidVersusNaivePeeking) {
    // A/A: both arms Bernoulli(0.1), 200 new subjects per arm between looks, 50 looks (10,000 per
    // arm at the end), 2000 simulated experiments, seed fixed. Under H0 the always-valid p-value
    // may fall to alpha = 0.05 in at most 5 % of experiments (Ville's inequality; the plug-in
    // variance makes it approximate). Allowed: 0.05 + 3 Monte-Carlo standard errors,
    // 3 * sqrt(0.05 * 0.95 / 2000) = 0.0146, i.e. <= 0.0646. The naive z-test checked at every
    // look must reject far more often than its nominal 5 % (Armitage, McPherson & Rowe 1969: about
    // 0.3 for 50 equally spaced looks).
    const PeekingRates r = simulate_rates(0.1, 0.1, 2000, 50, 200, 0xABCDEF01ull);
    std::cout << "[ A/A rates  ] always-valid ever <= 0.05: " << r.always_valid
              << "   naive peeking ever < 0.05: " << r.naive << "\n";
    EXPECT_LE(r.always_valid, 0.0646);
    EXPECT_GT(r.naive, 0.10);
}

TEST(Sequential, AaSimulationMeans) {
    // A/A on a continuous metric, N(5, 2^2) per subject, 200 per arm per look, 50 looks, 1000
    // experiments. Each batch is drawn through its sufficient statistics: the batch mean
    // ~ N(mu, sigma^2/n) and, independently, the within-batch sum of squares ~ sigma^2
    // chi^2(n - 1). Bound as above with 1000 runs: 0.05 + 3 sqrt(0.05 * 0.95 / 1000) = 0.0707.
    constexpr int kBatch = 200;
    constexpr double kMu = 5.0;
    constexpr double kSigma = 2.0;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> batch_mean(kMu, kSigma / std::sqrt(double{kBatch}));
    std::chi_squared_distribution<double> within(kBatch - 1);
    const auto add_batch = [&](Summary& s) {
        const double m = batch_mean(rng);
        const double ss = kSigma * kSigma * within(rng);
        s.n += kBatch;
        s.sum += kBatch * m;
        s.sum_sq += ss + kBatch * m * m;
    };
    int av = 0;
    int naive = 0;
    const int experiments = 1000;
    for (int e = 0; e < experiments; ++e) {
        Summary t;
        Summary c;
        SequentialState state;
        bool naive_rejected = false;
        for (int look = 0; look < 50; ++look) {
            add_batch(t);
            add_batch(c);
            state = abx::stats::sequential_update(
                state, abx::stats::sequential_look(MetricKind::Mean, c, t));
            if (abx::stats::welch_test(c, t).test.p_value < 0.05) naive_rejected = true;
        }
        if (state.p_value <= 0.05) ++av;
        if (naive_rejected) ++naive;
    }
    const double av_rate = static_cast<double>(av) / experiments;
    const double naive_rate = static_cast<double>(naive) / experiments;
    std::cout << "[ A/A means  ] always-valid ever <= 0.05: " << av_rate
              << "   naive peeking ever < 0.05: " << naive_rate << "\n";
    EXPECT_LE(av_rate, 0.0707);
    EXPECT_GT(naive_rate, 0.10);
}

TEST(Sequential, DetectsARealEffect) {
    // Power check (the test must not be valid merely by never rejecting): 0.10 vs 0.12, same
    // schedule, 400 experiments. A fixed-horizon z-test at the final 10,000 per arm has z ~ 4.5
    // (power > 99 %); the always-valid test should reject in the large majority of runs.
    const PeekingRates r = simulate_rates(0.12, 0.10, 400, 50, 200, 42);
    std::cout << "[ 0.12/0.10  ] always-valid rejects: " << r.always_valid << "\n";
    EXPECT_GT(r.always_valid, 0.90);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One-sided test for harm (guardrails)
// ---------------------------------------------------------------------------------------------
// References from R 4.2 by the definition: the mixture of likelihood ratios over a half-normal
// N(0, tau^2) restricted to harm > theta0, integrated numerically, and the lower bound by uniroot:
//   LRp <- function(h, V, tau2, th0=0) integrate(function(d) exp(dnorm(h, th0+d, sqrt(V),
//     log=TRUE) - dnorm(h, th0, sqrt(V), log=TRUE) + log(2) + dnorm(d, 0, sqrt(tau2), log=TRUE)),
//     0, Inf, rel.tol=1e-13)$value
//   w <- sqrt(V*(V+tau2)/tau2*(log((V+tau2)/V) + 2*log(20)))
//   uniroot(function(th0) LRp(h, V, tau2, th0) - 20, c(h-1.01*w, h), tol=1e-14)$root
TEST(SequentialHarm, MatchesTheMixtureIntegral) {
    struct Case {
        double harm, variance, tau2, lambda, p, lower;
    };
    const Case cases[] = {
        {0.3, 0.016, 0.04, 7.7906679421343235, 0.12835869882114898, -0.062716635447105359},
        {-0.1, 0.016, 0.04, 0.33679695137901888, 1.0, -0.46271663544710534},
        {0.02, 1e-4, 2e-4, 4.1561119102439719, 0.2406094979144337, -0.009293224371644029},
        {0.5, 0.016, 0.04, 283.35627075523809, 0.0035291260621643193, 0.13728336455289464},
    };
    for (const Case& c : cases) {
        // Harm of a metric to minimize is treatment - control: the two-sided estimate itself.
        const MsprtLook two = abx::stats::msprt(c.harm, c.variance, c.tau2, 0.05);
        const abx::stats::HarmLook h = abx::stats::harm_look(two, /*higher_is_better=*/false);
        ASSERT_TRUE(h.defined) << h.reason;
        EXPECT_NEAR(std::exp(h.log_lambda), c.lambda, 1e-9 * c.lambda) << c.harm;
        EXPECT_NEAR(h.p_value, c.p, 1e-11) << c.harm;
        EXPECT_NEAR(h.lower, c.lower, 1e-9) << c.harm;
        // A metric to maximize: the same harm is control - treatment.
        const MsprtLook flipped = abx::stats::msprt(-c.harm, c.variance, c.tau2, 0.05);
        const abx::stats::HarmLook g = abx::stats::harm_look(flipped, /*higher_is_better=*/true);
        EXPECT_DOUBLE_EQ(g.harm, c.harm);
        EXPECT_NEAR(g.lower, c.lower, 1e-9);
        // Lambda+ = 2 Phi(.) Lambda: more evidence than the two-sided test for a harmful estimate.
        if (c.harm > 0) {
            EXPECT_LT(h.p_value, two.p_value);
        }
        // The one-sided bound is tighter than the two-sided interval's harmful-side bound.
        EXPECT_GT(h.lower, two.lower);
    }
}

TEST(SequentialHarm, RunningStateAndUndefinedLooks) {
    abx::stats::HarmState s;
    EXPECT_FALSE(s.harmful());
    const auto weak = abx::stats::harm_look(abx::stats::msprt(0.3, 0.016, 0.04), false);
    const auto strong = abx::stats::harm_look(abx::stats::msprt(0.5, 0.016, 0.04), false);
    s = abx::stats::harm_update(s, strong);
    EXPECT_TRUE(s.harmful());
    s = abx::stats::harm_update(s, weak);  // the running bound never goes back
    EXPECT_EQ(s.looks, 2);
    EXPECT_NEAR(s.lower, 0.13728336455289464, 1e-9);
    EXPECT_NEAR(s.p_value, 0.0035291260621643193, 1e-11);
    EXPECT_TRUE(s.harmful());
    const auto undefined = abx::stats::harm_look(abx::stats::msprt(0.1, 0.0, 0.04), false);
    EXPECT_FALSE(undefined.defined);
    EXPECT_EQ(abx::stats::harm_update(s, undefined).looks, 2);
    abx::stats::HarmState bad;
    bad.p_value = 1.5;
    expect_invalid([&] { abx::stats::harm_update(bad, strong); }, "state.p_value");
    bad = {};
    bad.lower = kNaN;
    expect_invalid([&] { abx::stats::harm_update(bad, strong); }, "state.lower");
}

namespace {
// Share of simulated experiments (rates, 50 looks of `batch` subjects per arm) in which the
// guardrail test ever shows harm; the metric is to minimize (an error rate).
double harm_alarm_rate(double p_t, double p_c, int experiments, std::uint64_t seed) {
    constexpr int kLooks = 50;
    constexpr int kBatch = 200;
    std::mt19937_64 rng(seed);
    std::binomial_distribution<long> draw_t(kBatch, p_t);
    std::binomial_distribution<long> draw_c(kBatch, p_c);
    int alarms = 0;
    for (int e = 0; e < experiments; ++e) {
        Summary t;
        Summary c;
        abx::stats::HarmState state;
        for (int look = 0; look < kLooks; ++look) {
            const double xt = static_cast<double>(draw_t(rng));
            const double xc = static_cast<double>(draw_c(rng));
            t = Summary{t.n + kBatch, t.sum + xt, t.sum_sq + xt};
            c = Summary{c.n + kBatch, c.sum + xc, c.sum_sq + xc};
            state = abx::stats::harm_update(
                state, abx::stats::harm_look(abx::stats::sequential_look(MetricKind::Rate, c, t),
                                             /*higher_is_better=*/false));
        }
        if (state.harmful()) ++alarms;
    }
    return static_cast<double>(alarms) / experiments;
}
}  // namespace

TEST(SequentialHarm, AlwaysValidUnderNoHarmAndDetectsHarm) {
    // No harm (A/A) and a beneficial treatment: the alarm may ring in at most alpha = 5 % of
    // experiments however often one looks; allowed 0.05 + 3 Monte-Carlo standard errors (0.0646).
    const double aa = harm_alarm_rate(0.10, 0.10, 2000, 0x5EEDull);
    const double better = harm_alarm_rate(0.09, 0.10, 2000, 0x5EEEull);
    // A 30 % higher error rate (0.13 vs 0.10) with 10,000 subjects per arm at the end.
    const double harmful = harm_alarm_rate(0.13, 0.10, 500, 0x5EEFull);
    std::cout << "[ guardrail  ] alarm rate A/A " << aa << ", beneficial " << better << ", harmful "
              << harmful << "\n";
    EXPECT_LE(aa, 0.0646);
    EXPECT_LE(better, 0.0646);
    EXPECT_GE(harmful, 0.9);
}
