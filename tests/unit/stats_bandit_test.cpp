// Thompson-sampling bandit: Beta sampling, reproducible picks, Monte-Carlo allocation shares with
// warm-up and floors, deterministic per-subject choices, a closed-loop simulation.
//
// Expected probabilities come from R 4.2 (see the ref.R helper at the top of
// stats_bayesian_test.cpp; `Rscript -e 'source("ref.R"); <expression>'`), from the C++ standard
// (mt19937_64's 10000th output), or from arithmetic done by hand. Monte-Carlo results are compared
// with a tolerance of at least 4 standard errors.
#include "abx/error.hpp"
#include "abx/stats/bandit.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace abx::stats {
namespace {

double total(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
}

// Four standard errors of a proportion p estimated from n draws, plus one draw of slack.
double four_se(double p, double n) {
    return 4 * std::sqrt(p * (1 - p) / n) + 1 / n;
}

// ----- sampling
// -----------------------------------------------------------------------------------

TEST(Thompson, GeneratorIsTheStandardMersenneTwister) {
    // [rand.predef]: the 10000th consecutive invocation of a default-constructed mt19937_64
    // produces 9981545732273789042. This is what makes seeded runs reproducible.
    BanditRng rng;
    rng.discard(9999);
    EXPECT_EQ(rng(), 9981545732273789042ull);
}

TEST(Thompson, BetaDrawsFollowTheBetaDistribution) {
    // Rscript -e 'print(qbeta(c(0.1, 0.5, 0.9), 51, 951), digits=17)'
    const double q10 = 0.042215502590641309, q50 = 0.050599578734971139, q90 = 0.059965209199968061;
    BanditRng rng(12345);
    const BetaPosterior p{51, 951};
    const int n = 100000;
    int below10 = 0, below50 = 0, below90 = 0;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        const double x = sample_beta(p, rng);
        ASSERT_GT(x, 0.0);
        ASSERT_LT(x, 1.0);
        below10 += x < q10;
        below50 += x < q50;
        below90 += x < q90;
        sum += x;
    }
    EXPECT_NEAR(below10 / double(n), 0.1, four_se(0.1, n));
    EXPECT_NEAR(below50 / double(n), 0.5, four_se(0.5, n));
    EXPECT_NEAR(below90 / double(n), 0.9, four_se(0.9, n));
    // Mean 51/1002; sd of one draw sqrt(51*951/(1002^2*1003)) = 0.00694.
    EXPECT_NEAR(sum / n, 51.0 / 1002.0, 4 * 0.00694 / std::sqrt(double(n)));
}

TEST(Thompson, FixedSeedGivesIdenticalPicksAcrossRuns) {
    const std::vector<BetaPosterior> arms{{12, 90}, {15, 88}, {14, 91}};
    auto run = [&](std::uint64_t seed) {
        BanditRng rng(seed);
        std::vector<std::size_t> picks;
        for (int i = 0; i < 1000; ++i) picks.push_back(thompson_pick(arms, rng));
        return picks;
    };
    const std::vector<std::size_t> first = run(2024), second = run(2024), other = run(2025);
    EXPECT_EQ(first, second);
    EXPECT_NE(first, other);
    // All three arms are close: every one of them gets picked.
    for (std::size_t arm = 0; arm < arms.size(); ++arm)
        EXPECT_GT(std::count(first.begin(), first.end(), arm), 50) << arm;
}

TEST(Thompson, PerSubjectChoiceIsReproducibleAndHasTheRightFrequency) {
    const std::vector<BetaPosterior> arms{{121, 881}, {151, 851}};
    int second = 0;
    const int subjects = 20000;
    for (int i = 0; i < subjects; ++i) {
        const std::uint64_t seed = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
        const std::size_t pick = thompson_pick(arms, seed);
        ASSERT_EQ(pick, thompson_pick(arms, seed));  // replay gives the same arm
        second += pick == 1;
    }
    // pg(151, 851, 121, 881) = 0.97506783681214371
    EXPECT_NEAR(second / double(subjects), 0.97506783681214371, four_se(0.975, subjects));
}

TEST(Thompson, LowerIsBetterPicksTheLowDraw) {
    const std::vector<BetaPosterior> arms{{51, 951}, {101, 901}};
    BanditRng rng(7);
    int first = 0;
    for (int i = 0; i < 2000; ++i) first += thompson_pick(arms, rng, Better::Lower) == 0;
    // pg(101, 901, 51, 951) = 0.99999008731658268 = P(arm 0 draws lower)
    EXPECT_GE(first, 1990);
}

