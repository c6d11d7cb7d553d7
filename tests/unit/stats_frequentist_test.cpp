// Tests of the fixed-horizon statistics (include/abx/stats/frequentist.hpp).
//
// Every expected number comes from an independent reference, never from abx itself: R 4.2
// (Debian r-base-core) with the exact command in a comment next to it, or a published worked
// example. R's prop.test(x, n, correct = FALSE) gives the pooled two-proportion chi-square (= z^2)
// with the unpooled Wald interval of p1 - p2 and, for a single rate, the Wilson score interval.
// Summary inputs for the Welch tests were built in R with data of exactly the stated mean and
// standard deviation: mk <- function(n, m, s) as.numeric(scale(rnorm(n))) * s + m; set.seed(1).
#include "abx/error.hpp"
#include "abx/stats/frequentist.hpp"
#include "abx/stats/summary.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using abx::stats::Estimate;
using abx::stats::FrequentistComparison;
using abx::stats::MetricKind;
using abx::stats::Summary;

// A rate arm: `conversions` of `n` subjects converted (per-subject 0/1, so sum_sq = sum).
Summary rate(double conversions, double n) {
    return Summary{n, conversions, conversions};
}

// A mean arm from its mean and (unbiased) standard deviation: sum = n m, sum_sq = (n-1) s^2 + n
// m^2.
Summary from_moments(double n, double mean, double sd) {
    return Summary{n, n * mean, (n - 1) * sd * sd + n * mean * mean};
}

Summary from_values(const std::vector<double>& xs) {
    Summary s;
    for (double x : xs) {
        s.n += 1;
        s.sum += x;
        s.sum_sq += x * x;
    }
    return s;
}

// ---- two-proportion z-test ---------------------------------------------------------------------

TEST(StatsRates, MatchesPropTest) {
    // R: r <- prop.test(c(150,120), c(1000,1000), correct=FALSE)
    //    r$p.value = 0.04964038686536882; sqrt(r$statistic) = 1.9630498076223553
    //    r$conf.int = 7.6028821297792482e-05 5.9923971178702205e-02
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(120, 1000), rate(150, 1000));
    EXPECT_EQ(r.kind, MetricKind::Rate);
    ASSERT_TRUE(r.test.defined) << r.test.reason;
    EXPECT_NEAR(r.test.statistic, 1.9630498076223553, 1e-12);
    EXPECT_NEAR(r.test.p_value, 0.04964038686536882, 1e-12);
    EXPECT_TRUE(std::isinf(r.test.df));
    ASSERT_TRUE(r.absolute.defined) << r.absolute.reason;
    EXPECT_NEAR(r.absolute.value, 0.03, 1e-15);
    EXPECT_NEAR(r.absolute.lower, 7.6028821297792482e-05, 1e-12);
    EXPECT_NEAR(r.absolute.upper, 5.9923971178702205e-02, 1e-12);
    EXPECT_TRUE(r.test.reason.empty());
}

TEST(StatsRates, UnequalArmsAndConfidence90) {
    // R: r <- prop.test(c(70,48), c(1350,1200), correct=FALSE, conf.level=0.9)
    //    r$p.value = 0.15503440057340345; sqrt(r$statistic) = 1.4219719276236593
    //    r$conf.int = -0.0017535052658938129 0.0254572089695975119
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(48, 1200), rate(70, 1350), 0.9);
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.statistic, 1.4219719276236593, 1e-12);
    EXPECT_NEAR(r.test.p_value, 0.15503440057340345, 1e-12);
    EXPECT_NEAR(r.absolute.lower, -0.0017535052658938129, 1e-12);
    EXPECT_NEAR(r.absolute.upper, 0.0254572089695975119, 1e-12);
    EXPECT_DOUBLE_EQ(r.confidence, 0.9);
}

TEST(StatsRates, NegativeEffectHasNegativeStatistic) {
    // Same data as MatchesPropTest with the arms swapped: z and the difference change sign.
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(150, 1000), rate(120, 1000));
    EXPECT_NEAR(r.test.statistic, -1.9630498076223553, 1e-12);
    EXPECT_NEAR(r.test.p_value, 0.04964038686536882, 1e-12);
    EXPECT_NEAR(r.absolute.lower, -5.9923971178702205e-02, 1e-12);
    EXPECT_NEAR(r.absolute.upper, -7.6028821297792482e-05, 1e-12);
}

