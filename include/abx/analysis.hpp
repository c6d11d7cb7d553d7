// Analysis of one experiment: metric definitions, per-variant results with every statistic,
// insights (recommendations, fail-fast) and the winner policy. Pure: the glue supplies sufficient
// statistics per variant and metric, and stores or returns what comes back.
#pragma once
#include "abx/core_only.hpp"
#include "abx/stats/bandit.hpp"
#include "abx/stats/bayesian.hpp"
#include "abx/stats/sequential.hpp"
#include "abx/stats/srm.hpp"
#include "abx/stats/summary.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace abx::analysis {

// ---------------------------------------------------------------------------------------------
// Metrics (the experiment spec's "metrics" document)
// ---------------------------------------------------------------------------------------------
//   {"primary":    {"key": "conversion", "kind": "rate", "event": "purchase"},
//    "secondary":  [{"key": "revenue", "kind": "sum", "event": "purchase"}],
//    "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]}
// The unit of analysis is the subject. Per-subject value x by kind:
//   count  number of `event` events of the subject; over all assigned subjects (0 without events)
//   sum    sum of the values of its `event` events; over all assigned subjects (0 without events)
//   avg    mean value of its `event` events; over subjects with at least one such event
//   rate   without denominator: 1 if it has an `event` event, else 0; over all assigned subjects
//          with "denominator": over subjects with a denominator event: 1 if they also have an
//          `event` (numerator) event, else 0
// Rates are analysed as proportions, the other kinds as means.
enum class MetricKind { Count, Sum, Avg, Rate };
enum class MetricRole { Primary, Secondary, Guardrail };
std::string_view to_string(MetricKind kind);
std::string_view to_string(MetricRole role);

struct MetricSpec {
    std::string key;  // [A-Za-z0-9_.-]{1,64}, unique within the experiment
    MetricKind kind = MetricKind::Rate;
    std::string event;        // the event key (the numerator for rates)
    std::string denominator;  // rates only; empty: conversion over assigned subjects
    stats::Better better = stats::Better::Higher;  // "objective": "maximize" | "minimize"
    MetricRole role = MetricRole::Primary;
};

// Parses and validates the "metrics" document ({} or null: no metrics). At most one primary; any
// number of secondary and guardrail metrics (total <= 50). A missing "event" defaults to "key" and
// a missing "key" to the event (seed 004 style; docs/statistics.md §6.1). Throws Error naming the
// path, e.g. 22023 "invalid metrics.secondary[1].kind: must be one of count, sum, avg, rate"; the
// codes follow error.hpp's rule (22P02 wrong JSON type, 22004 "kind": null, 22023 other values).
std::vector<MetricSpec> parse_metrics(const nlohmann::json& metrics);

// ---------------------------------------------------------------------------------------------
// Analysis settings (the experiment spec's "analysis" document, all optional)
// ---------------------------------------------------------------------------------------------
//   {"confidence": 0.95, "srm_threshold": 0.001, "prior": {"alpha": 1, "beta": 1},
//    "sequential": {"alpha": 0.05, "planned_subjects_per_arm": 10000, "tau": 0.02},
//    "fail_fast": {"threshold": 0.95, "min_samples": 100, "auto_stop": false},
//    "bandit": {"min_share": 0.05, "min_samples": 100, "draws": 10000, "seed": 0}}
// Accepted ranges (a number outside is 22003, a value of the wrong JSON type 22P02):
//   confidence, srm_threshold, sequential.alpha, fail_fast.threshold   in (0, 1)
//   prior.alpha, prior.beta, sequential.tau                              finite, > 0
//   sequential.planned_subjects_per_arm                                  finite, >= 1
//   fail_fast.min_samples, bandit.min_samples                            finite, >= 0
//   bandit.min_share     in [0, 0.5], and at most 1 / number of variants (checked by the spec)
//   bandit.draws         integer in [1, 10^7]
//   bandit.seed          integer in [0, 2^64)
struct FailFastSettings {
    double threshold = 0.95;   // flag when P(worse than the best arm) exceeds this ...
    double min_samples = 100;  // ... and every arm has at least this many subjects
    bool auto_stop = false;    // opt-in: the fail-fast job stops assigning a flagged variant
};
struct AnalysisSettings {
    double confidence = 0.95;
    double srm_threshold = 0.001;
    stats::BetaPrior prior;
    stats::SequentialOptions sequential;
    FailFastSettings fail_fast;
    stats::AllocationConfig bandit;  // Thompson-sampling allocation of bandit experiments
};
AnalysisSettings parse_settings(const nlohmann::json& analysis);  // Error naming the path

// ---------------------------------------------------------------------------------------------
// Input and results
// ---------------------------------------------------------------------------------------------
struct VariantData {
    std::string key;
    bool is_control = false;
    double weight = 1;
    std::int64_t assigned = 0;            // subjects assigned to this variant
    std::vector<stats::Summary> metrics;  // one per MetricSpec, in the same order
};