TEST(Thompson, ClosedLoopConcentratesOnTheBetterArm) {
    // True rates 0.05 and 0.10, prior Beta(1, 1), 5000 pulls, fixed seeds.
    auto simulate = [] {
        const double truth[2] = {0.05, 0.10};
        std::vector<BetaPosterior> arms{{1, 1}, {1, 1}};
        BanditRng policy(42), world(4242);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        int pulls[2] = {0, 0};
        for (int i = 0; i < 5000; ++i) {
            const std::size_t arm = thompson_pick(arms, policy);
            ++pulls[arm];
            if (u(world) < truth[arm]) {
                arms[arm].alpha += 1;
            } else {
                arms[arm].beta += 1;
            }
        }
        return pulls[1];
    };
    const int better = simulate();
    EXPECT_GT(better, 3500);  // > 70 % of the pulls
    EXPECT_EQ(better, simulate());
}

// ----- allocation shares ------------------------------------------------------------------------

TEST(BanditAllocation, BetterArmGetsAtLeastNinetyPercent) {
    const std::vector<BanditArm> arms{{{51, 951}, 1000}, {{101, 901}, 1000}};
    const std::vector<double> s = thompson_shares(arms);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_GE(s[1], 0.9);
    // pg(101, 901, 51, 951) = 0.99999008731658268; 10000 draws.
    EXPECT_NEAR(s[1], 0.99999008731658268, four_se(0.99999, 10000));
    EXPECT_NEAR(total(s), 1.0, 1e-12);
    // Same seed, same shares; lower-is-better reverses them.
    EXPECT_EQ(s, thompson_shares(arms));
    EXPECT_GE(thompson_shares(arms, {}, Better::Lower)[0], 0.9);
}

TEST(BanditAllocation, SharesEstimateProbabilityOfBeingBest) {
    const std::vector<BanditArm> arms{{{101, 901}, 1000}, {{121, 881}, 1000}, {{116, 886}, 1000}};
    AllocationConfig config;
    config.draws = 200000;
    config.seed = 99;
    const std::vector<double> s = thompson_shares(arms, config);
    // sapply(1:3, function(i) pbest(c(101,121,116), c(901,881,886), i))
    EXPECT_NEAR(s[0], 0.034151549337844457, four_se(0.034, 200000));
    EXPECT_NEAR(s[1], 0.61557525290425086, four_se(0.616, 200000));
    EXPECT_NEAR(s[2], 0.35027319775790455, four_se(0.350, 200000));
}

TEST(BanditAllocation, MinimumShareIsRespectedExactly) {
    const std::vector<BanditArm> arms{{{51, 951}, 1000}, {{101, 901}, 1000}, {{70, 932}, 1000}};
    AllocationConfig config;
    config.min_share = 0.05;
    const std::vector<double> s = thompson_shares(arms, config);
    EXPECT_EQ(s[0], 0.05);
    EXPECT_EQ(s[2], 0.05);
    EXPECT_NEAR(s[1], 0.90, 1e-12);
    EXPECT_NEAR(total(s), 1.0, 1e-12);
}