TEST(StatsRates, HugeSamples) {
    // R: r <- prop.test(c(100010000,100000000), c(1e9,1e9), correct=FALSE)
    //    r$p.value = 0.4560665503736111; sqrt(r$statistic) = 0.74533942968903977
    //    r$conf.int = -1.6296260551864892e-05 3.6296260551857141e-05
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(100000000, 1e9), rate(100010000, 1e9));
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.statistic, 0.74533942968903977, 1e-8);
    EXPECT_NEAR(r.test.p_value, 0.4560665503736111, 1e-8);
    EXPECT_NEAR(r.absolute.lower, -1.6296260551864892e-05, 1e-12);
    EXPECT_NEAR(r.absolute.upper, 3.6296260551857141e-05, 1e-12);
}

TEST(StatsRates, IdenticalArms) {
    // R: prop.test(c(100,100), c(1000,1000), correct=FALSE): p.value = 1,
    //    conf.int = -0.026295676217297441 0.026295676217297441
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(100, 1000), rate(100, 1000));
    ASSERT_TRUE(r.test.defined);
    EXPECT_EQ(r.test.statistic, 0.0);
    EXPECT_DOUBLE_EQ(r.test.p_value, 1.0);
    EXPECT_EQ(r.absolute.value, 0.0);
    EXPECT_NEAR(r.absolute.lower, -0.026295676217297441, 1e-12);
    EXPECT_NEAR(r.absolute.upper, 0.026295676217297441, 1e-12);
    ASSERT_TRUE(r.relative.defined);
    EXPECT_EQ(r.relative.value, 0.0);
    EXPECT_LT(r.relative.lower, 0.0);
    EXPECT_GT(r.relative.upper, 0.0);
}

TEST(StatsRates, ZeroConversionsInBothArmsIsUndefinedNotAnError) {
    const FrequentistComparison r = abx::stats::two_proportion_test(rate(0, 400), rate(0, 500));
    EXPECT_FALSE(r.test.defined);
    EXPECT_TRUE(std::isnan(r.test.p_value));
    EXPECT_TRUE(std::isnan(r.test.statistic));
    EXPECT_NE(r.test.reason.find("no conversions"), std::string::npos) << r.test.reason;
    EXPECT_EQ(r.absolute.value, 0.0);  // the difference itself is known: 0 - 0
    EXPECT_FALSE(r.absolute.defined);
    EXPECT_TRUE(std::isnan(r.absolute.lower));
    EXPECT_FALSE(r.absolute.reason.empty());
    EXPECT_FALSE(r.relative.defined);
    EXPECT_NE(r.relative.reason.find("control mean is 0"), std::string::npos);
    // Each arm still has a Wilson interval: R prop.test(0, 400, correct=FALSE)$conf.int[1] = 0.
    EXPECT_TRUE(r.control.defined);
    EXPECT_EQ(r.control.lower, 0.0);
}

TEST(StatsRates, AllConversionsInBothArms) {
    const FrequentistComparison r = abx::stats::two_proportion_test(rate(200, 200), rate(300, 300));
    EXPECT_FALSE(r.test.defined);
    EXPECT_TRUE(std::isnan(r.test.p_value));
    EXPECT_NE(r.test.reason.find("every subject converted"), std::string::npos) << r.test.reason;
    EXPECT_FALSE(r.absolute.defined);
    EXPECT_EQ(r.relative.value, 0.0);
    EXPECT_FALSE(r.relative.defined);  // zero standard error
}

TEST(StatsRates, AllConversionsInOneArm) {
    // R: r <- prop.test(c(50,45), c(50,50), correct=FALSE)
    //    r$p.value = 0.02178146279111956; sqrt(r$statistic) = 2.2941573387056167
    //    r$conf.int = 0.016845770539019339 0.183154229460980617
    const FrequentistComparison r = abx::stats::two_proportion_test(rate(45, 50), rate(50, 50));
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.statistic, 2.2941573387056167, 1e-12);
    EXPECT_NEAR(r.test.p_value, 0.02178146279111956, 1e-12);
    EXPECT_NEAR(r.absolute.lower, 0.016845770539019339, 1e-12);
    EXPECT_NEAR(r.absolute.upper, 0.183154229460980617, 1e-12);
}

