// The winner policy: parsing, and its evaluation against an analysis (no side effects).
//
// Decisions (also in docs/statistics.md, "Analysis pipeline, insights and winner policy"):
// - Candidate: among treatments that improve on the control in the primary metric's objective
//   direction (abs_lift > 0 for maximize, < 0 for minimize), the one with the highest chance to
//   beat the control (ties: the larger improvement, then variant order). No candidate: nothing is
//   eligible.
// - confidence = 1 - the always-valid (sequential) p-value, never the fixed-horizon one: the
//   policy is evaluated again and again, which is exactly the peeking mSPRT is made for.
// - improvement = the relative lift (treatment / control - 1) as in the analysis; the check
//   orients it: maximize needs rel_lift >= min_improvement, minimize needs -rel_lift >= it.
// - Per-variant minimums (min_assignments, min_exposures, min_conversions) apply to every variant
//   with a positive weight, and always to the control and the candidate.
// - conversions on the primary metric: rate -> converted subjects (sum); avg -> subjects with an
//   event (n); count -> events (sum); sum -> not applicable (not_configured, and says so).
// - min_exposures compares exposed subjects (distinct subjects with an exposure_event event,
//   supplied by the glue in WinnerContext), never raw event counts.
// - error_rate_acceptable: the candidate's rate on error_metric <= max_error_rate; without an
//   error_metric the check is not_configured; an error_metric that is not a rate metric of the
//   experiment fails the check (validate_winner_policy refuses it up front).
// - Statuses (analysis.hpp): a threshold at its neutral value (0, or no error_metric) makes its
//   check not_configured, which does not block; a check that cannot be computed yet is
//   not_evaluable, which blocks like a failure. So srm_clean fails on a mismatch and is
//   not_evaluable while the SRM test is undefined (no assignments yet, fewer than two arms with a
//   weight): an automatic pick never happens without a sample-ratio check.
// - guardrails_clean: the candidate has failed no guardrail metric (the one-sided always-valid
//   test for harm, analyze.cpp); no guardrail metrics -> not_configured. A guardrail whose test is
//   undefined (no variation yet, e.g. no error at all) shows no harm and does not block.
// - override_variant skips every statistical check: the only check is that the variant exists.
//   Warnings are still computed for it.
// - Warnings (never block): winner's error rate above the control's, winner's latency_metric mean
//   >= 1.2 × the control's, winner or control with fewer than 1000 assignments.
#include "abx/analysis.hpp"
#include "abx/error.hpp"
#include "internal.hpp"
#include "json_fields.hpp"

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

namespace abx::analysis {

using nlohmann::json;
using namespace detail;

namespace {

constexpr double kLatencyWarningRatio = 1.2;
constexpr std::int64_t kSmallSamplePerArm = 1000;

std::string pct(double share, int decimals = 1) {
    return format_percent(share, decimals);
}

std::string integer_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

std::optional<std::size_t> metric_index(const std::vector<MetricSpec>& metrics,
                                        const std::string& key) {
    for (std::size_t i = 0; i < metrics.size(); ++i)
        if (metrics[i].key == key) return i;
    return std::nullopt;
}

std::optional<std::size_t> variant_index(const ExperimentData& data, const std::string& key) {
    for (std::size_t i = 0; i < data.variants.size(); ++i)
        if (data.variants[i].key == key) return i;
    return std::nullopt;
}

double oriented(double v, stats::Better better) {
    return better == stats::Better::Higher ? v : -v;
}

struct Evaluator {
    const WinnerPolicy& policy;
    const ExperimentData& data;
    const Analysis& analysis;
    const WinnerContext& context;
    std::size_t ci = 0;
    std::size_t n_met = 0;
    std::optional<std::size_t> pm;
    std::optional<std::size_t> cand;
    WinnerEvaluation ev;

    const MetricResult& at(std::size_t v, std::size_t m) const {
        return row(analysis, n_met, v, m);
    }

    void add(const std::string& name, const char* status, const std::string& detail) {
        const std::string s = status;
        ev.checks.push_back({name, s, s == kCheckPassed || s == kCheckNotConfigured, detail});
    }
    void add(const std::string& name, bool passed, const std::string& detail) {
        add(name, passed ? kCheckPassed : kCheckFailed, detail);
    }

    // Variants the per-variant minimums apply to.
    std::vector<std::size_t> considered() const {
        std::vector<std::size_t> out;
        for (std::size_t v = 0; v < data.variants.size(); ++v)
            if (data.variants[v].weight > 0 || v == ci || (cand && v == *cand)) out.push_back(v);
        return out;
    }

