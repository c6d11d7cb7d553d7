// Tests of the sample-ratio-mismatch check (include/abx/stats/srm.hpp) and of the Holm–Bonferroni
// adjustment (include/abx/stats/multiple_testing.hpp).
//
// Expected numbers come from R 4.2 (Debian r-base-core), chisq.test and p.adjust, with the exact
// command next to each, or from a published worked example.
#include "abx/error.hpp"
#include "abx/stats/multiple_testing.hpp"
#include "abx/stats/srm.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

using abx::stats::SrmResult;
using Counts = std::vector<std::int64_t>;
using Doubles = std::vector<double>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- SRM -------------------------------------------------------------------------------------

TEST(Srm, TwoArmsMatchesChisqTest) {
    // R: r <- chisq.test(c(5120,4880), p=c(.5,.5))
    //    r$statistic = 5.7599999999999998, r$p.value = 0.016395071849192304
    const SrmResult r = abx::stats::srm_check(Counts{5120, 4880}, Doubles{50, 50});
    ASSERT_TRUE(r.defined) << r.reason;
    EXPECT_NEAR(r.chi_square, 5.76, 1e-12);
    EXPECT_EQ(r.df, 1.0);
    EXPECT_NEAR(r.p_value, 0.016395071849192304, 1e-14);
    EXPECT_FALSE(r.mismatch);  // 0.016 > 0.001 (default threshold)
    EXPECT_EQ(r.total, 10000.0);
    ASSERT_EQ(r.expected.size(), 2u);
    EXPECT_EQ(r.expected[0], 5000.0);
    EXPECT_FALSE(r.small_expected);
    // The same data with a looser threshold is a mismatch.
    EXPECT_TRUE(abx::stats::srm_check(Counts{5120, 4880}, Doubles{1, 1}, 0.05).mismatch);
}

TEST(Srm, ThreeArmsUnequalWeights) {
    // R: r <- chisq.test(c(5000,2600,2400), p=c(.5,.25,.25))
    //    r$statistic = 8, r$p.value = 0.018315638888734179
    const SrmResult r = abx::stats::srm_check(Counts{5000, 2600, 2400}, Doubles{2, 1, 1});
    ASSERT_TRUE(r.defined);
    EXPECT_NEAR(r.chi_square, 8.0, 1e-12);
    EXPECT_EQ(r.df, 2.0);
    EXPECT_NEAR(r.p_value, 0.018315638888734179, 1e-14);
    EXPECT_FALSE(r.mismatch);
}

TEST(Srm, PublishedExampleIsFlagged) {
    // Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (Cambridge UP, 2020), the
    // sample-ratio-mismatch example: 821,588 vs 815,482 users on a 50/50 design, p = 1.8e-6.
    // R: chisq.test(c(821588,815482), p=c(.5,.5))
    //    X-squared = 22.774368841894361, p.value = 1.8217928726191858e-06
    const SrmResult r = abx::stats::srm_check(Counts{821588, 815482}, Doubles{0.5, 0.5});
    ASSERT_TRUE(r.defined);
    EXPECT_NEAR(r.p_value, 1.8e-6, 0.05e-6);
    EXPECT_NEAR(r.chi_square, 22.774368841894361, 1e-9);
    EXPECT_NEAR(r.p_value, 1.8217928726191858e-06, 1e-15);
    EXPECT_TRUE(r.mismatch);
    EXPECT_FALSE(r.reason.empty());
}

TEST(Srm, BalancedCountsDoNotFlag) {
    // R: chisq.test(c(5050,4950))$p.value = 0.31731050786291415
    const SrmResult r = abx::stats::srm_check(Counts{5050, 4950}, Doubles{1, 1});
    EXPECT_NEAR(r.p_value, 0.31731050786291415, 1e-14);
    EXPECT_FALSE(r.mismatch);
    EXPECT_TRUE(r.reason.empty());
    // Exactly the expected counts: chi-square 0, p = 1.
    const SrmResult exact = abx::stats::srm_check(Counts{300, 100}, Doubles{0.75, 0.25});
    EXPECT_EQ(exact.chi_square, 0.0);
    EXPECT_DOUBLE_EQ(exact.p_value, 1.0);
}

