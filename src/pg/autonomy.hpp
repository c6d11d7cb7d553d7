// The autonomy gate (seed 000, docs/operations.md §5): abx.allow_autonomy and the organization's
// policy, as the autonomous jobs read it.
#pragma once
#include "spi.hpp"

namespace abx::pg {

// Whether the organization's policy allows autonomy (no policy: allowed; a global experiment has
// no organization). Reads the organization's row FOR SHARE, so a concurrent abx.set_autonomy
// (which locks it FOR UPDATE) is waited for: no action is taken on a policy being changed.
bool organization_allows_autonomy(const std::optional<std::int64_t>& organization_id);

}  // namespace abx::pg
