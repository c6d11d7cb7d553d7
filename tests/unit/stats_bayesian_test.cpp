// Bayesian results: Beta-Binomial and normal posteriors, chance to beat control, expected loss,
// probability of being best, credible intervals, fail-fast.
//
// Every expected number comes from an independent reference, never from this code:
//  - R 4.2 (r-base-core; pbeta/dbeta are TOMS 708, integrate() is QUADPACK QAGS) with the helper
//    file below, run as `Rscript -e 'source("ref.R"); <expression>'`;
//  - for the 1e7 case also the exact closed-form sum evaluated with mpmath at 40 digits (command in
//    docs/statistics-bayesian.md), which R's integrate() matches to 2e-15;
//  - closed forms that follow from symmetry (0.5, 5/6, 1/3) and elementary algebra.
// SciPy's betainc (Cephes) was not used: at a, b ~ 1e6 it is off by 2e-6.
//
// ref.R:
//   bulk <- function(a, b) { m <- a/(a+b); s <- sqrt(a*b/((a+b)^2*(a+b+1)))
//                            c(max(0, m-40*s), min(1, m+40*s)) }
//   I <- function(f, lo, hi) integrate(f, lo, hi, rel.tol=1e-12, abs.tol=0,
//                                      subdivisions=5000L)$value
//   # P(X > Y), X ~ Beta(ax, bx), Y ~ Beta(ay, by)
//   pg <- function(ax, bx, ay, by) { r <- bulk(ax, bx)
//     I(function(t) dbeta(t, ax, bx)*pbeta(t, ay, by), r[1], r[2]) }
//   # E[max(Y - X, 0)] as a nested integral: ∫ f_X(x) ∫_x^1 (1 - F_Y(y)) dy dx
//   loss <- function(ax, bx, ay, by) { rx <- bulk(ax, bx); ry <- bulk(ay, by)
//     inner <- function(x) sapply(x, function(v) { a <- max(v, ry[1]); if (a >= ry[2]) 0 else
//       (a-v) + I(function(y) pbeta(y, ay, by, lower.tail=FALSE), a, ry[2]) })
//     I(function(x) dbeta(x, ax, bx)*inner(x), rx[1], rx[2]) }
//   # P(arm i is the highest) for Beta(A[j], B[j])
//   pbest <- function(A, B, i) { r <- bulk(A[i], B[i])
//     I(function(t) { v <- dbeta(t, A[i], B[i]); for (j in seq_along(A)) if (j != i)
//       v <- v*pbeta(t, A[j], B[j]); v }, r[1], r[2]) }
//   # normal versions: P(X > Y), E[max(Y - X, 0)], P(arm i is the highest)
//   npg <- function(mx, sx, my, sy) I(function(t) dnorm(t, mx, sx)*pnorm(t, my, sy),
//                                     mx-40*sx, mx+40*sx)
//   nloss <- function(mx, sx, my, sy) { s <- sqrt(sx^2+sy^2)
//     I(function(d) d*dnorm(d, my-mx, s), 0, max(0, my-mx)+40*s) }
//   npbest <- function(M, S, i) I(function(t) { v <- dnorm(t, M[i], S[i])
//     for (j in seq_along(M)) if (j != i) v <- v*pnorm(t, M[j], S[j]); v },
//     M[i]-40*S[i], M[i]+40*S[i])
#include "abx/error.hpp"
#include "abx/stats/bayesian.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

