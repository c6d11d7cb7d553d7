// Internal declarations shared by the files of src/core/analysis.
#pragma once
#include "abx/analysis.hpp"
#include "abx/core_only.hpp"

#include <cstddef>
#include <optional>

namespace abx::analysis::detail {

// Throws 22003 naming "analysis.<field>" when a settings value is out of range (the same checks as
// parse_settings, for settings built in C++).
void validate_settings(const AnalysisSettings& settings);

// Checks the shape and values of the input of analyze(); returns the index of the control.
// Throws naming the offending path (variants[1].metrics[0].sum, sequential[2], ...): 22003 for a
// number out of range, 22023 for a wrong shape or inconsistent values.
std::size_t validate_data(const ExperimentData& data);

// The SRM result as JSON, with observed and expected counts keyed by variant.
nlohmann::json srm_json(const stats::SrmResult& srm, const ExperimentData& data);

// Index of the primary metric, if there is one.
std::optional<std::size_t> primary_index(const std::vector<MetricSpec>& metrics);

// The row of variant v and metric m in Analysis::rows (variant-major).
inline const MetricResult& row(const Analysis& a, std::size_t metric_count, std::size_t v,
                               std::size_t m) {
    return a.rows.at(v * metric_count + m);
}

}  // namespace abx::analysis::detail
