// insights(): what a person reading the dashboard needs first — which variant leads on the
// primary metric, one line of recommendation (seed 002 style), the significant results, fail-fast
// flags, the SRM status and warnings. Decisions (also in docs/statistics.md):
// - Leader: the variant with the highest prob_best on the primary metric when prob_best is
//   defined; otherwise the highest posterior mean in the objective's direction (rates: the Beta
//   posterior mean with the analysis prior; means: the sample mean) among variants with subjects.
// - Significant: treatment rows whose Holm-adjusted p-value is below 1 - confidence (primary and
//   secondary metrics) or whose raw p-value is (guardrails, which are outside the Holm family).
//   Each entry also says whether the always-valid (sequential) p-value is below sequential alpha.
// - Warnings: SRM mismatch or rough SRM test, no primary metric, variants with fewer subjects
//   on the primary metric than fail_fast.min_samples, guardrails significantly worse.
#include "abx/analysis.hpp"
#include "abx/interrupt.hpp"
#include "internal.hpp"
#include "json_fields.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace abx::analysis {

using nlohmann::json;
using namespace detail;

namespace {

// "p = 0.035", "p = 0.0015", "p < 1e-16".
std::string p_text(double p) {
    if (p < 1e-16) return "p < 1e-16";
    char buf[32];
    std::snprintf(buf, sizeof buf, p < 0.01 ? "p = %.2g" : "p = %.3f", p);
    return buf;
}

// The value of a row for text: "8.47%" for rates, "12.30" for means.
std::string display(MetricKind kind, double v) {
    return kind == MetricKind::Rate ? format_percent(v, 2) : format_value(v);
}

bool improves(const MetricResult& r, stats::Better better) {
    return better == stats::Better::Higher ? r.abs_lift > 0 : r.abs_lift < 0;
}

std::optional<std::size_t> find_leader(const ExperimentData& data, const Analysis& a,
                                       std::size_t pm) {
    const std::size_t n_met = data.metrics.size();
    const MetricSpec& spec = data.metrics[pm];
    std::optional<std::size_t> best;
    double best_score = -INFINITY;
    bool by_prob_best = true;
    for (std::size_t v = 0; v < data.variants.size(); ++v)
        if (std::isnan(row(a, n_met, v, pm).prob_best)) by_prob_best = false;
    for (std::size_t v = 0; v < data.variants.size(); ++v) {
        const MetricResult& r = row(a, n_met, v, pm);
        if (!(r.n > 0)) continue;
        double score;
        if (by_prob_best) {
            score = r.prob_best;
        } else {
            const stats::Summary& s = data.variants[v].metrics[pm];
            score = spec.kind == MetricKind::Rate
                        ? (s.sum + data.settings.prior.alpha) /
                              (s.n + data.settings.prior.alpha + data.settings.prior.beta)
                        : r.mean;
            if (spec.better == stats::Better::Lower) score = -score;
        }
        if (!best || score > best_score) {
            best = v;
            best_score = score;
        }
    }
    return best;
}

}  // namespace