namespace abx::stats {
namespace {

// Rate summary: n subjects, c conversions (per-subject values are 0/1, so sum_sq = sum).
Summary rate(double n, double c) {
    return Summary{n, c, c};
}

// Mean summary with the given sample mean and sample standard deviation.
Summary values(double n, double mean, double sd) {
    return Summary{n, n * mean, (n - 1) * sd * sd + n * mean * mean};
}

constexpr double kTol = 1e-9;

// ----- posteriors --------------------------------------------------------------------------------

TEST(BayesPosterior, BetaFromConversionsAndPrior) {
    const BetaPosterior p = beta_posterior(rate(1000, 120));
    EXPECT_EQ(p.alpha, 121);
    EXPECT_EQ(p.beta, 881);
    const BetaPosterior j = beta_posterior(rate(100, 0), BetaPrior{0.5, 0.5});
    EXPECT_EQ(j.alpha, 0.5);
    EXPECT_EQ(j.beta, 100.5);
    const BetaPosterior empty = beta_posterior(rate(0, 0));
    EXPECT_EQ(empty.alpha, 1);
    EXPECT_EQ(empty.beta, 1);
}

TEST(BayesPosterior, InvalidInputsNameTheParameter) {
    expect_invalid([] { beta_posterior(rate(10, 11)); }, "summary.sum");
    expect_invalid([] { beta_posterior(rate(-1, 0)); }, "summary.n");
    expect_invalid([] { beta_posterior(rate(NAN, 0)); }, "summary.n");
    expect_invalid([] { beta_posterior(rate(10, 1), BetaPrior{0, 1}); }, "prior.alpha");
    expect_invalid([] { beta_posterior(rate(10, 1), BetaPrior{1, -2}); }, "prior.beta");
    expect_invalid([] { prob_greater(BetaPosterior{1, 0}, BetaPosterior{1, 1}); }, "x.beta");
    expect_invalid([] { normal_posterior(values(1, 3, 0)); }, "summary.n");
    expect_invalid([] { credible_interval(BetaPosterior{2, 3}, 1.0); }, "level");
    expect_invalid([] { compare_rates(rate(10, 1), rate(10, 12)); }, "treatment.sum");
    // A forced closed-form sum refuses to run for a billion terms.
    expect_invalid(
        [] {
            prob_greater(BetaPosterior{1e9, 2e9}, BetaPosterior{1e9 + 1, 2e9 - 1},
                         BetaMethod::ExactSum);
        },
        "method");
    // ExactSum needs an integer parameter somewhere.
    expect_invalid(
        [] {
            prob_greater(BetaPosterior{0.5, 1.5}, BetaPosterior{2.5, 3.5}, BetaMethod::ExactSum);
        },
        "method");
}

TEST(BayesPosterior, NormalFromSummary) {
    const NormalPosterior p = normal_posterior(values(500, 10, 3));
    EXPECT_NEAR(p.mean, 10, 1e-12);
    EXPECT_NEAR(p.sd, 3 / std::sqrt(500.0), 1e-12);
    const NormalPosterior flat = normal_posterior(Summary{4, 8, 16});  // 2, 2, 2, 2
    EXPECT_EQ(flat.sd, 0);
}

TEST(BayesPosterior, CredibleIntervals) {
    // Rscript -e 'print(qbeta(c(0.025, 0.975), 121, 881), digits=17)'
    const CredibleInterval b = credible_interval(BetaPosterior{121, 881});
    EXPECT_NEAR(b.lower, 0.10132341964422845, 1e-12);
    EXPECT_NEAR(b.upper, 0.14162699974885073, 1e-12);
    // Rscript -e 'print(qbeta(c(0.025, 0.975), 0.5, 100.5), digits=17)'
    const CredibleInterval j = credible_interval(BetaPosterior{0.5, 100.5});
    EXPECT_NEAR(j.lower, 4.8980731043974867e-06, 1e-15);
    EXPECT_NEAR(j.upper, 0.024745270015269938, 1e-12);
    // Rscript -e 'print(qnorm(c(0.025, 0.975), 10, 3/sqrt(500)), digits=17)'
    const CredibleInterval n = credible_interval(normal_posterior(values(500, 10, 3)));
    EXPECT_NEAR(n.lower, 9.7370432378270255, 1e-9);
    EXPECT_NEAR(n.upper, 10.262956762172974, 1e-9);
}

// ----- rates: chance to beat control and expected loss -------------------------------------------

TEST(BayesRates, PublishedLikeCase120vs150) {
    // control 120/1000, treatment 150/1000: C ~ Beta(121, 881), T ~ Beta(151, 851).
    const BayesComparison r = compare_rates(rate(1000, 120), rate(1000, 150));
    // pg(151, 851, 121, 881)
    EXPECT_NEAR(r.chance_to_beat_control, 0.97506783681214371, kTol);
    // loss(151, 851, 121, 881) = E[max(C - T, 0)]
    EXPECT_NEAR(r.expected_loss_treatment, 0.00014417785511183312, kTol);
    // loss(121, 881, 151, 851) = E[max(T - C, 0)]
    EXPECT_NEAR(r.expected_loss_control, 0.030084297615590876, kTol);
    EXPECT_DOUBLE_EQ(r.control_mean, 121.0 / 1002);
    EXPECT_DOUBLE_EQ(r.treatment_mean, 151.0 / 1002);
}

TEST(BayesRates, EqualArmsGiveOneHalfBySymmetry) {
    const BayesComparison r = compare_rates(rate(100, 10), rate(100, 10));
    EXPECT_NEAR(r.chance_to_beat_control, 0.5, 1e-12);
    EXPECT_NEAR(r.expected_loss_treatment, r.expected_loss_control, 1e-14);
    // loss(11, 91, 11, 91)
    EXPECT_NEAR(r.expected_loss_treatment, 0.017129474568795482, kTol);
}

TEST(BayesRates, ZeroConversions) {
    // control 0/1000, treatment 5/1000: C ~ Beta(1, 1001), T ~ Beta(6, 996).
    const BayesComparison r = compare_rates(rate(1000, 0), rate(1000, 5));
    EXPECT_NEAR(r.chance_to_beat_control, 0.98449195318357918, kTol);      // pg(6, 996, 1, 1001)
    EXPECT_NEAR(r.expected_loss_treatment, 1.5430730895867957e-05, kTol);  // loss(6, 996, 1, 1001)
    EXPECT_NEAR(r.expected_loss_control, 0.0050054506909757036, kTol);     // loss(1, 1001, 6, 996)
    // Both arms without conversions: symmetric again.
    EXPECT_NEAR(compare_rates(rate(1000, 0), rate(1000, 0)).chance_to_beat_control, 0.5, 1e-12);
}

TEST(BayesRates, AllConversions) {
    // control 50/50, treatment 45/50: C ~ Beta(51, 1), T ~ Beta(46, 6).
    const BayesComparison r = compare_rates(rate(50, 50), rate(50, 45));
    EXPECT_NEAR(r.chance_to_beat_control, 0.013374533329621626, kTol);   // pg(46, 6, 51, 1)
    EXPECT_NEAR(r.expected_loss_treatment, 0.096396066044244472, kTol);  // loss(46, 6, 51, 1)
    EXPECT_NEAR(r.expected_loss_control, 0.00024221989039830127, kTol);  // loss(51, 1, 46, 6)
}

TEST(BayesRates, SingleSubjectPerArm) {
    // control 0/1, treatment 1/1: C ~ Beta(1, 2), T ~ Beta(2, 1).
    // By hand: P(T > C) = ∫ 2t (2t - t²) dt = 5/6, E[max(C - T, 0)] = 1/30 and
    // E[max(T - C, 0)] = 11/30; R pg(2, 1, 1, 2), loss(2, 1, 1, 2), loss(1, 2, 2, 1) agree.
    const BayesComparison r = compare_rates(rate(1, 0), rate(1, 1));
    EXPECT_NEAR(r.chance_to_beat_control, 5.0 / 6.0, 1e-12);
    EXPECT_NEAR(r.expected_loss_treatment, 1.0 / 30.0, 1e-12);
    EXPECT_NEAR(r.expected_loss_control, 11.0 / 30.0, 1e-12);
}

TEST(BayesRates, SymmetriesHold) {
    const BetaPosterior c{37, 420}, t{45, 400};
    // P(T > C) + P(C > T) = 1.
    EXPECT_NEAR(prob_greater(t, c) + prob_greater(c, t), 1.0, 1e-12);
    // Reflection: P(T > C) = P(1 - C > 1 - T).
    EXPECT_NEAR(prob_greater(t, c),
                prob_greater(BetaPosterior{c.beta, c.alpha}, BetaPosterior{t.beta, t.alpha}),
                1e-12);
    // Swapping control and treatment swaps the losses and complements the chance.
    const BayesComparison a = compare(c, t), b = compare(t, c);
    EXPECT_NEAR(a.chance_to_beat_control, 1 - b.chance_to_beat_control, 1e-12);
    EXPECT_NEAR(a.expected_loss_treatment, b.expected_loss_control, 1e-14);
    // max(d, 0) - max(-d, 0) = d, so loss_control - loss_treatment = E[T] - E[C].
    EXPECT_NEAR(a.expected_loss_control - a.expected_loss_treatment, t.mean() - c.mean(), 1e-12);
}

TEST(BayesRates, ExactSumAndQuadratureAgreeOnBothSidesOfTheSwitch) {
    // Smallest integer parameter 1000 = kExactSumMaxTerms: closed-form sum.
    const BetaPosterior x1{1001, 9001}, y1{1000, 9001};
    EXPECT_EQ(auto_method(x1, y1), BetaMethod::ExactSum);
    // pg(1001, 9001, 1000, 9001)
    EXPECT_NEAR(prob_greater(x1, y1), 0.50846182121893824, kTol);
    EXPECT_NEAR(prob_greater(x1, y1, BetaMethod::Quadrature), 0.50846182121893824, kTol);
    // loss(1001, 9001, 1000, 9001) = E[max(Y - X, 0)]
    EXPECT_NEAR(expected_excess(y1, x1), 0.0016478803498896175, kTol);

    // Smallest integer parameter 1001: quadrature.
    const BetaPosterior x2{1002, 9000}, y2{1001, 9001};
    EXPECT_EQ(auto_method(x2, y2), BetaMethod::Quadrature);
    // pg(1002, 9000, 1001, 9001)
    EXPECT_NEAR(prob_greater(x2, y2), 0.50939774489691347, kTol);
    EXPECT_NEAR(prob_greater(x2, y2, BetaMethod::ExactSum), 0.50939774489691347, kTol);
    // loss(1002, 9000, 1001, 9001), loss(1001, 9001, 1002, 9000)
    EXPECT_NEAR(expected_excess(y2, x2), 0.001643642766703999, kTol);
    EXPECT_NEAR(expected_excess(x2, y2), 0.0017436227707032085, kTol);

    // Non-integer parameters always integrate.
    EXPECT_EQ(auto_method(BetaPosterior{3.5, 97.5}, BetaPosterior{0.5, 100.5}),
              BetaMethod::Quadrature);
}

TEST(BayesRates, JeffreysPriorWithZeroConversions) {
    // Prior Beta(1/2, 1/2); control 0/100, treatment 3/100: C ~ Beta(0.5, 100.5) whose density is
    // unbounded at 0, T ~ Beta(3.5, 97.5).
    const BayesComparison r =
        compare_rates(rate(100, 0), rate(100, 3), Better::Higher, BetaPrior{0.5, 0.5});
    EXPECT_NEAR(r.chance_to_beat_control, 0.96780820461221206, kTol);  // pg(3.5, 97.5, 0.5, 100.5)
    EXPECT_NEAR(r.expected_loss_treatment, 0.00026367950560254264,
                kTol);  // loss(3.5, 97.5, 0.5, 100.5)
    EXPECT_NEAR(r.expected_loss_control, 0.029966649802632247,
                kTol);  // loss(0.5, 100.5, 3.5, 97.5)
}

TEST(BayesRates, ParametersBelowOneAtBothEnds) {
    // X ~ Beta(2.5, 0.7) is unbounded at 1, Y ~ Beta(0.3, 1.2) at 0.
    const BetaPosterior x{2.5, 0.7}, y{0.3, 1.2};
    EXPECT_NEAR(prob_greater(x, y), 0.93964299272624152, 1e-8);      // pg(2.5, 0.7, 0.3, 1.2)
    EXPECT_NEAR(expected_excess(x, y), 0.59253800464148543, 1e-8);   // loss(0.3, 1.2, 2.5, 0.7)
    EXPECT_NEAR(expected_excess(y, x), 0.011288004641515165, 1e-8);  // loss(2.5, 0.7, 0.3, 1.2)
    EXPECT_NEAR(prob_greater(BetaPosterior{0.5, 0.5}, BetaPosterior{0.5, 0.5}), 0.5, 1e-10);
}

TEST(BayesRates, HugeSamplesStayFastAndAccurate) {
    // control 1,000,000/1e7, treatment 1,001,000/1e7: C ~ Beta(1000001, 9000001),
    // T ~ Beta(1001001, 8999001).
    const auto start = std::chrono::steady_clock::now();
    const BayesComparison r = compare_rates(rate(1e7, 1'000'000), rate(1e7, 1'001'000));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 50.0);
    // mpmath exact sum: 0.77192163964950647972; R pg(1001001, 8999001, 1000001, 9000001):
    // 0.77192163964956473.
    EXPECT_NEAR(r.chance_to_beat_control, 0.77192163964950648, kTol);
    // loss(1001001, 8999001, 1000001, 9000001) = E[max(C - T, 0)]
    EXPECT_NEAR(r.expected_loss_treatment, 1.7748544505009556e-05, 1e-11);
    // loss(1000001, 9000001, 1001001, 8999001) = E[max(T - C, 0)]
    EXPECT_NEAR(r.expected_loss_control, 0.00011774852450501345, 1e-11);
    EXPECT_EQ(auto_method(BetaPosterior{1001001, 8999001}, BetaPosterior{1000001, 9000001}),
              BetaMethod::Quadrature);
}

TEST(BayesRates, LowerIsBetterFlipsTheComparison) {
    // Churn, lower is better: control 50/1000 -> C ~ Beta(51, 951),
    // treatment 40/1000 -> T ~ Beta(41, 961).
    const BayesComparison r = compare_rates(rate(1000, 50), rate(1000, 40), Better::Lower);
    EXPECT_NEAR(r.chance_to_beat_control, 0.85838148224942501, kTol);  // pg(51, 951, 41, 961)
    // E[max(T - C, 0)] = loss(51, 951, 41, 961); E[max(C - T, 0)] = loss(41, 961, 51, 951)
    EXPECT_NEAR(r.expected_loss_treatment, 0.00067636744295088505, kTol);
    EXPECT_NEAR(r.expected_loss_control, 0.01065640736311056, kTol);
    const BayesComparison h = compare_rates(rate(1000, 50), rate(1000, 40), Better::Higher);
    EXPECT_NEAR(h.chance_to_beat_control, 1 - r.chance_to_beat_control, 1e-12);
}

// ----- means ------------------------------------------------------------------------------------

TEST(BayesMeans, NormalComparisonMatchesIntegration) {
    // control n=500 mean 10 sd 3; treatment n=480 mean 10.4 sd 3.2. In R:
    // sc <- 3/sqrt(500); st <- 3.2/sqrt(480)
    const BayesComparison r = compare_means(values(500, 10, 3), values(480, 10.4, 3.2));
    EXPECT_NEAR(r.chance_to_beat_control, 0.97814587345036819, kTol);     // npg(10.4, st, 10, sc)
    EXPECT_NEAR(r.expected_loss_treatment, 0.0016092855736603898, kTol);  // nloss(10.4, st, 10, sc)
    EXPECT_NEAR(r.expected_loss_control, 0.40160928557366071, kTol);      // nloss(10, sc, 10.4, st)
    EXPECT_NEAR(r.treatment_mean, 10.4, 1e-12);

    const BayesComparison low =
        compare_means(values(500, 10, 3), values(480, 10.4, 3.2), Better::Lower);
    // 1 - npg(10.4, st, 10, sc); nloss(-10.4, st, -10, sc); nloss(-10, sc, -10.4, st)
    EXPECT_NEAR(low.chance_to_beat_control, 0.021854126549631814, kTol);
    EXPECT_NEAR(low.expected_loss_treatment, 0.40160928557366071, kTol);
    EXPECT_NEAR(low.expected_loss_control, 0.0016092855736603898, kTol);
}

TEST(BayesMeans, DegeneratePosteriors) {
    const NormalPosterior a{5, 0}, b{4, 0};
    EXPECT_EQ(prob_greater(a, b), 1.0);
    EXPECT_EQ(prob_greater(b, a), 0.0);
    EXPECT_EQ(prob_greater(a, a), 0.5);
    EXPECT_EQ(expected_excess(a, b), 1.0);
    EXPECT_EQ(expected_excess(b, a), 0.0);
    expect_invalid([] { compare_means(values(1, 3, 0), values(10, 3, 1)); }, "summary.n");
}

// ----- probability of being best ----------------------------------------------------------------

TEST(BayesProbBest, ThreeRateArmsMatchReferenceAndSumToOne) {
    // 100/1000, 120/1000, 115/1000 -> Beta(101, 901), Beta(121, 881), Beta(116, 886).
    const std::vector<Summary> arms{rate(1000, 100), rate(1000, 120), rate(1000, 115)};
    const std::vector<double> p = prob_best_rates(arms);
    ASSERT_EQ(p.size(), 3u);
    // sapply(1:3, function(i) pbest(c(101,121,116), c(901,881,886), i))
    EXPECT_NEAR(p[0], 0.034151549337844457, kTol);
    EXPECT_NEAR(p[1], 0.61557525290425086, kTol);
    EXPECT_NEAR(p[2], 0.35027319775790455, kTol);
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-12);