    // "every variant has >= N <what>" or the first variant below.
    void per_variant_min(const std::string& name, const std::string& what, double min,
                         const std::function<double(std::size_t)>& value) {
        std::optional<std::size_t> lowest;
        for (std::size_t v : considered()) {
            if (!lowest || value(v) < value(*lowest)) lowest = v;
        }
        if (!lowest) {
            add(name, false, "no variant to check");
            return;
        }
        const double low = value(*lowest);
        const std::string key = data.variants[*lowest].key;
        if (low >= min)
            add(name, true,
                "every variant has at least " + integer_text(min) + " " + what + " (fewest: '" +
                    key + "' with " + integer_text(low) + ")");
        else
            add(name, false,
                "variant '" + key + "' has " + integer_text(low) + " " + what + ", fewer than " +
                    integer_text(min));
    }

    void pick_candidate() {
        if (!pm) return;
        const stats::Better better = data.metrics[*pm].better;
        double best = -1;
        for (std::size_t v = 0; v < data.variants.size(); ++v) {
            if (v == ci) continue;
            const MetricResult& r = at(v, *pm);
            if (!(oriented(r.abs_lift, better) > 0) || !std::isfinite(r.chance_to_beat_control))
                continue;
            // Ties (both chances rounded to 1, say) go to the larger improvement.
            if (!cand || r.chance_to_beat_control > best ||
                (r.chance_to_beat_control == best &&
                 oriented(r.abs_lift, better) > oriented(at(*cand, *pm).abs_lift, better))) {
                cand = v;
                best = r.chance_to_beat_control;
            }
        }
    }

    std::string no_candidate_detail() const {
        if (!pm) return "no primary metric is defined";
        return "no treatment improves on the control on '" + data.metrics[*pm].key + "'";
    }

    void fill_figures(std::size_t w) {
        ev.winner = data.variants[w].key;
        if (pm) {
            const MetricResult& r = at(w, *pm);
            if (w != ci) {
                ev.confidence = 1 - r.seq_p_value;
                ev.improvement = r.rel_lift;
            }
            ev.sample_size = (w == ci ? 0 : r.n) + at(ci, *pm).n;
        } else {
            ev.sample_size = static_cast<double>(data.variants[w].assigned) +
                             (w == ci ? 0 : static_cast<double>(data.variants[ci].assigned));
        }
    }

    void check_confidence() {
        if (!cand) return add("min_confidence", false, no_candidate_detail());
        if (!std::isfinite(ev.confidence))
            return add("min_confidence", kCheckNotEvaluable,
                       "the sequential test is not defined yet for '" + *ev.winner + "'");
        const bool ok = ev.confidence >= policy.confidence;
        add("min_confidence", ok,
            "sequential (always-valid) confidence " + pct(ev.confidence, 2) +
                (ok ? " >= " : " < ") + pct(policy.confidence, 2));
    }

    void check_improvement() {
        if (!cand) return add("min_improvement", false, no_candidate_detail());
        if (policy.min_improvement == 0)
            return add("min_improvement", kCheckNotConfigured,
                       "not required (min_improvement is 0): any improvement counts");
        const stats::Better better = data.metrics[*pm].better;
        if (!std::isfinite(ev.improvement))
            return add("min_improvement", kCheckNotEvaluable,
                       "the relative lift is undefined (the control's value is 0)");
        const double gain = oriented(ev.improvement, better);
        const bool ok = gain >= policy.min_improvement;
        add("min_improvement", ok,
            "improvement " + pct(gain, 2) +
                (better == stats::Better::Lower ? " (reduction, lower is better)" : "") +
                (ok ? " >= " : " < ") + pct(policy.min_improvement, 2));
    }

    void check_runtime() {
        if (policy.min_runtime_hours == 0)
            return add("min_runtime", kCheckNotConfigured, "not required (pick_after_hours is 0)");
        char buf[128];
        const bool ok = context.runtime_hours >= policy.min_runtime_hours;
        std::snprintf(buf, sizeof buf, "running for %.1f h %s %.1f h", context.runtime_hours,
                      ok ? ">=" : "<", policy.min_runtime_hours);
        add("min_runtime", ok, buf);
    }

