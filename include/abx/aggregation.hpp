// Incremental maintenance of per-variant sufficient statistics from per-subject event totals.
// abx.aggregate() hands this the subjects touched by newly committed events (their totals before
// and the amounts added); the result is how each variant's (n, Σx, Σx²) changes per metric, so a
// run costs in proportion to the new events, never to all of them.
#pragma once
#include "abx/analysis.hpp"
#include "abx/core_only.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace abx::aggregation {

struct EventTotals {
    double count = 0;  // events of one key of one subject
    double sum = 0;    // sum of their values
};
using SubjectTotals = std::map<std::string, EventTotals>;  // by event key

// The subject's value for a metric (see analysis.hpp for the definitions), or nullopt when the
// subject is outside the metric's population (avg: no event yet; rate with a denominator: no
// denominator event). For count, sum and plain rates every assigned subject is in the population,
// with 0 when it has no event, so the glue takes n from the assignment count for those kinds.
std::optional<double> subject_value(const analysis::MetricSpec& metric,
                                    const SubjectTotals& totals);

// Whether n of the metric comes from the population of subjects with events (avg, rate with a
// denominator) rather than from all assigned subjects.
bool population_is_active_subjects(const analysis::MetricSpec& metric);

struct TouchedSubject {
    std::int64_t variant_id = 0;
    SubjectTotals before;  // totals already aggregated (empty for a subject seen the first time)
    SubjectTotals added;   // totals of the new events
};

struct StatsDelta {
    double n = 0;       // change in subjects inside the population
    double sum = 0;     // change in Σx
    double sum_sq = 0;  // change in Σx²
};

// Per variant id, one StatsDelta per metric (same order as `metrics`).
std::map<std::int64_t, std::vector<StatsDelta>> metric_deltas(
    const std::vector<analysis::MetricSpec>& metrics, const std::vector<TouchedSubject>& subjects);

}  // namespace abx::aggregation