TEST(BanditAllocation, FloorThenRenormaliseRepeatsUntilStable) {
    // Hand arithmetic. Round 1 floors 0.101 and 0 at 0.2; 0.6 and 0.299 share the remaining 0.6 in
    // proportion: 0.4004… and 0.1995… < 0.2, so round 2 floors that one too; 0.6 gets 0.4.
    const std::vector<double> in{0.6, 0.101, 0.0, 0.299};
    const std::vector<double> out = apply_min_share(in, 0.2);
    EXPECT_NEAR(out[0], 0.4, 1e-15);
    EXPECT_EQ(out[1], 0.2);
    EXPECT_EQ(out[2], 0.2);
    EXPECT_EQ(out[3], 0.2);
    // One round: 0.04 and 0.01 floored at 0.1; 0.7 and 0.25 share 0.8 as 0.7*0.8/0.95,
    // 0.25*0.8/0.95.
    const std::vector<double> one =
        apply_min_share(std::vector<double>{0.7, 0.25, 0.04, 0.01}, 0.1);
    EXPECT_NEAR(one[0], 0.7 * 0.8 / 0.95, 1e-15);
    EXPECT_NEAR(one[1], 0.25 * 0.8 / 0.95, 1e-15);
    EXPECT_EQ(one[2], 0.1);
    EXPECT_EQ(one[3], 0.1);
    // Unnormalised input, no floor needed: just normalised.
    const std::vector<double> plain = apply_min_share(std::vector<double>{1, 3}, 0.1);
    EXPECT_NEAR(plain[0], 0.25, 1e-15);
    EXPECT_NEAR(plain[1], 0.75, 1e-15);
    // A floor of exactly 1/k gives equal shares.
    const std::vector<double> eq = apply_min_share(std::vector<double>{0.9, 0.1}, 0.5);
    EXPECT_EQ(eq, (std::vector<double>{0.5, 0.5}));
    expect_invalid([] { apply_min_share(std::vector<double>{0.5, 0.5}, 0.6); }, "min_share");
    expect_invalid([] { apply_min_share(std::vector<double>{0.5, -0.5}, 0.1); }, "shares[1]");
    expect_invalid([] { apply_min_share(std::vector<double>{0, 0}, 0.1); }, "shares");
}

TEST(BanditAllocation, ArmsInWarmUpKeepTheirBaseShare) {
    // Arm 2 has 10 < 100 subjects: it keeps 1/3; arms 0 and 1 split the other 2/3 by Thompson.
    const std::vector<BanditArm> arms{{{51, 951}, 1000}, {{101, 901}, 1000}, {{2, 10}, 10}};
    AllocationConfig config;
    config.min_samples = 100;
    const std::vector<double> s = thompson_shares(arms, config);
    EXPECT_DOUBLE_EQ(s[2], 1.0 / 3.0);
    EXPECT_NEAR(s[0] + s[1], 2.0 / 3.0, 1e-12);
    EXPECT_GE(s[1], 0.9 * 2.0 / 3.0);

    // Configured base weights: with every arm in warm-up the shares are the weights.
    config.base_weights = {2, 1, 1};
    config.min_samples = 5000;
    const std::vector<double> warm = thompson_shares(arms, config);
    EXPECT_DOUBLE_EQ(warm[0], 0.5);
    EXPECT_DOUBLE_EQ(warm[1], 0.25);
    EXPECT_DOUBLE_EQ(warm[2], 0.25);

    // Only one mature arm: nothing to compare, base shares again.
    config.min_samples = 100;
    config.base_weights = {};
    const std::vector<BanditArm> lonely{{{51, 951}, 1000}, {{2, 10}, 10}};
    const std::vector<double> l = thompson_shares(lonely, config);
    EXPECT_DOUBLE_EQ(l[0], 0.5);
    EXPECT_DOUBLE_EQ(l[1], 0.5);
}

TEST(BanditAllocation, ZeroWeightArmIsOffEvenWithAFloor) {
    const std::vector<BanditArm> arms{{{51, 951}, 1000}, {{101, 901}, 1000}, {{300, 700}, 1000}};
    AllocationConfig config;
    config.base_weights = {1, 1, 0};
    config.min_share = 0.1;
    const std::vector<double> s = thompson_shares(arms, config);
    EXPECT_EQ(s[2], 0.0);  // the best arm by far, but switched off
    EXPECT_EQ(s[0], 0.1);
    EXPECT_NEAR(s[1], 0.9, 1e-12);
}

TEST(BanditAllocation, ZeroWeightArmIsOffThroughRateSummaries) {
    // The path bandit experiments take: summaries of the primary rate metric, variant weights as
    // base weights. Arm 1 converts best by far but has weight 0: it gets exactly 0. Arm 0 is the
    // clear loser and is lifted to the floor; arm 3 leads among the arms that are on.
    const std::vector<Summary> arms{
        {1000, 20, 20}, {1000, 400, 400}, {1000, 100, 100}, {1000, 120, 120}};
    AllocationConfig config;
    config.base_weights = {1, 0, 1, 1};
    config.min_share = 0.1;
    config.draws = 20000;
    const std::vector<double> s = thompson_shares_rates(arms, config);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[1], 0.0);
    EXPECT_EQ(s[0], 0.1);  // exactly the floor
    EXPECT_GE(s[2], 0.1);
    EXPECT_GT(s[3], s[2]);
    EXPECT_NEAR(total(s), 1.0, 1e-12);
    // A floor that only fits the arms that are on: 3 × 1/3 = 1.
    config.min_share = 1.0 / 3.0;
    const std::vector<double> even = thompson_shares_rates(arms, config);
    EXPECT_EQ(even[1], 0.0);
    for (std::size_t i : {0u, 2u, 3u}) EXPECT_NEAR(even[i], 1.0 / 3.0, 1e-12) << i;
}

