// What auto-promotion does with a winner evaluation (docs/operations.md, "Promotion"): nothing,
// ask for approval, promote, or record a policy denial; and when promotion and rollback are
// allowed.
#pragma once
#include "abx/core_only.hpp"
#include "abx/lifecycle.hpp"

#include <string>

namespace abx {

enum class AutoAction { Nothing, RequestApproval, Promote, Denied };

struct AutoPromotionFacts {
    bool eligible = false;          // the evaluation found an eligible winner
    bool automatic = false;         // the experiment's winner policy mode is automatic
    bool require_approval = false;  // policy or server: a person approves
    bool approval_pending = false;  // an approval request is already open
    bool rolled_back_before =
        false;                    // a promotion of this winner was rolled back: a person decides
    bool feature_enabled = true;  // abx.auto_promotion_enabled
    bool autonomy_server = true;  // abx.allow_autonomy
    bool autonomy_organization = true;  // the organization's autonomy policy
};

struct AutoPromotionDecision {
    AutoAction action = AutoAction::Nothing;
    std::string reason;  // in words; for a denial, why autonomy was refused
};

AutoPromotionDecision decide_auto_promotion(const AutoPromotionFacts& facts);

// 55000 unless the experiment is running and not promoted already.
void check_promotable(Status status, bool promoted, const std::string& code);
// 55000 when there is no promotion to roll back (twice, or never promoted).
void check_rollback(bool promoted, const std::string& code);

}  // namespace abx
