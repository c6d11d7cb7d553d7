#include "abx/aggregation.hpp"

#include "abx/interrupt.hpp"

namespace abx::aggregation {

using analysis::MetricKind;

namespace {
EventTotals totals_of(const SubjectTotals& totals, const std::string& key) {
    auto it = totals.find(key);
    return it == totals.end() ? EventTotals{} : it->second;
}
}  // namespace

bool population_is_active_subjects(const analysis::MetricSpec& metric) {
    return metric.kind == MetricKind::Avg ||
           (metric.kind == MetricKind::Rate && !metric.denominator.empty());
}

std::optional<double> subject_value(const analysis::MetricSpec& metric,
                                    const SubjectTotals& totals) {
    EventTotals e = totals_of(totals, metric.event);
    switch (metric.kind) {
        case MetricKind::Count:
            return e.count;
        case MetricKind::Sum:
            return e.sum;
        case MetricKind::Avg:
            if (e.count <= 0) return std::nullopt;
            return e.sum / e.count;
        case MetricKind::Rate:
            if (!metric.denominator.empty() && totals_of(totals, metric.denominator).count <= 0)
                return std::nullopt;
            return e.count > 0 ? 1.0 : 0.0;
    }
    return std::nullopt;
}

std::map<std::int64_t, std::vector<StatsDelta>> metric_deltas(
    const std::vector<analysis::MetricSpec>& metrics, const std::vector<TouchedSubject>& subjects) {
    std::map<std::int64_t, std::vector<StatsDelta>> deltas;
    InterruptPoll poll;
    for (const TouchedSubject& s : subjects) {
        poll.tick();
        SubjectTotals after = s.before;
        for (const auto& [key, add] : s.added) {
            EventTotals& t = after[key];
            t.count += add.count;
            t.sum += add.sum;
        }
        auto [it, inserted] = deltas.try_emplace(s.variant_id, metrics.size());
        std::vector<StatsDelta>& row = it->second;
        for (std::size_t m = 0; m < metrics.size(); ++m) {
            std::optional<double> old_x = subject_value(metrics[m], s.before);
            std::optional<double> new_x = subject_value(metrics[m], after);
            if (old_x) {
                row[m].n -= 1;
                row[m].sum -= *old_x;
                row[m].sum_sq -= *old_x * *old_x;
            }
            if (new_x) {
                row[m].n += 1;
                row[m].sum += *new_x;
                row[m].sum_sq += *new_x * *new_x;
            }
        }
        (void)inserted;
    }
    return deltas;
}

}  // namespace abx::aggregation