// The running state of the sequential test of one (treatment, metric): each abx.aggregate() run is
// one look; the always-valid p-value is the running minimum, the interval the running intersection.
struct SequentialMemory {
    std::int64_t looks = 0;
    double p_value = 1.0;
    double lower = -std::numeric_limits<double>::infinity();
    double upper = std::numeric_limits<double>::infinity();
    // Guardrail metrics only: the one-sided test for harm (stats::HarmState), its own looks.
    std::int64_t harm_looks = 0;
    double harm_p_value = 1.0;
    double harm_lower = -std::numeric_limits<double>::infinity();
};

struct ExperimentData {
    std::vector<MetricSpec> metrics;
    std::vector<VariantData> variants;  // exactly one is_control
    AnalysisSettings settings;
    // A bandit: Thompson sampling moves traffic away from the weights on purpose, so a sample
    // ratio test against them would always "fail"; SRM is then not applicable.
    bool adaptive_allocation = false;
    // Previous sequential memory per [variant][metric] (same shape as variants × metrics); empty
    // means no previous look.
    std::vector<std::vector<SequentialMemory>> sequential;
};

struct MetricResult {
    std::string variant;
    bool is_control = false;
    std::string metric;
    MetricKind kind = MetricKind::Rate;
    MetricRole role = MetricRole::Primary;
    double n = 0;     // subjects in the analysis of this metric
    double mean = 0;  // rate for rates
    double sd = 0;
    double mean_lower = NAN, mean_upper = NAN;  // interval of the mean itself (Wilson / t)
    // Against the control (NaN on the control row, and where undefined):
    double abs_lift = NAN, abs_lift_lower = NAN, abs_lift_upper = NAN;  // treatment - control
    double rel_lift = NAN, rel_lift_lower = NAN, rel_lift_upper = NAN;  // treatment / control - 1
    double p_value = NAN;       // z-test (rates) or Welch t-test (means), two-sided
    double p_value_holm = NAN;  // Holm-adjusted across treatments × primary/secondary metrics
    double seq_p_value = NAN;   // always-valid (mSPRT), running minimum over looks
    double seq_lower = NAN, seq_upper = NAN;  // always-valid interval of abs_lift
    double chance_to_beat_control = NAN;
    double expected_loss = NAN;  // risk of choosing this variant over the control, metric units
    double prob_best = NAN;      // among all variants (defined for the control row too)
    // Guardrail rows of treatments: the one-sided always-valid test for harm (harm = the
    // difference in the harmful direction, in metric units); failed = its lower bound is above 0.
    double harm_p_value = NAN;
    double harm_lower = NAN;
    bool guardrail_failed = false;
    std::string note;  // why something is undefined, empty otherwise
};

struct FailFastFlag {
    std::string variant;
    std::string metric;
    double prob_worse_than_best = 0;
    std::string best;  // the reference arm (highest prob_best) it is compared with
};

// A guardrail metric on which a treatment has shown harm (the always-valid one-sided test).
struct GuardrailFailure {
    std::string variant;
    std::string metric;
    double harm_lower = 0;  // always-valid lower bound of the harm, metric units (> 0)
    double p_value = 0;     // always-valid one-sided p-value
};

struct Analysis {
    std::vector<MetricResult> rows;  // variant-major: for each variant, each metric
    stats::SrmResult srm;
    std::vector<FailFastFlag> fail_fast;
    std::vector<GuardrailFailure> guardrail_failures;  // treatments harmed on a guardrail
    // New sequential memory per [variant][metric], to be stored by the glue after a look.
    std::vector<std::vector<SequentialMemory>> sequential;
};

// Computes everything. `look` = true advances the sequential memory (an aggregation run); false
// reports with the stored memory (and the current look's values folded in, without storing).
Analysis analyze(const ExperimentData& data, bool look);

// JSON of one row (every field, NaN as null, note null when empty) and of a whole analysis:
// {"rows": [...], "srm": {"mismatch", "p_value", "observed": {variant: n}, ...},
//  "fail_fast": [{"variant", "metric", "prob_worse_than_best", "best"}]}.
nlohmann::json to_json(const MetricResult& row);
nlohmann::json to_json(const Analysis& analysis, const ExperimentData& data);

// Structured recommendations plus one line of text (seed 002):
//   {"leader": {"variant": "green", "metric": "conversion", "rate": 0.0847, "lower": .., "upper":
//   ..},
//    "recommendation": "Variant 'green' is currently leading with 8.47% conversion (95%
//    CI 7.12%–9.82%)", "significant": [...], "fail_fast": [...], "srm": {...}, "warnings": [...]}
// See docs/statistics.md §6.3.
nlohmann::json insights(const ExperimentData& data, const Analysis& analysis);

