// The JSON specification of an experiment and its variants, as accepted by abx.create_experiment
// and abx.update_experiment. Validation lives here; the glue only stores what this returns.
#pragma once
#include "abx/core_only.hpp"
#include "abx/lifecycle.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace abx {

struct VariantSpec {
    std::string key;    // [A-Za-z0-9_.-]{1,64}, unique within the experiment
    std::string name;   // defaults to key
    double weight = 1;  // a number in [0, kMaxVariantWeight]; 0 = no new subjects
    nlohmann::json config = nlohmann::json::object();  // any JSON object
    bool is_control = false;                           // exactly one variant is the control
};

// Weights are relative; the cap keeps the total of 100 variants (<= 1e8) exact enough in a double
// for the bucket boundaries of docs/assignment.md.
inline constexpr double kMaxVariantWeight = 1e6;

// AB: fixed weights. Bandit: Thompson sampling re-weights the arms by the primary metric, which
// therefore must exist and be of kind rate.
enum class ExperimentKind { AB, Bandit };
std::string_view to_string(ExperimentKind kind);

struct ExperimentSpec {
    std::string code;         // [A-Za-z0-9_.-]{1,128}
    std::string name;         // defaults to code
    std::string description;  // may be empty
    ExperimentKind kind = ExperimentKind::AB;
    nlohmann::json targeting = nlohmann::json::object();  // validated by Targeting::compile
    double coverage = 1.0;              // share of subjects that enter the experiment, in (0, 1]
    std::string salt;                   // empty: the glue generates a random one
    std::vector<VariantSpec> variants;  // 2..100 variants, total weight > 0
    // Analysis settings kept as given for later stages (metrics, winner policy, guardrails).
    nlohmann::json metrics = nlohmann::json::object();
    nlohmann::json winner_policy = nlohmann::json::object();
    nlohmann::json analysis = nlohmann::json::object();  // confidence, sequential tuning, priors

    std::size_t control_index() const;
};

// Parses and validates a creation spec. Unknown keys are rejected (a typo must not pass silently).
// Throws Error whose message names the field, with error.hpp's codes:
//   22P02 a JSON value of the wrong type ({"code": 42}, "weight": "50", a spec that is not an
//   object) 22003 a number out of range (weight, coverage, analysis settings, winner policy), or
//   one that
//         did not fit a double anywhere in the document ("number is out of range for double
//         precision", by path)
//   22004 JSON null for a required field (code, variants, variants[i].key)
//   22023 anything else (pattern, length, unknown field, duplicate key, a bandit without a primary
//         rate metric, a zero total weight)
ExperimentSpec parse_experiment_spec(const nlohmann::json& spec);

// Applies a partial update to an existing experiment in `status` and returns the new spec.
// - draft: any field may change, variants may be replaced wholesale;
// - running / paused: name, description, targeting, coverage, and for existing variants name,
// weight
//   and config may change, and new variants may be added; removing a variant, changing the control,
//   the kind, the code or the salt is refused (Error 55000), since it would break stored
//   assignments;
// - completed / archived: nothing may change (Error 55000).
// Variants in a patch are matched to existing ones by key. A patch that is not an object is 22P02;
// field errors are reported as for parse_experiment_spec, variant paths by the patch's own index.
ExperimentSpec apply_update(const ExperimentSpec& current, Status status,
                            const nlohmann::json& patch);

// Serialises a spec back to the JSON shape parse_experiment_spec accepts (round trip).
nlohmann::json to_json(const ExperimentSpec& spec);

}  // namespace abx
