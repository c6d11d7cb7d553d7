// What a guardrail breach does (SLO guardrails on Prometheus, in-database guardrail metrics):
// under the autonomy gate, roll back a promoted experiment or pause a running one,
// audited with the evidence and announced as critical; without autonomy, a policy denial and a
// critical "action needed" notification instead.
#pragma once
#include "spi.hpp"

#include "abx/lifecycle.hpp"

namespace abx::pg {

struct GuardedExperiment {
    std::int64_t id = 0;
    std::string code;
    std::optional<std::int64_t> organization_id;
    std::optional<std::string> organization;  // its key; nullopt: a global experiment
    Status status = Status::Draft;
    bool promoted = false;
};

// The experiment's row, locked FOR UPDATE (P0002 without one). Inside spi_connect.
GuardedExperiment lock_guarded_experiment(std::int64_t experiment_id);

// Who found the breach: its name in payloads, the feature a policy denial names, the outbox event
// type, and how a rollback reason starts.
struct BreachSource {
    const char* name;
    const char* feature;
    const char* event_type;
    const char* reason_prefix;
};
inline constexpr BreachSource kSloBreach{"slo", "slo_guardrail", "experiment.slo_breached",
                                         "slo guardrail: "};
inline constexpr BreachSource kGuardrailMetricBreach{
    "guardrail_metric", "guardrail_metric", "experiment.guardrail_failed", "guardrail metric: "};

struct GuardrailOutcome {
    // rolled_back | paused | denied | failed | none (nothing to do in the experiment's state, or
    // a denial already recorded for this breach)
    std::string action;
    std::string message;
};

// Acts on a breach found by `source`: `summary` says what breached in words,
// `evidence` the values, thresholds and where they came from. The action runs in a
// subtransaction (a failure is reported as data: action "failed", notified as critical).
// A denial is audited and notified only when `record_denial` (once per breach, not per check).
// Inside spi_connect, in the caller's transaction (the audit entries and outbox rows commit with
// the observation that triggered them).
GuardrailOutcome act_on_guardrail_breach(const GuardedExperiment& experiment,
                                         const BreachSource& source, const std::string& summary,
                                         const nlohmann::json& evidence, bool record_denial);

}  // namespace abx::pg
