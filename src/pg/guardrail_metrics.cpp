#include "guardrail_metrics.hpp"

#include "access.hpp"
#include "guardrail_action.hpp"
#include "store.hpp"

#include <cstdio>
#include <vector>

extern "C" {
#include "miscadmin.h"
}

namespace abx::pg {

void act_on_new_guardrail_failures(const AnalysisInput& in, const analysis::Analysis& look) {
    const std::size_t n_met = in.data.metrics.size();
    if (n_met == 0 || look.guardrail_failures.empty()) return;

    // New failures only: the stored memory (before this look) had not shown harm.
    std::vector<const analysis::MetricResult*> fresh;
    for (std::size_t i = 0; i < look.rows.size(); ++i) {
        const std::size_t v = i / n_met, m = i % n_met;
        const bool before = !in.data.sequential.empty() && in.data.sequential[v][m].harm_lower > 0;
        if (look.rows[i].guardrail_failed && !before) fresh.push_back(&look.rows[i]);
    }
    if (fresh.empty()) return;

    // The system acts, not whoever ran the aggregation (an analyst may aggregate but not pause):
    // the gates see the extension's owner, whose SECURITY DEFINER function this runs in, as the
    // scheduler's jobs do. The autonomy gate still decides.
    std::optional<ActingAsOwner> acting;
    if (!acting_as_owner()) acting.emplace(pg_call([] { return GetUserId(); }));
    GuardedExperiment e = lock_guarded_experiment(in.experiment.id);
    std::optional<std::string> promoted_key;
    if (e.promoted)
        if (std::optional<std::int32_t> pid = promoted_variant(e.id, false))
            for (std::size_t v = 0; v < in.variant_ids.size(); ++v)
                if (in.variant_ids[v] == *pid) promoted_key = in.data.variants[v].key;

    for (const analysis::MetricResult* r : fresh) {
        // A promoted experiment serves one variant: only its harm calls for a rollback.
        if (e.promoted && promoted_key != r->variant) continue;
        char bound[64];
        std::snprintf(bound, sizeof bound, "%.6g", r->harm_lower);
        const std::string summary = "'" + r->variant + "' harms guardrail '" + r->metric +
                                    "' (always-valid lower bound of the harm " + bound + ")";
        const nlohmann::json evidence = {{"variant", r->variant},
                                         {"metric", r->metric},
                                         {"harm_lower", r->harm_lower},
                                         {"p_value", r->harm_p_value}};
        const GuardrailOutcome o =
            act_on_guardrail_breach(e, kGuardrailMetricBreach, summary, evidence, true);
        if (o.action == "paused" || o.action == "rolled_back")
            e = lock_guarded_experiment(in.experiment.id);  // its state changed
    }
}

}  // namespace abx::pg