    const std::vector<double> low = prob_best_rates(arms, Better::Lower);
    // sapply(1:3, function(i) pbest(c(901,881,886), c(101,121,116), i))
    EXPECT_NEAR(low[0], 0.81740420044270978, kTol);
    EXPECT_NEAR(low[1], 0.056892894890708395, kTol);
    EXPECT_NEAR(low[2], 0.12570290466657968, kTol);
}

TEST(BayesProbBest, HugeSamplesStayFast) {
    const std::vector<BetaPosterior> arms{{100001, 9900001}, {101001, 9899001}, {100501, 9899501}};
    const auto start = std::chrono::steady_clock::now();
    const std::vector<double> p = prob_best(arms);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 50.0);
    // sapply(1:3, function(i) pbest(c(100001,101001,100501), c(9900001,9899001,9899501), i))
    EXPECT_NEAR(p[0], 0.0072144912280582788, kTol);
    EXPECT_NEAR(p[1], 0.86326399366212625, kTol);
    EXPECT_NEAR(p[2], 0.12952151510981583, kTol);
}

TEST(BayesProbBest, JeffreysArms) {
    // Prior Beta(1/2, 1/2): 0/100, 3/100, 1/100.
    const std::vector<Summary> arms{rate(100, 0), rate(100, 3), rate(100, 1)};
    const std::vector<double> p = prob_best_rates(arms, Better::Higher, BetaPrior{0.5, 0.5});
    // sapply(1:3, function(i) pbest(c(0.5,3.5,1.5), c(100.5,97.5,99.5), i))
    EXPECT_NEAR(p[0], 0.023621206089487336, 1e-8);
    EXPECT_NEAR(p[1], 0.82376399050206917, 1e-8);
    EXPECT_NEAR(p[2], 0.15261480340844336, 1e-8);
}

