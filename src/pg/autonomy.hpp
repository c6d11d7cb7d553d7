// The autonomy gate (seed 000, docs/operations.md §5): abx.allow_autonomy and the organization's
// policy, as the autonomous jobs read it.
#pragma once
#include "analysis_input.hpp"

namespace abx::pg {

// Whether the organization's policy allows autonomy (no policy: allowed; a global experiment has
// no organization). Reads the organization's row FOR SHARE, so a concurrent abx.set_autonomy
// (which locks it FOR UPDATE) is waited for: no action is taken on a policy being changed.
bool organization_allows_autonomy(const std::optional<std::int64_t>& organization_id);

// An audit entry about the experiment (promotion.cpp, fail_fast.cpp).
void audit_experiment(const std::string& action, const AnalysisInput& in, nlohmann::json change);

// An autonomous action the gate refused: audited as policy.deny (outcome denied, error code
// policy) with its feature and reason, which abx.audit_failures counts.
void audit_policy_denial(const AnalysisInput& in, const std::string& feature,
                         const std::string& reason, const nlohmann::json& detail);

}  // namespace abx::pg