    void check_error_rate() {
        if (policy.error_metric.empty())
            return add("error_rate_acceptable", kCheckNotConfigured,
                       "no error_metric configured: not checked");
        const auto em = metric_index(data.metrics, policy.error_metric);
        if (!em || data.metrics[*em].kind != MetricKind::Rate)
            return add("error_rate_acceptable", false,
                       "error_metric '" + policy.error_metric +
                           "' is not a rate metric of this experiment");
        if (!cand) return add("error_rate_acceptable", false, no_candidate_detail());
        const double rate = at(*cand, *em).mean;
        if (!std::isfinite(rate))
            return add("error_rate_acceptable", kCheckNotEvaluable,
                       "no subjects of '" + *ev.winner + "' on '" + policy.error_metric + "' yet");
        const bool ok = rate <= policy.max_error_rate;
        add("error_rate_acceptable", ok,
            "error rate of '" + *ev.winner + "' on '" + policy.error_metric + "' is " +
                pct(rate, 2) + (ok ? " <= " : " > ") + pct(policy.max_error_rate, 2));
    }

    void check_srm() {
        const stats::SrmResult& s = analysis.srm;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3g", s.p_value);
        if (s.mismatch)
            return add("srm_clean", false,
                       "sample ratio mismatch" +
                           (s.defined ? " (p = " + std::string(buf) + ")" : std::string()) +
                           (s.unexpected > 0 ? ": " + s.reason : std::string()));
        if (!s.applicable) return add("srm_clean", kCheckNotConfigured, s.reason);
        if (!s.defined)
            return add("srm_clean", kCheckNotEvaluable,
                       "not testable yet" + (s.reason.empty() ? "" : ": " + s.reason));
        add("srm_clean", true, "no sample ratio mismatch (p = " + std::string(buf) + ")");
    }

    void check_guardrails() {
        std::vector<std::size_t> guardrails;
        for (std::size_t m = 0; m < n_met; ++m)
            if (data.metrics[m].role == MetricRole::Guardrail) guardrails.push_back(m);
        if (guardrails.empty())
            return add("guardrails_clean", kCheckNotConfigured, "no guardrail metrics defined");
        if (!cand) return add("guardrails_clean", false, no_candidate_detail());
        std::string failed;
        for (std::size_t m : guardrails)
            if (at(*cand, m).guardrail_failed)
                failed += (failed.empty() ? "'" : ", '") + data.metrics[m].key + "'";
        if (!failed.empty())
            return add("guardrails_clean", false,
                       "'" + *ev.winner + "' failed guardrail " + failed +
                           " (always-valid one-sided test for harm)");
        add("guardrails_clean", true,
            "no harm shown on " + std::to_string(guardrails.size()) + " guardrail metric" +
                (guardrails.size() == 1 ? "" : "s") + " for '" + *ev.winner + "'");
    }

    void check_exposures() {
        if (policy.min_exposures == 0)
            return add("min_exposures", kCheckNotConfigured, "not required (min_exposures is 0)");
        if (context.exposed_subjects.size() != data.variants.size())
            return add("min_exposures", kCheckNotEvaluable,
                       "exposed subjects of '" + policy.exposure_event + "' were not supplied");
        per_variant_min(
            "min_exposures", "exposed subjects", static_cast<double>(policy.min_exposures),
            [&](std::size_t v) { return static_cast<double>(context.exposed_subjects[v]); });
    }

    void check_conversions() {
        if (policy.min_conversions == 0)
            return add("min_conversions", kCheckNotConfigured,
                       "not required (min_conversions is 0)");
        if (!pm) return add("min_conversions", false, "no primary metric is defined");
        const MetricKind kind = data.metrics[*pm].kind;
        if (kind == MetricKind::Sum)
            return add("min_conversions", kCheckNotConfigured,
                       "not applicable: the primary metric is a sum (no conversion count)");
        per_variant_min("min_conversions",
                        kind == MetricKind::Count ? "events" : "converted subjects",
                        static_cast<double>(policy.min_conversions), [&](std::size_t v) {
                            const stats::Summary& s = data.variants[v].metrics[*pm];
                            return kind == MetricKind::Avg ? s.n : s.sum;
                        });
    }