TEST(Srm, SmallCountsAreMarked) {
    // R: suppressWarnings(chisq.test(c(3,2,1), p=c(1,1,1)/3)): X-squared = 1,
    //    p.value = 0.60653065971263342 (R warns "Chi-squared approximation may be incorrect")
    const SrmResult r = abx::stats::srm_check(Counts{3, 2, 1}, Doubles{1, 1, 1});
    EXPECT_NEAR(r.chi_square, 1.0, 1e-12);
    EXPECT_NEAR(r.p_value, 0.60653065971263342, 1e-14);
    EXPECT_TRUE(r.small_expected);
    EXPECT_DOUBLE_EQ(r.min_expected, 2.0);
}

TEST(Srm, ZeroWeightArms) {
    // A third arm with weight 0 is left out: df = 1 and the test runs on the other two.
    // R: chisq.test(c(1000,980), p=c(.5,.5))$p.value = 0.65309511493218197
    const SrmResult ok = abx::stats::srm_check(Counts{1000, 980, 0}, Doubles{1, 1, 0});
    ASSERT_TRUE(ok.defined);
    EXPECT_EQ(ok.df, 1.0);
    EXPECT_NEAR(ok.p_value, 0.65309511493218197, 1e-14);
    EXPECT_EQ(ok.expected[2], 0.0);
    EXPECT_FALSE(ok.mismatch);
    EXPECT_EQ(ok.unexpected, 0);

    // Subjects in a zero-weight arm are a mismatch by themselves, whatever the p-value says.
    const SrmResult leak = abx::stats::srm_check(Counts{1000, 980, 3}, Doubles{1, 1, 0});
    EXPECT_TRUE(leak.defined);
    EXPECT_NEAR(leak.p_value, 0.65309511493218197, 1e-14);
    EXPECT_EQ(leak.unexpected, 3);
    EXPECT_TRUE(leak.mismatch);
    EXPECT_NE(leak.reason.find("weight is 0"), std::string::npos) << leak.reason;
    EXPECT_EQ(leak.total, 1983.0);
}

TEST(Srm, DegenerateInputsAreUndefined) {
    const SrmResult none = abx::stats::srm_check(Counts{0, 0}, Doubles{1, 1});
    EXPECT_FALSE(none.defined);
    EXPECT_TRUE(std::isnan(none.p_value));
    EXPECT_FALSE(none.mismatch);
    EXPECT_EQ(none.reason, "no assignments yet");

    const SrmResult single = abx::stats::srm_check(Counts{500, 0}, Doubles{1, 0});
    EXPECT_FALSE(single.defined);
    EXPECT_FALSE(single.mismatch);
    EXPECT_NE(single.reason.find("fewer than 2 arms"), std::string::npos);

    // One positive-weight arm but subjects in the zero-weight one: undefined test, yet a mismatch.
    const SrmResult single_leak = abx::stats::srm_check(Counts{500, 7}, Doubles{1, 0});
    EXPECT_FALSE(single_leak.defined);
    EXPECT_TRUE(single_leak.mismatch);

    // All subjects in one of two 50/50 arms: p underflows to 0, flagged.
    const SrmResult lopsided = abx::stats::srm_check(Counts{100000, 0}, Doubles{1, 1});
    EXPECT_TRUE(lopsided.mismatch);
    EXPECT_LT(lopsided.p_value, 1e-300);
}

TEST(Srm, InvalidInputsThrow22023) {
    expect_invalid([] { abx::stats::srm_check(Counts{1, 2}, Doubles{1}); }, "weights");
    expect_invalid([] { abx::stats::srm_check(Counts{1}, Doubles{1}); }, "observed");
    expect_invalid([] { abx::stats::srm_check(Counts{1, -2}, Doubles{1, 1}); }, "observed[1]");
    expect_invalid([] { abx::stats::srm_check(Counts{1, 2}, Doubles{1, -1}); }, "weights[1]");
    expect_invalid([] { abx::stats::srm_check(Counts{1, 2}, Doubles{kNaN, 1}); }, "weights[0]");
    expect_invalid([] { abx::stats::srm_check(Counts{1, 2}, Doubles{0, 0}); }, "weights");
    for (double t : {0.0, 1.0, -1.0, kNaN}) {
        expect_invalid([&] { abx::stats::srm_check(Counts{1, 2}, Doubles{1, 1}, t); }, "threshold");
    }
}