TEST(StatsRates, EmptyArm) {
    for (const auto& [t, c, who] : {std::tuple{rate(0, 0), rate(10, 100), "treatment"},
                                    std::tuple{rate(10, 100), rate(0, 0), "control"}}) {
        const FrequentistComparison r = abx::stats::two_proportion_test(c, t);
        EXPECT_FALSE(r.test.defined);
        EXPECT_TRUE(std::isnan(r.test.p_value));
        EXPECT_TRUE(std::isnan(r.absolute.value));
        EXPECT_TRUE(std::isnan(r.relative.value));
        EXPECT_NE(r.test.reason.find(who), std::string::npos) << r.test.reason;
        EXPECT_NE(r.absolute.reason.find("no subjects"), std::string::npos);
    }
    const FrequentistComparison both = abx::stats::two_proportion_test(rate(0, 0), rate(0, 0));
    EXPECT_FALSE(both.test.defined);
    EXPECT_FALSE(both.control.defined);
    EXPECT_FALSE(both.treatment.defined);
}

TEST(StatsRates, OneSubjectPerArm) {
    // R: suppressWarnings(prop.test(c(1,0), c(1,1), correct=FALSE))$p.value = 0.15729920705028447
    const FrequentistComparison r = abx::stats::two_proportion_test(rate(0, 1), rate(1, 1));
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.p_value, 0.15729920705028447, 1e-12);
    EXPECT_EQ(r.absolute.value, 1.0);
    EXPECT_FALSE(r.absolute.defined);  // both arms at 0 or 1: the unpooled SE is 0
    EXPECT_FALSE(r.relative.defined);  // control rate 0
}

TEST(StatsRates, RelativeLiftDeltaMethod) {
    // R, delta method in matrix form (not the closed form used by abx):
    //   delta <- function(mt, vt, mc, vc, conf=0.95) { g <- c(1/mc, -mt/mc^2);
    //     se <- sqrt(drop(t(g) %*% diag(c(vt, vc)) %*% g)); est <- mt/mc - 1;
    //     z <- qnorm(1-(1-conf)/2); c(est, se, est-z*se, est+z*se) }
    //   delta(0.15, 0.15*0.85/1000, 0.12, 0.12*0.88/1000)
    //   = 0.25 0.142521928137392256 -0.029337846156494485 0.529337846156494485
    const FrequentistComparison r =
        abx::stats::two_proportion_test(rate(120, 1000), rate(150, 1000));
    ASSERT_TRUE(r.relative.defined) << r.relative.reason;
    EXPECT_NEAR(r.relative.value, 0.25, 1e-14);
    EXPECT_NEAR(r.relative.std_error, 0.142521928137392256, 1e-13);
    EXPECT_NEAR(r.relative.lower, -0.029337846156494485, 1e-12);
    EXPECT_NEAR(r.relative.upper, 0.529337846156494485, 1e-12);

    // R: delta(70/1350, (70/1350)*(1-70/1350)/1350, 48/1200, (48/1200)*(1-48/1200)/1200, 0.9)
    //   = 0.296296296296296280 0.237420386172628811 -0.094225487011971198 0.686818079604563758
    const FrequentistComparison u =
        abx::stats::two_proportion_test(rate(48, 1200), rate(70, 1350), 0.9);
    EXPECT_NEAR(u.relative.value, 0.296296296296296280, 1e-13);
    EXPECT_NEAR(u.relative.std_error, 0.237420386172628811, 1e-13);
    EXPECT_NEAR(u.relative.lower, -0.094225487011971198, 1e-12);
    EXPECT_NEAR(u.relative.upper, 0.686818079604563758, 1e-12);
}