json insights(const ExperimentData& data, const Analysis& analysis) {
    validate_data(data);
    const std::size_t n_met = data.metrics.size();
    if (analysis.rows.size() != data.variants.size() * n_met)
        invalid_field("analysis.rows", "does not match the experiment's variants × metrics");
    const double alpha = 1 - data.settings.confidence;
    const std::string level = format_level(data.settings.confidence);

    json warnings = json::array();
    const stats::SrmResult& srm = analysis.srm;
    if (srm.mismatch) {
        std::string counts;
        for (const auto& v : data.variants) {
            if (!counts.empty()) counts += "/";
            counts += std::to_string(v.assigned);
        }
        char threshold[32];
        std::snprintf(threshold, sizeof threshold, "%g", data.settings.srm_threshold);
        warnings.push_back(
            "sample ratio mismatch: assignments " + counts + " do not match the weights" +
            (srm.defined ? " (" + p_text(srm.p_value) + ", threshold " + threshold + ")" : "") +
            (srm.unexpected > 0 ? ": " + srm.reason : "") +
            "; assignment or logging is broken and results may be biased");
    } else if (srm.small_expected) {
        warnings.push_back(
            "the sample ratio check is rough: some variant expects fewer than 5 assignments");
    }

    json out;
    out["leader"] = nullptr;
    const std::optional<std::size_t> pm = primary_index(data.metrics);
    std::string recommendation;
    if (!pm) {
        warnings.push_back("no primary metric is defined: no leader or winner can be determined");
        recommendation =
            "No primary metric is defined: add metrics.primary to get a "
            "recommendation.";
    } else {
        const MetricSpec& spec = data.metrics[*pm];
        for (std::size_t v = 0; v < data.variants.size(); ++v) {
            const MetricResult& r = row(analysis, n_met, v, *pm);
            if (r.n < data.settings.fail_fast.min_samples) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.0f", r.n);
                warnings.push_back("small sample: variant '" + r.variant + "' has " + buf +
                                   " subjects on '" + spec.key + "' (fewer than " +
                                   format_value(data.settings.fail_fast.min_samples) +
                                   "); estimates are unreliable");
            }
        }
        const std::optional<std::size_t> lead = find_leader(data, analysis, *pm);
        if (!lead) {
            recommendation = "Not enough data yet: no variant has subjects on '" + spec.key + "'.";
        } else {
            const MetricResult& r = row(analysis, n_met, *lead, *pm);
            json leader = {
                {"variant", r.variant},
                {"is_control", r.is_control},
                {"metric", spec.key},
                {"kind", std::string(to_string(spec.kind))},
                {"objective", spec.better == stats::Better::Higher ? "maximize" : "minimize"},
                {"n", r.n},
                {spec.kind == MetricKind::Rate ? "rate" : "mean", number_or_null(r.mean)},
                {"lower", number_or_null(r.mean_lower)},
                {"upper", number_or_null(r.mean_upper)},
                {"prob_best", number_or_null(r.prob_best)},
                {"chance_to_beat_control", number_or_null(r.chance_to_beat_control)},
                {"rel_lift", number_or_null(r.rel_lift)}};
            out["leader"] = leader;

            recommendation = "Variant '" + r.variant + "'" + (r.is_control ? " (control)" : "") +
                             " is currently leading with " + display(spec.kind, r.mean) + " " +
                             spec.key;
            std::string paren;
            if (spec.better == stats::Better::Lower) paren = "lower is better";
            if (std::isfinite(r.mean_lower) && std::isfinite(r.mean_upper)) {
                if (!paren.empty()) paren += "; ";
                paren += level + "% CI " + display(spec.kind, r.mean_lower) + "\u2013" +
                         display(spec.kind, r.mean_upper);
            }
            if (!paren.empty()) recommendation += " (" + paren + ")";
            if (!r.is_control && std::isfinite(r.chance_to_beat_control))
                recommendation +=
                    ", " + format_probability(r.chance_to_beat_control) + " chance to beat control";
            recommendation += ".";
        }
    }
    if (!analysis.fail_fast.empty()) {
        std::string list;
        for (const auto& f : analysis.fail_fast) {
            if (!list.empty()) list += ", ";
            list += "'" + f.variant + "' (" + format_probability(f.prob_worse_than_best) +
                    " likely worse than '" + f.best + "' on " + f.metric + ")";
        }
        recommendation += " Consider stopping " + list + ".";
    }
    if (srm.mismatch)
        recommendation +=
            " Warning: sample ratio mismatch; fix assignment or logging before "
            "trusting these results.";

    json significant = json::array();
    InterruptPoll poll;
    for (std::size_t v = 0; v < data.variants.size(); ++v) {
        for (std::size_t m = 0; m < n_met; ++m) {
            poll.tick();
            const MetricResult& r = row(analysis, n_met, v, m);
            if (r.is_control) continue;
            const bool guardrail = r.role == MetricRole::Guardrail;
            const double p = guardrail ? r.p_value : r.p_value_holm;
            if (!(p < alpha)) continue;
            const bool better = improves(r, data.metrics[m].better);
            significant.push_back(
                {{"variant", r.variant},
                 {"metric", r.metric},
                 {"role", std::string(to_string(r.role))},
                 {"direction", better ? "better" : "worse"},
                 {"abs_lift", number_or_null(r.abs_lift)},
                 {"rel_lift", number_or_null(r.rel_lift)},
                 {"p_value", number_or_null(r.p_value)},
                 {"p_value_holm", number_or_null(r.p_value_holm)},
                 {"seq_p_value", number_or_null(r.seq_p_value)},
                 {"sequential_significant", r.seq_p_value <= data.settings.sequential.alpha}});
            if (guardrail && !better)
                warnings.push_back("guardrail '" + r.metric + "' is significantly worse for '" +
                                   r.variant + "' than for the control (" + p_text(r.p_value) +
                                   ")");
        }
    }

    json fail_fast = json::array();
    for (const auto& f : analysis.fail_fast)
        fail_fast.push_back({{"variant", f.variant},
                             {"metric", f.metric},
                             {"prob_worse_than_best", number_or_null(f.prob_worse_than_best)},
                             {"best", f.best},
                             {"threshold", data.settings.fail_fast.threshold}});

    json guardrails = json::array();
    for (const auto& g : analysis.guardrail_failures) {
        guardrails.push_back({{"variant", g.variant},
                              {"metric", g.metric},
                              {"harm_lower", number_or_null(g.harm_lower)},
                              {"p_value", number_or_null(g.p_value)}});
        bool rate = false;
        for (const auto& m : data.metrics)
            rate = rate || (m.key == g.metric && m.kind == MetricKind::Rate);
        warnings.push_back(
            "guardrail '" + g.metric + "' failed for '" + g.variant + "': harmed by at least " +
            (rate ? format_value(g.harm_lower * 100) + " percentage points"
                  : format_value(g.harm_lower)) +
            " (always-valid one-sided test, " + p_text(g.p_value) + "); it cannot be promoted");
    }

    out["recommendation"] = recommendation;
    out["significant"] = significant;
    out["fail_fast"] = fail_fast;
    out["guardrail_failures"] = guardrails;
    out["srm"] = srm_json(srm, data);
    out["warnings"] = warnings;
    return out;
}

}  // namespace abx::analysis