// ---------------------------------------------------------------------------------------------
// Winner policy (the experiment spec's "winner_policy"), evaluation only
// ---------------------------------------------------------------------------------------------
//   {"mode": "manual" | "automatic", "pick_after_hours": 48 (min runtime), "min_assignments": 1000
//    (per variant), "min_exposures": 0 (exposed subjects per variant, see WinnerContext),
//    "exposure_event": "view", "min_conversions": 0,
//    "override_variant": null, "confidence": 0.95, "min_improvement": 0.05 (relative),
//    "max_error_rate": 0.05, "error_metric": "errors", "latency_metric": "latency",
//    "require_manual_approval": false}
// Accepted ranges (a number outside is 22003, a value of the wrong JSON type 22P02, a non-integer
// where an integer belongs 22P02):
//   pick_after_hours                                   finite, >= 0
//   min_assignments, min_exposures, min_conversions    integers in [0, 2^63)
//   confidence                                         in (0, 1)
//   min_improvement                                    finite, >= 0
//   max_error_rate                                     in [0, 1]
struct WinnerPolicy {
    bool automatic = false;
    double min_runtime_hours = 48;
    std::int64_t min_assignments = 1000;
    std::int64_t min_exposures = 0;
    std::string exposure_event;
    std::int64_t min_conversions = 0;
    std::optional<std::string> override_variant;
    double confidence = 0.95;
    double min_improvement = 0.05;
    double max_error_rate = 0.05;
    std::string error_metric;
    std::string latency_metric;
    bool require_manual_approval = false;
};
// Error naming the path. Fields the policy leaves out take `defaults` (the server's settings).
WinnerPolicy parse_winner_policy(const nlohmann::json& policy,
                                 const WinnerPolicy& defaults = WinnerPolicy{});

// Cross-checks a policy against the experiment's metrics (for create/update): error_metric must
// name a rate metric, latency_metric a count/sum/avg metric. Error 22023 naming
// winner_policy.error_metric / winner_policy.latency_metric. evaluate_winner does not throw for
// these: it fails the error-rate check (or skips the latency warning) and says why.
void validate_winner_policy(const WinnerPolicy& policy, const std::vector<MetricSpec>& metrics);

struct WinnerContext {
    double runtime_hours = 0;  // since the experiment started (abx.now() - started_at)
    // Exposed subjects per variant (same order as ExperimentData::variants): the number of
    // distinct subjects of the variant with at least one event of the policy's exposure_event.
    // Subjects, not events: a subject who saw the page ten times is one exposed subject. Only
    // read when min_exposures > 0; empty means "not supplied" (the check is then not evaluable).
    std::vector<std::int64_t> exposed_subjects;
};

// The status of one safety check.
inline constexpr const char* kCheckPassed = "passed";
inline constexpr const char* kCheckFailed = "failed";
// The policy does not ask for it (min_assignments, min_exposures, min_conversions,
// pick_after_hours or min_improvement 0, no error_metric), or it does not apply (min_conversions
// on a sum metric). It does not block eligibility.
inline constexpr const char* kCheckNotConfigured = "not_configured";
// It cannot be computed yet: SRM without a testable allocation (no assignments, fewer than two
// arms with a weight), an undefined sequential test or relative lift, no subject of the candidate
// on the error metric, exposed-subject counts not supplied. It blocks eligibility, like a failure:
// an automatic pick must not rest on a check nobody could make.
inline constexpr const char* kCheckNotEvaluable = "not_evaluable";

struct SafetyCheck {
    std::string name;     // min_sample_size, min_confidence, min_improvement, min_runtime,
                          // error_rate_acceptable, srm_clean, guardrails_clean, min_exposures,
                          // min_conversions;
                          // with override_variant only: override_variant
    std::string status;   // kCheckPassed, kCheckFailed, kCheckNotConfigured, kCheckNotEvaluable
    bool passed = false;  // status is passed or not_configured: the check does not block
    std::string detail;
};

struct WinnerEvaluation {
    bool eligible = false;
    std::optional<std::string> winner;  // the best treatment by the primary metric, if any
    std::string control;
    double confidence = NAN;   // 1 - always-valid p-value of the winner on the primary metric
    double improvement = NAN;  // relative lift of the winner on the primary metric
    double sample_size = 0;    // subjects in winner + control
    std::vector<SafetyCheck> checks;
    std::vector<std::string> reasons;  // why (not) eligible, in words
    std::vector<std::string>
        warnings;  // higher error rate than control, +20 % latency, small sample
    nlohmann::json to_json() const;
};

// Applies the policy to an analysis. An override_variant skips the statistics but not the
// validation that it exists; without a primary metric nothing is eligible. Eligible means: a
// candidate exists and every check passed or is not configured. to_json() gives each check as
// {"passed", "status", "detail"}.
WinnerEvaluation evaluate_winner(const WinnerPolicy& policy, const ExperimentData& data,
                                 const Analysis& analysis, const WinnerContext& context);

}  // namespace abx::analysis