TEST(BayesProbBest, SymmetryAndConsistency) {
    // Identical arms: 1/3 each.
    const std::vector<BetaPosterior> same(3, BetaPosterior{21, 181});
    for (double v : prob_best(same)) EXPECT_NEAR(v, 1.0 / 3.0, 1e-10);
    // One arm: certainly best.
    const std::vector<BetaPosterior> one{{3, 9}};
    EXPECT_EQ(prob_best(one), std::vector<double>{1.0});
    // Two arms: the pairwise probability.
    const std::vector<BetaPosterior> two{{151, 851}, {121, 881}};
    const std::vector<double> p2 = prob_best(two);
    EXPECT_NEAR(p2[0], 0.97506783681214371, kTol);  // pg(151, 851, 121, 881)
    // Permuting the arms permutes the result.
    const std::vector<BetaPosterior> abc{{101, 901}, {121, 881}, {116, 886}};
    const std::vector<BetaPosterior> cab{{116, 886}, {101, 901}, {121, 881}};
    const std::vector<double> x = prob_best(abc), y = prob_best(cab);
    EXPECT_NEAR(x[0], y[1], 1e-12);
    EXPECT_NEAR(x[1], y[2], 1e-12);
    EXPECT_NEAR(x[2], y[0], 1e-12);
    expect_invalid([] { prob_best(std::vector<BetaPosterior>{}); }, "arms");
    expect_invalid([] { prob_best(std::vector<BetaPosterior>{{1, 1}, {0, 1}}); }, "arms[1].alpha");
}

