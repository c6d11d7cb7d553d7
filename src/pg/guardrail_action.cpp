#include "guardrail_action.hpp"

#include "access.hpp"
#include "audit.hpp"
#include "autonomy.hpp"
#include "outbox.hpp"
#include "settings.hpp"

#include "abx/slo.hpp"

namespace abx::pg {
namespace {

Statement lock_experiment(R"SQL(
SELECT e.code, e.organization_id, o.key, e.status, e.promoted_variant_id IS NOT NULL
  FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
 WHERE e.id = $1 FOR UPDATE OF e)SQL",
                          {INT8OID});
Statement call_rollback("SELECT abx.rollback($1, $2, $3)", {TEXTOID, TEXTOID, TEXTOID});
Statement call_pause("SELECT abx.pause($1, $2)", {TEXTOID, TEXTOID});

void audit(const GuardedExperiment& e, const std::string& action, nlohmann::json change,
           std::optional<AuditRecord::Refusal> refused) {
    AuditRecord r;
    r.action = action;
    r.target = "experiment:" + std::to_string(e.id);
    r.organization_id = e.organization_id;
    r.experiment_id = e.id;
    r.change = std::move(change);
    r.refused = std::move(refused);
    append_audit(r);
}

}  // namespace

GuardedExperiment lock_guarded_experiment(std::int64_t experiment_id) {
    Args a(1);
    a.set(0, Int64GetDatum(experiment_id));
    if (lock_experiment.run(a.values(), a.nulls(), false, 1) == 0)
        throw Error(sqlstate::kNoDataFound,
                    "no experiment has id " + std::to_string(experiment_id));
    GuardedExperiment e;
    e.id = experiment_id;
    e.code = *col_text(0, 1);
    e.organization_id = col_int64(0, 2);
    e.organization = col_text(0, 3);
    e.status = parse_status(*col_text(0, 4));
    e.promoted = *col_bool(0, 5);
    return e;
}

GuardrailOutcome act_on_guardrail_breach(const GuardedExperiment& e, const BreachSource& source,
                                         const std::string& summary, const nlohmann::json& evidence,
                                         bool record_denial) {
    slo::Remedy remedy = slo::remedy_for(e.status, e.promoted);
    if (remedy == slo::Remedy::None)
        return {"none", "experiment \"" + e.code + "\" is " + std::string(to_string(e.status)) +
                            ": nothing to roll back or pause"};
    std::string feature = source.feature;
    nlohmann::json payload = {
        {"experiment", e.code},
        {"organization", e.organization ? nlohmann::json(*e.organization) : nullptr},
        {"source", source.name},
        {"summary", summary},
        {"remedy", slo::to_string(remedy)},
        {"evidence", evidence}};
    std::string type = source.event_type;

    std::optional<std::string> why;
    if (!allow_autonomy())
        why = "autonomy is off for the server (abx.allow_autonomy)";
    else if (!organization_allows_autonomy(e.organization_id))
        why = "autonomy is off for the organization (abx.set_autonomy)";
    if (why) {
        if (!record_denial) return {"none", "denied before: " + *why};
        nlohmann::json change = {{"feature", feature}, {"reason", *why}};
        change.update(payload);
        audit(
            e, "policy.deny", change,
            AuditRecord::Refusal{calling_role(), std::nullopt, std::nullopt, "policy", abx_now()});
        payload["action"] = "denied";
        payload["action_needed"] =
            std::string(remedy == slo::Remedy::Rollback ? "roll the promotion back: abx.rollback"
                                                        : "pause the experiment: abx.pause") +
            " (" + *why + ")";
        emit(OutboxEvent{type, "critical", e.organization_id, e.id, payload});
        return {"denied", *why};
    }

    std::string reason = source.reason_prefix + summary;
    std::optional<SubtransactionFailure> failure = run_in_subtransaction([&] {
        if (remedy == slo::Remedy::Rollback) {
            Args a(3);
            a.set(0, text_datum(e.code)).set(1, text_datum(reason)).set_or_null(2, e.organization);
            call_rollback.run(a.values(), a.nulls(), false);
        } else {
            Args a(2);
            a.set(0, text_datum(e.code)).set_or_null(1, e.organization);
            call_pause.run(a.values(), a.nulls(), false);
        }
    });
    if (failure) {
        payload["action"] = "failed";
        payload["action_needed"] =
            "the " + std::string(slo::to_string(remedy)) + " failed: " + failure->message;
        emit(OutboxEvent{type, "critical", e.organization_id, e.id, payload});
        return {"failed", failure->message};
    }
    std::string action = remedy == slo::Remedy::Rollback ? "rolled_back" : "paused";
    payload["action"] = action;
    audit(e, "experiment.guardrail_action", payload, std::nullopt);
    emit(OutboxEvent{type, "critical", e.organization_id, e.id, payload});
    return {action, ""};
}

}  // namespace abx::pg
