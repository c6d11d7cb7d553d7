// Loading what the analysis core needs from abx's tables.
#pragma once
#include "store.hpp"

#include "abx/analysis.hpp"

namespace abx::pg {

struct AnalysisInput {
    StoredExperiment experiment;
    std::optional<std::string> organization;  // key, nullopt for a global experiment
    std::vector<analysis::MetricSpec> metrics;
    analysis::ExperimentData data;
    std::vector<std::int64_t> variant_ids;  // parallel to data.variants
    std::optional<TimestampTz> started_at;
    // Per metric: whether the last abx.aggregate() computed it under its current definition (a
    // metric added or redefined since has no figures yet).
    std::vector<bool> aggregated;
};

// Everything about one experiment (must be inside spi_connect). `read_only` for STABLE callers.
AnalysisInput load_analysis_input(const std::string& code, const std::optional<std::string>& org,
                                  bool read_only);
AnalysisInput load_analysis_input(std::int64_t experiment_id, bool read_only);

// Per current metric: whether the metrics document `signature` (as stored by the last
// aggregation) defined it the same way (key, kind, event, denominator).
std::vector<bool> unchanged_metrics(const std::string& signature,
                                    const std::vector<analysis::MetricSpec>& current);

// Defaults of every experiment's winner policy: the server's abx.promotion_* settings.
analysis::WinnerPolicy winner_policy_defaults();

// The winner policy (the experiment's, completed by the server's defaults) applied to the current
// results, with runtime and exposures (inside spi_connect).
analysis::WinnerEvaluation evaluate_winner_now(const AnalysisInput& input);

// Stores the sequential memory after a look (abx.aggregate).
void store_sequential_memory(const AnalysisInput& input, const analysis::Analysis& result);

}  // namespace abx::pg
