// In-database guardrails (docs/integrations.md, "In-database guardrails"): after the look of an
// aggregation run, a guardrail metric that has just failed for a variant that matters (any
// treatment of a running experiment, the promoted variant of a promoted one) is acted on like an
// SLO breach, under the autonomy gate (guardrail_action.hpp).
#pragma once
#include "analysis_input.hpp"

namespace abx::pg {

// `in` holds the memory before the look, `look` the analysis with the look folded in. Acts once,
// when a failure first appears (a person who resumes the experiment afterwards decides); what it
// did is audited and in the outbox. Inside spi_connect.
void act_on_new_guardrail_failures(const AnalysisInput& in, const analysis::Analysis& look);

}  // namespace abx::pg
