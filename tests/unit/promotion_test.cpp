// Tests of the auto-promotion decision and the promotion/rollback preconditions
// (include/abx/promotion.hpp).
#include "abx/promotion.hpp"

#include "expect_error.hpp"

#include <gtest/gtest.h>

namespace {

using abx::AutoAction;
using abx::AutoPromotionFacts;

AutoPromotionFacts ready() {
    AutoPromotionFacts f;
    f.eligible = true;
    f.automatic = true;
    return f;
}

TEST(AutoPromotion, PromotesAnEligibleWinnerWhenEverythingAllows) {
    EXPECT_EQ(abx::decide_auto_promotion(ready()).action, AutoAction::Promote);
}

TEST(AutoPromotion, NothingWithoutAnEligibleWinnerOrWithAManualPolicy) {
    auto f = ready();
    f.eligible = false;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::Nothing);
    f = ready();
    f.automatic = false;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::Nothing);
}

TEST(AutoPromotion, EveryAutonomySwitchDeniesAndSaysWhich) {
    auto f = ready();
    f.feature_enabled = false;
    auto d = abx::decide_auto_promotion(f);
    EXPECT_EQ(d.action, AutoAction::Denied);
    EXPECT_NE(d.reason.find("abx.auto_promotion_enabled"), std::string::npos);
    f = ready();
    f.autonomy_server = false;
    d = abx::decide_auto_promotion(f);
    EXPECT_EQ(d.action, AutoAction::Denied);
    EXPECT_NE(d.reason.find("abx.allow_autonomy"), std::string::npos);
    f = ready();
    f.autonomy_organization = false;
    d = abx::decide_auto_promotion(f);
    EXPECT_EQ(d.action, AutoAction::Denied);
    EXPECT_NE(d.reason.find("organization"), std::string::npos);
    // Denied even when approval would be required: the gate binds first.
    f.require_approval = true;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::Denied);
}

TEST(AutoPromotion, ARolledBackWinnerIsNotPromotedAgainByTheJob) {
    auto f = ready();
    f.rolled_back_before = true;
    auto d = abx::decide_auto_promotion(f);
    EXPECT_EQ(d.action, AutoAction::Nothing);
    EXPECT_NE(d.reason.find("rolled back"), std::string::npos);
    f.require_approval = true;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::RequestApproval)
        << "asking a person is still right";
}

TEST(AutoPromotion, ApprovalIsRequestedOnce) {
    auto f = ready();
    f.require_approval = true;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::RequestApproval);
    f.approval_pending = true;
    EXPECT_EQ(abx::decide_auto_promotion(f).action, AutoAction::Nothing);
}

TEST(Promotion, OnlyARunningUnpromotedExperiment) {
    abx::check_promotable(abx::Status::Running, false, "x");
    expect_error([] { abx::check_promotable(abx::Status::Running, true, "x"); }, "55000",
                 "promoted already");
    expect_error([] { abx::check_promotable(abx::Status::Paused, false, "x"); }, "55000",
                 "only a running experiment");
    expect_error([] { abx::check_promotable(abx::Status::Completed, false, "x"); }, "55000",
                 "is completed");
}

TEST(Promotion, RollbackOnce) {
    abx::check_rollback(true, "x");
    expect_error([] { abx::check_rollback(false, "x"); }, "55000", "no promotion to roll back");
}

}  // namespace