TEST(BayesProbBest, NormalArms) {
    const std::vector<Summary> arms{values(500, 10, 3), values(480, 10.4, 3.2),
                                    values(510, 10.2, 2.9)};
    const std::vector<double> p = prob_best_means(arms);
    // M <- c(10, 10.4, 10.2); S <- c(3/sqrt(500), 3.2/sqrt(480), 2.9/sqrt(510))
    // sapply(1:3, function(i) npbest(M, S, i))
    EXPECT_NEAR(p[0], 0.011797846747261479, kTol);
    EXPECT_NEAR(p[1], 0.84009804907557628, kTol);
    EXPECT_NEAR(p[2], 0.14810410417716691, kTol);
    // sapply(1:3, function(i) npbest(-M, S, i))
    const std::vector<double> low = prob_best_means(arms, Better::Lower);
    EXPECT_NEAR(low[0], 0.84918500832592925, kTol);
    EXPECT_NEAR(low[1], 0.013840321771583172, kTol);
    EXPECT_NEAR(low[2], 0.13697466990248275, kTol);
}

TEST(BayesProbBest, NormalPointMasses) {
    // Two point masses tied at the top share; a continuous arm far below gets nothing.
    const std::vector<NormalPosterior> tied{{5, 0}, {5, 0}, {-100, 1}};
    const std::vector<double> t = prob_best(tied);
    EXPECT_NEAR(t[0], 0.5, 1e-12);
    EXPECT_NEAR(t[1], 0.5, 1e-12);
    EXPECT_NEAR(t[2], 0.0, 1e-12);
    // A point mass at 0 against N(0, 1): each wins half the time.
    const std::vector<NormalPosterior> half{{0, 0}, {0, 1}};
    const std::vector<double> h = prob_best(half);
    EXPECT_NEAR(h[0], 0.5, 1e-10);
    EXPECT_NEAR(h[1], 0.5, 1e-10);
}