TEST(BanditAllocation, FromRateSummaries) {
    // 50/1000 and 100/1000 with prior Beta(1, 1) are the Beta(51, 951) and Beta(101, 901) above.
    const std::vector<Summary> arms{{1000, 50, 50}, {1000, 100, 100}};
    const std::vector<double> s = thompson_shares_rates(arms);
    EXPECT_NEAR(s[1], 0.99999008731658268, four_se(0.99999, 10000));
    expect_invalid(
        [] {
            thompson_shares_rates(std::vector<Summary>{{10, 11, 11}});
        },
        "arms[0].sum");
}

TEST(BanditAllocation, InvalidConfigurationNamesTheParameter) {
    const std::vector<BanditArm> arms{{{1, 1}, 0}, {{1, 1}, 0}};
    AllocationConfig c;
    c.draws = 0;
    expect_invalid([&] { thompson_shares(arms, c); }, "draws");
    c = {};
    c.min_share = 0.6;
    expect_invalid([&] { thompson_shares(arms, c); }, "min_share");
    c = {};
    c.base_weights = {1};
    expect_invalid([&] { thompson_shares(arms, c); }, "base_weights");
    c = {};
    c.min_samples = -1;
    expect_invalid([&] { thompson_shares(arms, c); }, "min_samples");
    expect_invalid([] { thompson_shares(std::vector<BanditArm>{{{1, 1}, -3}}); }, "arms[0].n");
    expect_invalid([] { thompson_shares(std::vector<BanditArm>{}); }, "arms");
    expect_invalid([] { thompson_pick(std::vector<BetaPosterior>{}, std::uint64_t{1}); }, "arms");
    expect_invalid(
        [] {
            thompson_pick(std::vector<BetaPosterior>{{1, 1}, {0, 2}}, std::uint64_t{1});
        },
        "arms[1].alpha");
    BanditRng rng(1);
    expect_invalid([&] { sample_beta(BetaPosterior{1, NAN}, rng); }, "posterior.beta");
}

// ----- deterministic choice from shares ---------------------------------------------------------

TEST(BanditAllocation, PickBySharesMapsTheHashToCumulativeShares) {
    const std::vector<double> shares{0.25, 0.75};
    // u = (hash >> 11) * 2^-53: u = 0 -> arm 0; u just below 0.25 -> arm 0; u = 0.25 -> arm 1.
    EXPECT_EQ(pick_by_shares(shares, 0), 0u);
    EXPECT_EQ(pick_by_shares(shares, ((1ull << 51) - 1) << 11), 0u);
    EXPECT_EQ(pick_by_shares(shares, (1ull << 51) << 11), 1u);
    EXPECT_EQ(pick_by_shares(shares, ~0ull), 1u);
    // Unnormalised shares mean the same thing; zero shares are never picked.
    EXPECT_EQ(pick_by_shares(std::vector<double>{1, 3}, (1ull << 51) << 11), 1u);
    const std::vector<double> only_middle{0, 1, 0};
    for (std::uint64_t h : {0ull, 1ull << 63, ~0ull}) EXPECT_EQ(pick_by_shares(only_middle, h), 1u);
    // Frequencies over well-spread hashes follow the shares.
    const std::vector<double> three{0.2, 0.5, 0.3};
    std::mt19937_64 hashes(5);
    int counts[3] = {0, 0, 0};
    const int n = 100000;
    for (int i = 0; i < n; ++i) ++counts[pick_by_shares(three, hashes())];
    EXPECT_NEAR(counts[0] / double(n), 0.2, four_se(0.2, n));
    EXPECT_NEAR(counts[1] / double(n), 0.5, four_se(0.5, n));
    EXPECT_NEAR(counts[2] / double(n), 0.3, four_se(0.3, n));
    expect_invalid([] { pick_by_shares(std::vector<double>{0.5, -1}, 0); }, "shares[1]");
}

}  // namespace
}  // namespace abx::stats
