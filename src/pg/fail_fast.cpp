// abx.fail_fast_check(), the hourly fail-fast job (seed 002): a variant more than
// analysis.fail_fast.threshold likely worse than the best, with enough subjects in every arm, is
// flagged; when the experiment opted in (analysis.fail_fast.auto_stop) and autonomy is allowed, it
// stops being assigned (weight 0; its subjects keep their variant), otherwise it stays a
// recommendation (and, opted in but refused, a policy denial). Bandits are left to their
// allocation, and the control is never stopped.
#include "access.hpp"
#include "analysis_input.hpp"
#include "audit.hpp"
#include "autonomy.hpp"
#include "outbox.hpp"
#include "settings.hpp"

#include <set>

using namespace abx;
using namespace abx::pg;

namespace {

Statement running_ab(
    "SELECT id FROM abx.experiments WHERE status = 'running' AND kind = 'ab' ORDER BY id", {});
Statement stop_variant(R"SQL(
WITH v AS (UPDATE abx.variants SET weight = 0 WHERE experiment_id = $1 AND key = $2 AND weight > 0
           RETURNING id)
-- The experiment row changes too: that is what tells every backend's cache to reload it.
UPDATE abx.experiments SET updated_at = $3 WHERE id = $1 AND EXISTS (SELECT 1 FROM v))SQL",
                       {INT8OID, TEXTOID, TIMESTAMPTZOID});

}  // namespace

ABX_SQL_FUNCTION(abx_fail_fast_check) {
    require_platform(Right::ExperimentsAdmin, "abx.fail_fast_check");
    spi_connect();
    std::uint64_t n = running_ab.run(nullptr, nullptr, false);
    std::vector<std::int64_t> ids;
    for (std::uint64_t r = 0; r < n; ++r) ids.push_back(*col_int64(r, 1));
    nlohmann::json outcomes = nlohmann::json::array();
    for (std::int64_t id : ids) {
        std::optional<SubtransactionFailure> failure = run_in_subtransaction([&] {
            AnalysisInput in = load_analysis_input(id, false);
            analysis::Analysis result = analysis::analyze(in.data, false);
            bool autonomy =
                allow_autonomy() && organization_allows_autonomy(in.experiment.organization_id);
            std::set<std::string> seen;  // a variant flagged on several metrics is decided once
            for (const analysis::FailFastFlag& flag : result.fail_fast) {
                if (!seen.insert(flag.variant).second) continue;
                bool control = false;
                double weight = 0;
                for (const StoredVariant& v : in.experiment.variants)
                    if (v.spec.key == flag.variant) {
                        control = v.spec.is_control;
                        weight = v.spec.weight;
                    }
                nlohmann::json outcome = {
                    {"experiment", in.experiment.spec.code},
                    {"organization",
                     in.organization ? nlohmann::json(*in.organization) : nlohmann::json(nullptr)},
                    {"variant", flag.variant},
                    {"metric", flag.metric},
                    {"prob_worse_than_best", flag.prob_worse_than_best},
                    {"best", flag.best}};
                std::string action = "recommended";
                if (!in.data.settings.fail_fast.auto_stop) {
                    outcome["reason"] = "analysis.fail_fast.auto_stop is off: a recommendation";
                } else if (control) {
                    outcome["reason"] = "the control is never stopped";
                } else if (weight == 0) {
                    action = "already_stopped";
                } else if (!autonomy) {
                    action = "denied";
                    outcome["reason"] =
                        "autonomy is off (abx.allow_autonomy or the organization's policy)";
                    audit_policy_denial(in, "fail_fast", outcome["reason"], {{"flag", outcome}});
                } else {
                    Args s(3);
                    s.set(0, Int64GetDatum(id)).set(1, text_datum(flag.variant));
                    s.set(2, TimestampTzGetDatum(abx_now()));
                    if (stop_variant.run(s.values(), s.nulls(), false) == 0) {
                        outcome["action"] = "already_stopped";
                        outcomes.push_back(outcome);
                        continue;
                    }
                    action = "stopped";
                    audit_experiment("experiment.fail_fast_stop", in,
                                     {{"before", {{"weight", weight}}},
                                      {"after", {{"weight", 0}}},
                                      {"flag", outcome}});
                    emit(OutboxEvent{"experiment.variant_stopped", "critical",
                                     in.experiment.organization_id, id, outcome});
                }
                outcome["action"] = action;
                outcomes.push_back(outcome);
            }
        });
        if (failure)
            outcomes.push_back({{"experiment_id", id},
                                {"action", "error"},
                                {"error_code", failure->sqlstate},
                                {"error_message", failure->message}});
    }
    spi_finish();
    return jsonb_datum(outcomes);
}
