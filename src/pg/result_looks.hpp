// Results over time (docs/statistics.md, "Looks"): each aggregation run that changed an
// experiment's statistics records its look, exactly the figures abx.results reports after it, in
// abx.result_looks (per variant and metric) and abx.bandit_looks (per arm); abx.timeline serves
// them.
#pragma once
#include "analysis_input.hpp"

#include <vector>

namespace abx::pg {

// One arm's Thompson-sampling state as the run stored it in abx.bandit_arms.
struct BanditArmLook {
    std::int64_t variant_id = 0;
    double alpha = 0, beta = 0, share = 0;
};

// `look` is the analysis of the run (the memory of `in` with this look folded in): its rows are
// the ones abx.results reports until the next run. `run` is abx.aggregation_state.runs after it.
// Inside spi_connect, in the run's subtransaction (a failed run records nothing).
void record_result_look(const AnalysisInput& in, const analysis::Analysis& look, std::int64_t run,
                        TimestampTz at);
void record_bandit_look(std::int64_t experiment_id, const std::vector<BanditArmLook>& arms,
                        std::int64_t run, TimestampTz at);

}  // namespace abx::pg