// ----- fail-fast --------------------------------------------------------------------------------

TEST(FailFast, FlagsAClearLoser) {
    // A 100/1000, B 60/1000, C 105/1000 -> Beta(101, 901), Beta(61, 941), Beta(106, 896).
    const std::vector<Summary> arms{rate(1000, 100), rate(1000, 60), rate(1000, 105)};
    const FailFastResult r = fail_fast_rates(arms);
    // pbest(...) = 0.3565, 9.9e-6, 0.6434: C is the reference.
    ASSERT_TRUE(r.best.has_value());
    EXPECT_EQ(*r.best, 2u);
    EXPECT_TRUE(r.any_flagged());
    EXPECT_TRUE(r.arms[1].flagged);
    EXPECT_NEAR(r.arms[1].prob_worse_than_best, 0.99987711720850425, kTol);  // pg(106,896,61,941)
    EXPECT_FALSE(r.arms[0].flagged);
    EXPECT_NEAR(r.arms[0].prob_worse_than_best, 0.64345090292883189, kTol);  // pg(106,896,101,901)
    EXPECT_FALSE(r.arms[2].flagged);
    EXPECT_EQ(r.arms[2].prob_worse_than_best, 0.0);

    // A stricter threshold keeps B, lower-is-better makes B the reference.
    EXPECT_FALSE(fail_fast_rates(arms, Better::Higher, FailFastConfig{0.99999, 100}).any_flagged());
    const FailFastResult low = fail_fast_rates(arms, Better::Lower);
    EXPECT_EQ(low.best, std::optional<std::size_t>(1));
    EXPECT_TRUE(low.arms[0].flagged);
    EXPECT_TRUE(low.arms[2].flagged);
}