// ---- Holm–Bonferroni ---------------------------------------------------------------------------

void expect_same(const Doubles& got, const Doubles& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(i);
        if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(got[i]));
        } else {
            EXPECT_NEAR(got[i], want[i], 1e-15);
        }
    }
}

TEST(Holm, PublishedExample) {
    // Wikipedia, "Holm–Bonferroni method", example: four hypotheses with p = 0.01, 0.04, 0.03,
    // 0.005 at alpha = 0.05; Holm rejects H1 and H4 only.
    // R: p.adjust(c(0.01,0.04,0.03,0.005), "holm") -> 0.03 0.06 0.06 0.02
    const Doubles adj = abx::stats::holm_adjust(Doubles{0.01, 0.04, 0.03, 0.005});
    expect_same(adj, {0.03, 0.06, 0.06, 0.02});
    EXPECT_LE(adj[0], 0.05);
    EXPECT_GT(adj[1], 0.05);
    EXPECT_GT(adj[2], 0.05);
    EXPECT_LE(adj[3], 0.05);
}

TEST(Holm, NaNStaysNaNAndDoesNotCount) {
    // R: p.adjust(c(0.01,NA,0.04,0.03,NA,0.005), "holm") -> 0.03 NA 0.06 0.06 NA 0.02
    // (m = 4: the NAs are not counted, exactly as in PublishedExample)
    expect_same(abx::stats::holm_adjust(Doubles{0.01, kNaN, 0.04, 0.03, kNaN, 0.005}),
                {0.03, kNaN, 0.06, 0.06, kNaN, 0.02});
    expect_same(abx::stats::holm_adjust(Doubles{kNaN, kNaN}), {kNaN, kNaN});
}

TEST(Holm, TiesCapAndMonotonicity) {
    // R: p.adjust(c(0.2,0.2,0.01,0.5,0.9), "holm") -> 0.8 0.8 0.05 1 1
    expect_same(abx::stats::holm_adjust(Doubles{0.2, 0.2, 0.01, 0.5, 0.9}),
                {0.8, 0.8, 0.05, 1.0, 1.0});
    // R: p.adjust(c(0.3,0.6,0.8), "holm") -> 0.9 1 1
    expect_same(abx::stats::holm_adjust(Doubles{0.3, 0.6, 0.8}), {0.9, 1.0, 1.0});
    // R: p.adjust(c(0, 1, 0.001, 0.0004), "holm") -> 0 1 0.002 0.0012
    expect_same(abx::stats::holm_adjust(Doubles{0, 1, 0.001, 0.0004}), {0, 1, 0.002, 0.0012});
    // R: p.adjust(0.02, "holm") -> 0.02
    expect_same(abx::stats::holm_adjust(Doubles{0.02}), {0.02});
    EXPECT_TRUE(abx::stats::holm_adjust(Doubles{}).empty());

    // Properties on a larger input: same order as the raw p-values, never below them, <= 1.
    Doubles raw;
    for (int i = 0; i < 40; ++i) raw.push_back(std::fmod(0.137 * (i + 1) * (i + 3), 1.0) / 10);
    const Doubles adj = abx::stats::holm_adjust(raw);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        EXPECT_GE(adj[i], raw[i]);
        EXPECT_LE(adj[i], 1.0);
        for (std::size_t j = 0; j < raw.size(); ++j) {
            if (raw[i] < raw[j]) {
                EXPECT_LE(adj[i], adj[j]);
            }
        }
    }
}

TEST(Holm, InvalidInputsThrow22023) {
    expect_invalid([] { abx::stats::holm_adjust(Doubles{0.1, 1.5}); }, "p_values[1]");
    expect_invalid([] { abx::stats::holm_adjust(Doubles{-0.1}); }, "p_values[0]");
    expect_invalid(
        [] {
            abx::stats::holm_adjust(Doubles{0.1, 0.2, std::numeric_limits<double>::infinity()});
        },
        "p_values[2]");
}

}  // namespace