TEST(StatsRates, RelativeLiftCoverageBySimulation) {
    // Closed-form check by simulation: with true rates 0.12 (control) and 0.15 (treatment) and
    // 4000 subjects per arm, the 95 % delta-method interval of t/c - 1 (true value 0.25) should
    // cover in about 95 % of 4000 replications. Binomial MC standard error 0.0034; the normal
    // approximation of a ratio is slightly off at this size, so accept [0.935, 0.965].
    std::mt19937_64 rng(20240601);
    std::binomial_distribution<long> control_draw(4000, 0.12);
    std::binomial_distribution<long> treatment_draw(4000, 0.15);
    int covered = 0;
    const int reps = 4000;
    for (int i = 0; i < reps; ++i) {
        const FrequentistComparison r =
            abx::stats::two_proportion_test(rate(static_cast<double>(control_draw(rng)), 4000),
                                            rate(static_cast<double>(treatment_draw(rng)), 4000));
        if (r.relative.lower <= 0.25 && 0.25 <= r.relative.upper) ++covered;
    }
    const double coverage = static_cast<double>(covered) / reps;
    EXPECT_GT(coverage, 0.935);
    EXPECT_LT(coverage, 0.965);
}

// ---- Welch t-test ------------------------------------------------------------------------------

TEST(StatsMeans, MatchesWelchTTest) {
    // R: set.seed(1); xt <- mk(50, 10.5, 2.1); xc <- mk(40, 9.8, 3.2)
    //    r <- t.test(xt, xc, var.equal=FALSE)
    //    t = 1.1931433004893466, df = 64.416896471151162, p = 0.23718931301595458
    //    conf.int = -0.47189316447067242 1.87189316447067089
    //    t.test(xt, xc, var.equal=FALSE, conf.level=0.99)$conf.int
    //             = -0.85725627843687169 2.25725627843686993
    const Summary t = from_moments(50, 10.5, 2.1);
    const Summary c = from_moments(40, 9.8, 3.2);
    const FrequentistComparison r = abx::stats::welch_test(c, t);
    EXPECT_EQ(r.kind, MetricKind::Mean);
    ASSERT_TRUE(r.test.defined) << r.test.reason;
    EXPECT_NEAR(r.test.statistic, 1.1931433004893466, 1e-10);
    EXPECT_NEAR(r.test.df, 64.416896471151162, 1e-8);
    EXPECT_NEAR(r.test.p_value, 0.23718931301595458, 1e-10);
    ASSERT_TRUE(r.absolute.defined);
    EXPECT_NEAR(r.absolute.value, 0.7, 1e-12);
    EXPECT_NEAR(r.absolute.lower, -0.47189316447067242, 1e-10);
    EXPECT_NEAR(r.absolute.upper, 1.87189316447067089, 1e-10);

    const FrequentistComparison r99 = abx::stats::welch_test(c, t, 0.99);
    EXPECT_NEAR(r99.absolute.lower, -0.85725627843687169, 1e-10);
    EXPECT_NEAR(r99.absolute.upper, 2.25725627843686993, 1e-10);
    EXPECT_NEAR(r99.test.p_value, 0.23718931301595458, 1e-10);  // the test ignores the level

    // Relative lift, R: delta(10.5, 2.1^2/50, 9.8, 3.2^2/40) (see RelativeLiftDeltaMethod)
    //   = 0.071428571428571397 0.063073899972745026 -0.052194000882490724 0.195051143739633503
    ASSERT_TRUE(r.relative.defined);
    EXPECT_NEAR(r.relative.value, 0.071428571428571397, 1e-13);
    EXPECT_NEAR(r.relative.std_error, 0.063073899972745026, 1e-12);
    EXPECT_NEAR(r.relative.lower, -0.052194000882490724, 1e-10);
    EXPECT_NEAR(r.relative.upper, 0.195051143739633503, 1e-10);
}

TEST(StatsMeans, PublishedWelchExample) {
    // Worked example 1 of the Wikipedia article "Welch's t-test" (t = -2.46, df = 25.0,
    // p = 0.021); to full precision with R: t.test(A1, A2)
    //    t = -2.455356398286006, df = 24.988529290231416, p = 0.021378001462866985
    //    conf.int = -3.98409626714092857 -0.34923706619240674
    const Summary a1 = from_values(
        {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4});
    const Summary a2 = from_values(
        {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4});
    const FrequentistComparison r = abx::stats::welch_test(a2, a1);
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.statistic, -2.46, 0.005);
    EXPECT_NEAR(r.test.df, 25.0, 0.05);
    EXPECT_NEAR(r.test.p_value, 0.021, 0.0005);
    EXPECT_NEAR(r.test.statistic, -2.455356398286006, 1e-9);
    EXPECT_NEAR(r.test.df, 24.988529290231416, 1e-7);
    EXPECT_NEAR(r.test.p_value, 0.021378001462866985, 1e-10);
    EXPECT_NEAR(r.absolute.lower, -3.98409626714092857, 1e-9);
    EXPECT_NEAR(r.absolute.upper, -0.34923706619240674, 1e-9);
}