    void warnings(std::size_t w) {
        if (w == ci) return;
        const std::string& name = data.variants[w].key;
        if (!policy.error_metric.empty()) {
            const auto em = metric_index(data.metrics, policy.error_metric);
            if (em && data.metrics[*em].kind == MetricKind::Rate) {
                const double wr = at(w, *em).mean, cr = at(ci, *em).mean;
                if (wr > cr)
                    ev.warnings.push_back("winner '" + name +
                                          "' has a higher error rate than the "
                                          "control on '" +
                                          policy.error_metric + "' (" + pct(wr, 2) + " vs " +
                                          pct(cr, 2) + ")");
            }
        }
        if (!policy.latency_metric.empty()) {
            const auto lm = metric_index(data.metrics, policy.latency_metric);
            if (!lm) {
                ev.warnings.push_back("latency_metric '" + policy.latency_metric +
                                      "' is not a metric of this experiment: latency not checked");
            } else {
                const double wl = at(w, *lm).mean, cl = at(ci, *lm).mean;
                if (cl > 0 && wl >= kLatencyWarningRatio * cl)
                    ev.warnings.push_back("winner '" + name + "' has " + pct(wl / cl - 1) +
                                          " higher latency than the control on '" +
                                          policy.latency_metric + "' (" + format_value(wl) +
                                          " vs " + format_value(cl) + ")");
            }
        }
        for (std::size_t v : {w, ci}) {
            if (data.variants[v].assigned < kSmallSamplePerArm)
                ev.warnings.push_back("small sample: '" + data.variants[v].key + "' has " +
                                      std::to_string(data.variants[v].assigned) +
                                      " assignments (fewer than " +
                                      std::to_string(kSmallSamplePerArm) + " per arm)");
        }
    }