TEST(FailFast, NotFlaggedBelowTheMinimumSample) {
    // 40/80 vs 10/80: P(A > B) = pg(41, 41, 11, 71) = 0.99999989810163026, far above 0.95.
    const std::vector<Summary> arms{rate(80, 40), rate(80, 10)};
    const FailFastResult r = fail_fast_rates(arms);  // min_samples 100
    EXPECT_FALSE(r.any_flagged());
    EXPECT_FALSE(r.best.has_value());
    EXPECT_FALSE(r.arms[1].eligible);
    // With a minimum of 50 subjects the same data is flagged.
    const FailFastResult r50 = fail_fast_rates(arms, Better::Higher, FailFastConfig{0.95, 50});
    EXPECT_TRUE(r50.arms[1].flagged);
    EXPECT_NEAR(r50.arms[1].prob_worse_than_best, 0.99999989810163026, kTol);
    // Only the loser is small: still not flagged, but its probability is reported.
    const std::vector<Summary> mixed{rate(200, 100), rate(80, 10)};
    const FailFastResult m = fail_fast_rates(mixed);
    EXPECT_EQ(m.best, std::optional<std::size_t>(0));
    EXPECT_FALSE(m.arms[1].flagged);
    EXPECT_GT(m.arms[1].prob_worse_than_best, 0.95);
}

