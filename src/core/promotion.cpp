#include "abx/promotion.hpp"

#include "abx/error.hpp"

namespace abx {

AutoPromotionDecision decide_auto_promotion(const AutoPromotionFacts& f) {
    if (!f.eligible) return {AutoAction::Nothing, "no eligible winner"};
    if (!f.automatic)
        return {AutoAction::Nothing, "the winner policy is manual: a person promotes"};
    if (!f.feature_enabled)
        return {AutoAction::Denied, "auto-promotion is disabled (abx.auto_promotion_enabled)"};
    if (!f.autonomy_server)
        return {AutoAction::Denied, "autonomy is off for the server (abx.allow_autonomy)"};
    if (!f.autonomy_organization)
        return {AutoAction::Denied, "autonomy is off for the organization (abx.set_autonomy)"};
    if (f.require_approval) {
        if (f.approval_pending) return {AutoAction::Nothing, "an approval request is pending"};
        return {AutoAction::RequestApproval, "manual approval required"};
    }
    // A person rolled this winner back: the job does not overrule them (an approval request above
    // still asks a person).
    if (f.rolled_back_before)
        return {AutoAction::Nothing,
                "a promotion of this winner was rolled back: a person promotes it again"};
    return {AutoAction::Promote, "eligible winner, automatic policy, autonomy allowed"};
}

void check_promotable(Status status, bool promoted, const std::string& code) {
    if (promoted)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + code + "\" is promoted already", "",
                    "roll the promotion back first (abx.rollback)");
    if (status != Status::Running)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + code + "\" is " + std::string(to_string(status)) +
                        ": only a running experiment can be promoted");
}

void check_rollback(bool promoted, const std::string& code) {
    if (!promoted)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + code + "\" has no promotion to roll back", "",
                    "a promotion is rolled back once");
}

}  // namespace abx
