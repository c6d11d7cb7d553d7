// check_interrupt(): a hook installed by the glue stops long loops of the core by throwing.
#include "abx/analysis.hpp"
#include "abx/interrupt.hpp"
#include "abx/stats/bandit.hpp"
#include "abx/stats/bayesian.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "analysis_fixtures.hpp"

namespace {

using abx::stats::AllocationConfig;
using abx::stats::BanditArm;

struct Cancelled {};

int g_calls = 0;
int g_throw_at = 0;  // 0: never throw

void counting_hook() {
    ++g_calls;
    if (g_throw_at > 0 && g_calls >= g_throw_at) throw Cancelled{};
}

// Installs counting_hook for one test and removes it afterwards, even when the test fails.
struct HookGuard {
    explicit HookGuard(int throw_at) {
        g_calls = 0;
        g_throw_at = throw_at;
        abx::set_interrupt_check(counting_hook);
    }
    ~HookGuard() { abx::set_interrupt_check(nullptr); }
};

const std::vector<BanditArm> kArms{{{51, 951}, 1000}, {{101, 901}, 1000}, {{70, 930}, 1000}};

AllocationConfig ten_million_draws() {
    AllocationConfig c;
    c.draws = 10'000'000;
    c.seed = 7;
    return c;
}

TEST(Interrupt, NoHookMeansNoEffect) {
    abx::set_interrupt_check(nullptr);
    EXPECT_NO_THROW(abx::check_interrupt());
}

TEST(Interrupt, ThrowingHookStopsTenMillionBanditDraws) {
    {
        HookGuard guard(5);
        EXPECT_THROW(abx::stats::thompson_shares(kArms, ten_million_draws()), Cancelled);
        // Stopped at the 5th check, i.e. after about 5 * 1024 of the 10^7 draws.
        EXPECT_EQ(g_calls, 5);
    }
    // Nothing was left half-done: the same call without the hook works and is reproducible.
    AllocationConfig small;
    small.draws = 20'000;
    const std::vector<double> a = abx::stats::thompson_shares(kArms, small);
    const std::vector<double> b = abx::stats::thompson_shares(kArms, small);
    EXPECT_EQ(a, b);
}

TEST(Interrupt, PollingHookIsCalledRegularlyAndChangesNothing) {
    AllocationConfig c;
    c.draws = 100'000;
    const std::vector<double> without = abx::stats::thompson_shares(kArms, c);
    HookGuard guard(0);
    const std::vector<double> with = abx::stats::thompson_shares(kArms, c);
    EXPECT_EQ(with, without);
    EXPECT_GE(g_calls, 100'000 / 1024);
}

TEST(Interrupt, StopsALongExactSum) {
    // 5 * 10^6 terms of Evan Miller's sum when forced (Auto would integrate instead).
    const abx::stats::BetaPosterior x{5'000'000, 5'000'000}, y{5'000'001, 4'999'999};
    HookGuard guard(3);
    EXPECT_THROW(abx::stats::prob_greater(x, y, abx::stats::BetaMethod::ExactSum), Cancelled);
    EXPECT_EQ(g_calls, 3);
}

TEST(Interrupt, StopsAnAnalysis) {
    abx::analysis::ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(
        nlohmann::json::parse(R"({"primary": {"key": "c", "kind": "rate", "event": "buy"}})"));
    d.variants = {abx_test::arm("control", true, 1000, {abx_test::rate(1000, 100)}),
                  abx_test::arm("t", false, 1000, {abx_test::rate(1000, 120)})};
    const abx::analysis::Analysis a = abx::analysis::analyze(d, true);
    HookGuard guard(1);
    EXPECT_THROW(abx::analysis::analyze(d, true), Cancelled);
    abx::set_interrupt_check(nullptr);
    EXPECT_EQ(abx::analysis::analyze(d, true).rows[1].p_value, a.rows[1].p_value);
}

}  // namespace