TEST(FailFast, MeansAndValidation) {
    // Means: the control (mean 10) against 10.4 is worse with P = npg(10.4, st, 10, sc) = 0.978.
    const std::vector<Summary> arms{values(500, 10, 3), values(480, 10.4, 3.2), values(1, 7, 0)};
    const FailFastResult r = fail_fast_means(arms);
    EXPECT_EQ(r.best, std::optional<std::size_t>(1));
    EXPECT_TRUE(r.arms[0].flagged);
    EXPECT_NEAR(r.arms[0].prob_worse_than_best, 0.97814587345036819, kTol);
    EXPECT_FALSE(r.arms[2].eligible);  // one subject: no posterior
    EXPECT_TRUE(std::isnan(r.arms[2].prob_worse_than_best));
    EXPECT_FALSE(r.arms[2].flagged);

    expect_invalid(
        [] {
            fail_fast_rates(std::vector<Summary>{rate(10, 1)}, Better::Higher,
                            FailFastConfig{1.0, 100});
        },
        "threshold");
    expect_invalid(
        [] {
            fail_fast_rates(std::vector<Summary>{rate(10, 1)}, Better::Higher,
                            FailFastConfig{0.95, -1});
        },
        "min_samples");
    expect_invalid(
        [] {
            fail_fast_rates(std::vector<Summary>{rate(10, 1), rate(10, 11)});
        },
        "arms[1].sum");
}

}  // namespace
}  // namespace abx::stats