TEST(StatsMeans, OneArmWithoutVariance) {
    // R: set.seed(1); xt <- mk(50,10.5,2.1); xc <- mk(40,9.8,3.2); xc2 <- mk(20, 4, 1)
    //    r <- t.test(rep(5,10), xc2): t = 4.4721359549995796, df = 19, p = 0.00026119337834026131
    //    conf.int = 0.53198559358008024 1.46801440641991965
    const FrequentistComparison r =
        abx::stats::welch_test(from_moments(20, 4, 1), from_values(std::vector<double>(10, 5.0)));
    ASSERT_TRUE(r.test.defined);
    EXPECT_NEAR(r.test.statistic, 4.4721359549995796, 1e-10);
    EXPECT_NEAR(r.test.df, 19.0, 1e-9);
    EXPECT_NEAR(r.test.p_value, 0.00026119337834026131, 1e-12);
    EXPECT_NEAR(r.absolute.lower, 0.53198559358008024, 1e-10);
    EXPECT_NEAR(r.absolute.upper, 1.46801440641991965, 1e-10);
    EXPECT_FALSE(r.treatment.defined);  // its own t interval needs a positive variance
}

TEST(StatsMeans, HugeSamples) {
    // n = 1e9 per arm, means 10.001 vs 10, sd 2 each. R, from the formulas (t.test needs raw data):
    //   se <- sqrt(4/1e9 + 4/1e9); tt <- 0.001/se      -> 11.180339887498949
    //   df <- (8/1e9)^2/((4/1e9)^2/(1e9-1)*2)            -> 1999999998
    //   2*pnorm(-abs(tt)) -> 5.0894689738143357e-29 (2*pt(-abs(tt), df) = 5.08947907e-29)
    //   0.001 + c(-1,1)*qt(0.975, df)*se -> 0.00082469549177859253 0.0011753045082214075
    const FrequentistComparison r =
        abx::stats::welch_test(from_moments(1e9, 10, 2), from_moments(1e9, 10.001, 2));
    ASSERT_TRUE(r.test.defined) << r.test.reason;
    EXPECT_NEAR(r.test.statistic, 11.180339887498949, 1e-4);
    EXPECT_NEAR(r.test.df, 1999999998.0, 1e3);
    EXPECT_NEAR(r.test.p_value / 5.0894689738143357e-29, 1.0, 1e-4);
    EXPECT_NEAR(r.absolute.lower, 0.00082469549177859253, 1e-9);
    EXPECT_NEAR(r.absolute.upper, 0.0011753045082214075, 1e-9);
}

TEST(StatsMeans, IdenticalArms) {
    const Summary a = from_moments(200, 3.5, 1.2);
    const FrequentistComparison r = abx::stats::welch_test(a, a);
    ASSERT_TRUE(r.test.defined);
    EXPECT_EQ(r.test.statistic, 0.0);
    EXPECT_DOUBLE_EQ(r.test.p_value, 1.0);
    EXPECT_EQ(r.absolute.value, 0.0);
    EXPECT_NEAR(r.absolute.lower, -r.absolute.upper, 1e-15);
    EXPECT_EQ(r.relative.value, 0.0);
}