    WinnerEvaluation run() {
        ci = validate_data(data);
        n_met = data.metrics.size();
        if (analysis.rows.size() != data.variants.size() * n_met)
            invalid_field("analysis.rows", "does not match the experiment's variants × metrics");
        pm = primary_index(data.metrics);
        ev.control = data.variants[ci].key;

        if (policy.override_variant) {
            const auto w = variant_index(data, *policy.override_variant);
            add("override_variant", w.has_value(),
                w ? "override_variant '" + *policy.override_variant +
                        "' is set: the statistical checks are skipped"
                  : "override_variant '" + *policy.override_variant +
                        "' is not a variant of this experiment");
            if (w) {
                fill_figures(*w);
                warnings(*w);
            }
            ev.eligible = w.has_value();
            ev.reasons.push_back(ev.checks.back().detail);
            return std::move(ev);
        }

        pick_candidate();
        if (cand)
            fill_figures(*cand);
        else if (pm)
            ev.sample_size = at(ci, *pm).n;

        if (policy.min_assignments == 0)
            add("min_sample_size", kCheckNotConfigured, "not required (min_assignments is 0)");
        else
            per_variant_min(
                "min_sample_size", "assignments", static_cast<double>(policy.min_assignments),
                [&](std::size_t v) { return static_cast<double>(data.variants[v].assigned); });
        check_confidence();
        check_improvement();
        check_runtime();
        check_error_rate();
        check_srm();
        check_guardrails();
        check_exposures();
        check_conversions();

        bool all = true;
        for (const auto& c : ev.checks) all = all && c.passed;
        ev.eligible = cand.has_value() && all;
        if (!cand) ev.reasons.push_back(no_candidate_detail());
        if (ev.eligible) {
            ev.reasons.push_back("all safety checks passed: '" + *ev.winner + "' beats '" +
                                 ev.control + "' on '" + data.metrics[*pm].key +
                                 "' (relative lift " + pct(ev.improvement, 2) +
                                 ", sequential confidence " + pct(ev.confidence, 2) + ")");
            if (!policy.automatic || policy.require_manual_approval)
                ev.reasons.push_back(
                    "promotion needs a person: the policy is manual or requires approval");
        } else {
            for (const auto& c : ev.checks)
                if (!c.passed) ev.reasons.push_back(c.name + ": " + c.detail);
        }
        if (cand) warnings(*cand);
        return std::move(ev);
    }
};

}  // namespace

WinnerPolicy parse_winner_policy(const json& policy, const WinnerPolicy& defaults) {
    WinnerPolicy p = defaults;
    if (policy.is_null()) return p;
    object_value(policy, "winner_policy");
    reject_unknown(
        policy,
        {"mode", "pick_after_hours", "min_assignments", "min_exposures", "exposure_event",
         "min_conversions", "override_variant", "confidence", "min_improvement", "max_error_rate",
         "error_metric", "latency_metric", "require_manual_approval"},
        "winner_policy.");
    const std::string base = "winner_policy.";
    if (const json* v = field(policy, "mode")) {
        const std::string& s = string_value(*v, base + "mode");
        if (s == "manual")
            p.automatic = false;
        else if (s == "automatic")
            p.automatic = true;
        else
            invalid_field(base + "mode", "must be \"manual\" or \"automatic\"");
    }
    if (const json* v = field(policy, "pick_after_hours")) {
        p.min_runtime_hours = number_value(*v, base + "pick_after_hours");
        if (p.min_runtime_hours < 0) out_of_range(base + "pick_after_hours", "must be >= 0");
    }
    if (const json* v = field(policy, "min_assignments"))
        p.min_assignments = integer_value(*v, base + "min_assignments", 0);
    if (const json* v = field(policy, "min_exposures"))
        p.min_exposures = integer_value(*v, base + "min_exposures", 0);
    if (const json* v = field(policy, "exposure_event")) {
        p.exposure_event = string_value(*v, base + "exposure_event");
        if (!is_event_key(p.exposure_event))
            invalid_field(base + "exposure_event", "must match [A-Za-z0-9_.:-]{1,64}");
    }
    if (p.min_exposures > 0 && p.exposure_event.empty())
        invalid_field(base + "exposure_event", "is required when min_exposures > 0");
    if (const json* v = field(policy, "min_conversions"))
        p.min_conversions = integer_value(*v, base + "min_conversions", 0);
    if (const json* v = field(policy, "override_variant")) {
        const std::string& s = string_value(*v, base + "override_variant");
        if (!is_metric_key(s))
            invalid_field(base + "override_variant", "must match [A-Za-z0-9_.-]{1,64}");
        p.override_variant = s;
    }
    if (const json* v = field(policy, "confidence"))
        p.confidence = open_unit_value(*v, base + "confidence");
    if (const json* v = field(policy, "min_improvement")) {
        p.min_improvement = number_value(*v, base + "min_improvement");
        if (p.min_improvement < 0)
            out_of_range(base + "min_improvement", "must be >= 0 (a relative lift, 0.05 = 5%)");
    }
    if (const json* v = field(policy, "max_error_rate")) {
        p.max_error_rate = number_value(*v, base + "max_error_rate");
        if (p.max_error_rate < 0 || p.max_error_rate > 1)
            out_of_range(base + "max_error_rate", "must be between 0 and 1");
    }
    for (auto [key, out] : {std::pair{"error_metric", &p.error_metric},
                            std::pair{"latency_metric", &p.latency_metric}}) {
        if (const json* v = field(policy, key)) {
            *out = string_value(*v, base + key);
            if (!is_metric_key(*out)) invalid_field(base + key, "must match [A-Za-z0-9_.-]{1,64}");
        }
    }
    if (const json* v = field(policy, "require_manual_approval"))
        p.require_manual_approval = bool_value(*v, base + "require_manual_approval");
    return p;
}

void validate_winner_policy(const WinnerPolicy& policy, const std::vector<MetricSpec>& metrics) {
    if (!policy.error_metric.empty()) {
        const auto i = metric_index(metrics, policy.error_metric);
        if (!i)
            invalid_field("winner_policy.error_metric",
                          "no metric named '" + policy.error_metric + "'");
        if (metrics[*i].kind != MetricKind::Rate)
            invalid_field("winner_policy.error_metric",
                          "metric '" + policy.error_metric + "' must be a rate metric");
    }
    if (!policy.latency_metric.empty()) {
        const auto i = metric_index(metrics, policy.latency_metric);
        if (!i)
            invalid_field("winner_policy.latency_metric",
                          "no metric named '" + policy.latency_metric + "'");
        if (metrics[*i].kind == MetricKind::Rate)
            invalid_field("winner_policy.latency_metric",
                          "metric '" + policy.latency_metric + "' must be a count, sum or avg");
    }
}

WinnerEvaluation evaluate_winner(const WinnerPolicy& policy, const ExperimentData& data,
                                 const Analysis& analysis, const WinnerContext& context) {
    Evaluator e{policy, data, analysis, context, 0, 0, {}, {}, {}};
    return e.run();
}

json WinnerEvaluation::to_json() const {
    json checks_json = json::object();
    for (const auto& c : checks)
        checks_json[c.name] = {{"passed", c.passed}, {"status", c.status}, {"detail", c.detail}};
    return {{"eligible", eligible},
            {"winner", winner ? json(*winner) : json(nullptr)},
            {"control", control},
            {"confidence", number_or_null(confidence)},
            {"improvement", number_or_null(improvement)},
            {"sample_size", number_or_null(sample_size)},
            {"checks", checks_json},
            {"reasons", reasons},
            {"warnings", warnings}};
}

}  // namespace abx::analysis