TEST(StatsMeans, DegenerateInputs) {
    // n = 1 in an arm: means are known, nothing else.
    const FrequentistComparison one =
        abx::stats::welch_test(from_moments(30, 3, 1), from_values({4.0}));
    EXPECT_FALSE(one.test.defined);
    EXPECT_TRUE(std::isnan(one.test.p_value));
    EXPECT_NE(one.test.reason.find("fewer than 2 subjects in the treatment arm"), std::string::npos)
        << one.test.reason;
    EXPECT_NEAR(one.absolute.value, 1.0, 1e-12);
    EXPECT_FALSE(one.absolute.defined);
    EXPECT_NEAR(one.relative.value, 1.0 / 3.0, 1e-12);
    EXPECT_FALSE(one.relative.defined);

    // Zero variance in both arms.
    const FrequentistComparison flat =
        abx::stats::welch_test(from_values({1, 1}), from_values({2, 2, 2}));
    EXPECT_FALSE(flat.test.defined);
    EXPECT_NE(flat.test.reason.find("zero variance"), std::string::npos);
    EXPECT_EQ(flat.absolute.value, 1.0);
    EXPECT_FALSE(flat.absolute.defined);

    // Empty arm.
    const FrequentistComparison empty = abx::stats::welch_test(from_moments(30, 3, 1), Summary{});
    EXPECT_FALSE(empty.test.defined);
    EXPECT_TRUE(std::isnan(empty.absolute.value));
    EXPECT_NE(empty.test.reason.find("treatment arm has no subjects"), std::string::npos);

    // Control mean 0: relative lift undefined, the rest fine.
    const FrequentistComparison zero =
        abx::stats::welch_test(from_values({-1, 1, -2, 2}), from_moments(30, 1, 1));
    EXPECT_TRUE(zero.test.defined);
    EXPECT_FALSE(zero.relative.defined);
    EXPECT_TRUE(std::isnan(zero.relative.value));
    EXPECT_NE(zero.relative.reason.find("control mean is 0"), std::string::npos);
}

TEST(StatsCompare, DispatchesOnKind) {
    const Summary t = rate(150, 1000);
    const Summary c = rate(120, 1000);
    EXPECT_EQ(abx::stats::frequentist_compare(MetricKind::Rate, c, t).test.p_value,
              abx::stats::two_proportion_test(c, t).test.p_value);
    EXPECT_EQ(abx::stats::frequentist_compare(MetricKind::Mean, c, t).test.p_value,
              abx::stats::welch_test(c, t).test.p_value);
    EXPECT_NE(abx::stats::frequentist_compare(MetricKind::Mean, c, t).test.p_value,
              abx::stats::frequentist_compare(MetricKind::Rate, c, t).test.p_value);
}

TEST(StatsCompare, InvalidInputsThrow22023) {
    const Summary ok = rate(10, 100);
    for (double bad : {0.0, 1.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        expect_invalid([&] { abx::stats::two_proportion_test(ok, ok, bad); }, "confidence");
        expect_invalid([&] { abx::stats::welch_test(ok, ok, bad); }, "confidence");
        expect_invalid([&] { abx::stats::rate_interval(1, 10, bad); }, "confidence");
        expect_invalid([&] { abx::stats::mean_interval(ok, bad); }, "confidence");
    }
    expect_invalid([&] { abx::stats::two_proportion_test(ok, rate(1, -5)); }, "treatment.n");
    expect_invalid([&] { abx::stats::two_proportion_test(rate(11, 10), ok); }, "control.sum");
    expect_invalid([&] { abx::stats::two_proportion_test(rate(-1, 10), ok); }, "control.sum");
    expect_invalid(
        [&] {
            abx::stats::two_proportion_test(ok,
                                            Summary{std::numeric_limits<double>::infinity(), 1, 1});
        },
        "treatment.n");
    expect_invalid([&] { abx::stats::welch_test(ok, Summary{-1, 0, 0}); }, "treatment.n");
    expect_invalid([&] { abx::stats::welch_test(Summary{3, 1, -1}, ok); }, "control.sum_sq");
    expect_invalid(
        [&] {
            abx::stats::welch_test(Summary{3, std::numeric_limits<double>::quiet_NaN(), 1}, ok);
        },
        "control.sum");
    expect_invalid([&] { abx::stats::rate_interval(11, 10); }, "successes");
    expect_invalid([&] { abx::stats::rate_interval(1, -10); }, "n");
}

// ---- single-arm intervals ----------------------------------------------------------------------

TEST(StatsIntervals, WilsonMatchesNewcombeAndR) {
    // Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of
    // seven methods", Stat. Med. 17:857-872, worked examples, method 3 (Wilson score without
    // continuity correction), 4 decimals: 81/263 -> 0.2553-0.3662, 15/148 -> 0.0624-0.1605, 0/20 ->
    // 0.0000-0.1611, 1/29 -> 0.0061-0.1718. Full precision: R prop.test(x, n,
    // correct=FALSE)$conf.int.
    struct Case {
        double x, n, lo4, hi4, lo, hi;
    };
    const Case cases[] = {
        {81, 263, 0.2553, 0.3662, 0.25528851987827428, 0.36620957698280016},
        {15, 148, 0.0624, 0.1605, 0.062386399530736283, 0.160487241723308},
        {0, 20, 0.0000, 0.1611, 0.0, 0.1611251580528193},
        {1, 29, 0.0061, 0.1718, 0.006113214292762661, 0.17175521879320282},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::to_string(c.x) + "/" + std::to_string(c.n));
        const Estimate e = abx::stats::rate_interval(c.x, c.n);
        ASSERT_TRUE(e.defined) << e.reason;
        EXPECT_NEAR(e.lower, c.lo4, 5e-5);
        EXPECT_NEAR(e.upper, c.hi4, 5e-5);
        EXPECT_NEAR(e.lower, c.lo, 1e-12);
        EXPECT_NEAR(e.upper, c.hi, 1e-12);
        EXPECT_DOUBLE_EQ(e.value, c.x / c.n);
    }
    // R: prop.test(20, 20, correct=FALSE)$conf.int = 0.83887484194718065 1
    const Estimate all = abx::stats::rate_interval(20, 20);
    EXPECT_NEAR(all.lower, 0.83887484194718065, 1e-12);
    EXPECT_EQ(all.upper, 1.0);
    // R: prop.test(847, 1000, correct=FALSE)$conf.int = 0.823363445235336 0.86798078437568871
    const Estimate big = abx::stats::rate_interval(847, 1000);
    EXPECT_NEAR(big.lower, 0.823363445235336, 1e-12);
    EXPECT_NEAR(big.upper, 0.86798078437568871, 1e-12);
    // R: prop.test(81, 263, correct=FALSE, conf.level=0.99)$conf.int
    //    = 0.24013690268760776 0.38528250231822986
    const Estimate e99 = abx::stats::rate_interval(81, 263, 0.99);
    EXPECT_NEAR(e99.lower, 0.24013690268760776, 1e-12);
    EXPECT_NEAR(e99.upper, 0.38528250231822986, 1e-12);
    // No subjects: undefined, no error.
    const Estimate none = abx::stats::rate_interval(0, 0);
    EXPECT_FALSE(none.defined);
    EXPECT_TRUE(std::isnan(none.value));
    EXPECT_EQ(none.reason, "no subjects");
}

TEST(StatsIntervals, MeanTInterval) {
    // R: set.seed(1); xt <- mk(50, 10.5, 2.1)
    //    t.test(xt)$conf.int = 9.903186603458968 11.096813396541034
    //    t.test(xt, conf.level=0.9)$conf.int = 10.002089787827032 10.997910212172970
    const Summary s = from_moments(50, 10.5, 2.1);
    const Estimate e = abx::stats::mean_interval(s);
    ASSERT_TRUE(e.defined);
    EXPECT_NEAR(e.value, 10.5, 1e-12);
    EXPECT_NEAR(e.std_error, 2.1 / std::sqrt(50.0), 1e-12);
    EXPECT_NEAR(e.lower, 9.903186603458968, 1e-10);
    EXPECT_NEAR(e.upper, 11.096813396541034, 1e-10);
    const Estimate e90 = abx::stats::mean_interval(s, 0.9);
    EXPECT_NEAR(e90.lower, 10.002089787827032, 1e-10);
    EXPECT_NEAR(e90.upper, 10.997910212172970, 1e-10);

    const Estimate one = abx::stats::mean_interval(from_values({3.0}));
    EXPECT_FALSE(one.defined);
    EXPECT_EQ(one.value, 3.0);
    EXPECT_TRUE(std::isnan(one.lower));
    const Estimate flat = abx::stats::mean_interval(from_values({3.0, 3.0, 3.0}));
    EXPECT_FALSE(flat.defined);
    EXPECT_NE(flat.reason.find("zero variance"), std::string::npos);
    EXPECT_FALSE(abx::stats::mean_interval(Summary{}).defined);
}

}  // namespace
