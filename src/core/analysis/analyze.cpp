// analyze(): every statistic of every (variant, metric) of one experiment, from sufficient
// statistics supplied by the glue. The formulas live in include/abx/stats/*; this file only
// chooses, combines and labels them. Decisions (also in docs/statistics.md, "Analysis pipeline"):
//
// - Rates (kind rate) are proportions: Wilson interval, two-proportion z-test, Beta posteriors.
//   count, sum and avg are means: t interval, Welch t-test, normal posteriors (n >= 2 per arm).
// - sd of a rate row is the per-subject sd sqrt(p(1-p)); `sum_sq` of rate summaries is ignored.
// - mean/sd are NaN when there are no subjects (sd also for means with n < 2).
// - Bayesian figures against the control need subjects in both arms (rates) or >= 2 subjects in
//   both arms (means); prob_best of a metric needs that of every arm, otherwise the whole metric's
//   prob_best is NaN with a note (it is a distribution over all variants, so it is not computed
//   over a subset).
// - Holm: one family per analysis made of every treatment × (primary and secondary metrics).
//   Guardrails are excluded (p_value_holm NaN): they protect against harm, are read one by one
//   and are not claims of improvement; adjusting them would make harm harder to see.
// - Sequential: mSPRT of the absolute difference; the memory carries the running minimum p-value
//   and the running intersection. When the intersection is empty the reported interval is the
//   latest look's interval and the note says so; the memory keeps the empty intersection.
//   look = false folds the current look into what is reported but returns the stored memory
//   unchanged (same shape, same look count).
// - Fail-fast (primary and guardrail metrics): only when every arm has >= min_samples subjects
//   on the metric (and enough for a posterior). Reference arm: the highest prob_best; an arm is
//   flagged when P(arm worse than reference) > threshold, computed pairwise with prob_greater by
//   stats::fail_fast_rates / fail_fast_means. This is not 1 - prob_best: with three arms, an arm
//   can have a small chance of being best without being clearly worse than the leader.
//   The control is never flagged: fail-fast stops losing treatments, and a control that loses
//   clearly is news for the winner policy, not a reason to stop.
// - Guardrails: besides the two-sided figures, a one-sided always-valid test for harm
//   (stats::harm_look) with its own memory; a treatment fails a guardrail when the running lower
//   bound of its harm is above 0. It is read one by one like the raw p-value (no Holm): a
//   guardrail exists to see harm early, and the test is already valid at every look.
#include "abx/analysis.hpp"
#include "abx/error.hpp"
#include "abx/interrupt.hpp"
#include "abx/stats/frequentist.hpp"
#include "abx/stats/multiple_testing.hpp"
#include "internal.hpp"
#include "json_fields.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace abx::analysis {

using nlohmann::json;

namespace {

stats::MetricKind stats_kind(MetricKind k) {
    return k == MetricKind::Rate ? stats::MetricKind::Rate : stats::MetricKind::Mean;
}

// Collects "label: reason" parts of a row's note, each reason once.
class Notes {
  public:
    void add(const std::string& label, const std::string& reason) {
        if (reason.empty() || !seen_.insert(reason).second) return;
        if (!text_.empty()) text_ += "; ";
        text_ += label + ": " + reason;
    }
    const std::string& text() const { return text_; }

  private:
    std::set<std::string> seen_;
    std::string text_;
};

stats::SequentialState to_state(const SequentialMemory& m) {
    stats::SequentialState s;
    s.looks = m.looks;
    s.p_value = m.p_value;
    s.lower = m.lower;
    s.upper = m.upper;
    return s;
}

SequentialMemory to_memory(const stats::SequentialState& s) {
    SequentialMemory m;
    m.looks = s.looks;
    m.p_value = s.p_value;
    m.lower = s.lower;
    m.upper = s.upper;
    return m;
}

// Enough data for a posterior of this kind (and so for Bayesian comparisons).
bool has_posterior(MetricKind kind, const stats::Summary& s) {
    return kind == MetricKind::Rate ? s.n > 0 : s.n >= 2;
}

std::string posterior_requirement(MetricKind kind) {
    return kind == MetricKind::Rate ? "needs at least 1 subject in every compared variant"
                                    : "needs at least 2 subjects in every compared variant";
}

void fill_single_arm(MetricResult& r, MetricKind kind, const stats::Summary& s, double confidence,
                     Notes& notes) {
    stats::Estimate est;
    if (kind == MetricKind::Rate) {
        if (s.n > 0) {
            r.mean = s.sum / s.n;
            r.sd = std::sqrt(r.mean * (1 - r.mean));
        } else {
            r.mean = r.sd = NAN;
        }
        est = stats::rate_interval(s.sum, s.n, confidence);
    } else {
        r.mean = s.n > 0 ? s.mean() : NAN;
        r.sd = s.n >= 2 ? s.sd() : NAN;
        est = stats::mean_interval(s, confidence);
    }
    r.mean_lower = est.lower;
    r.mean_upper = est.upper;
    if (!est.defined) notes.add("interval", est.reason);
}

void fill_comparison(MetricResult& r, const MetricSpec& spec, const stats::Summary& control,
                     const stats::Summary& s, const AnalysisSettings& settings,
                     const SequentialMemory& previous, SequentialMemory& next, Notes& notes) {
    const stats::MetricKind kind = stats_kind(spec.kind);

    // Fixed horizon.
    const stats::FrequentistComparison fc =
        stats::frequentist_compare(kind, control, s, settings.confidence);
    r.abs_lift = fc.absolute.value;
    r.abs_lift_lower = fc.absolute.lower;
    r.abs_lift_upper = fc.absolute.upper;
    r.rel_lift = fc.relative.value;
    r.rel_lift_lower = fc.relative.lower;
    r.rel_lift_upper = fc.relative.upper;
    r.p_value = fc.test.p_value;
    notes.add("test", fc.test.reason);
    notes.add("absolute lift", fc.absolute.reason);
    notes.add("relative lift", fc.relative.reason);

    // Sequential: fold this look into the stored memory.
    const stats::MsprtLook look = stats::sequential_look(kind, control, s, settings.sequential);
    const stats::SequentialState folded = stats::sequential_update(to_state(previous), look);
    next = to_memory(folded);
    next.harm_looks = previous.harm_looks;  // the harm test's memory, folded below for guardrails
    next.harm_p_value = previous.harm_p_value;
    next.harm_lower = previous.harm_lower;
    if (folded.looks > 0) {
        r.seq_p_value = folded.p_value;
        if (!folded.interval_empty()) {
            r.seq_lower = folded.lower;
            r.seq_upper = folded.upper;
        } else if (look.defined) {
            r.seq_lower = look.lower;
            r.seq_upper = look.upper;
            notes.add("sequential",
                      "the always-valid intervals of successive looks do not overlap (empty "
                      "running intersection); showing the latest look's interval: the effect may "
                      "be changing over time");
        } else {
            notes.add("sequential", "empty running intersection and no interval at this look (" +
                                        look.reason + ")");
        }
        if (!look.defined)
            notes.add("sequential",
                      "this look adds nothing (" + look.reason + "); showing the stored state");
    } else {
        notes.add("sequential", look.reason.empty() ? "no look yet" : look.reason);
    }

    if (spec.role == MetricRole::Guardrail) {
        stats::HarmState harm{previous.harm_looks, previous.harm_p_value, previous.harm_lower};
        harm =
            stats::harm_update(harm, stats::harm_look(look, spec.better == stats::Better::Higher));
        next.harm_looks = harm.looks;
        next.harm_p_value = harm.p_value;
        next.harm_lower = harm.lower;
        if (harm.looks > 0) {
            r.harm_p_value = harm.p_value;
            r.harm_lower = harm.lower;
            r.guardrail_failed = harm.harmful();
        }
    }

    // Bayesian, oriented by the metric's objective.
    if (has_posterior(spec.kind, control) && has_posterior(spec.kind, s)) {
        const stats::BayesComparison b =
            spec.kind == MetricKind::Rate
                ? stats::compare_rates(control, s, spec.better, settings.prior)
                : stats::compare_means(control, s, spec.better);
        r.chance_to_beat_control = b.chance_to_beat_control;
        r.expected_loss = b.expected_loss_treatment;
    } else {
        notes.add("bayesian", "the comparison " + posterior_requirement(spec.kind));
    }
}

}  // namespace

namespace detail {

std::size_t validate_data(const ExperimentData& d) {
    validate_settings(d.settings);
    if (d.variants.empty()) invalid_field("variants", "at least one variant is required");
    std::optional<std::size_t> control;
    std::set<std::string> keys;
    const std::size_t m_count = d.metrics.size();
    InterruptPoll poll;
    for (std::size_t i = 0; i < d.variants.size(); ++i) {
        poll.tick();
        const VariantData& v = d.variants[i];
        const std::string path = "variants[" + std::to_string(i) + "]";
        if (v.key.empty() || !keys.insert(v.key).second)
            invalid_field(path + ".key", "must be non-empty and unique");
        if (v.is_control) {
            if (control) invalid_field(path + ".is_control", "exactly one variant is the control");
            control = i;
        }
        if (!(std::isfinite(v.weight) && v.weight >= 0))
            out_of_range(path + ".weight", "must be finite and >= 0");
        if (v.assigned < 0) out_of_range(path + ".assigned", "must be >= 0");
        if (v.metrics.size() != m_count)
            invalid_field(path + ".metrics", "expected " + std::to_string(m_count) +
                                                 " summaries (one per metric), got " +
                                                 std::to_string(v.metrics.size()));
        for (std::size_t j = 0; j < m_count; ++j) {
            const stats::Summary& s = v.metrics[j];
            const std::string sp = path + ".metrics[" + std::to_string(j) + "]";
            if (!(std::isfinite(s.n) && s.n >= 0)) out_of_range(sp + ".n", "must be >= 0");
            if (!std::isfinite(s.sum)) out_of_range(sp + ".sum", "must be finite");
            if (d.metrics[j].kind == MetricKind::Rate) {
                if (!(s.sum >= 0 && s.sum <= s.n))
                    invalid_field(sp + ".sum", "conversions must be between 0 and n");
            } else if (!(std::isfinite(s.sum_sq) && s.sum_sq >= 0)) {
                out_of_range(sp + ".sum_sq", "must be finite and >= 0");
            }
        }
    }
    if (!control) invalid_field("variants", "exactly one variant must be the control");

    if (!d.sequential.empty()) {
        if (d.sequential.size() != d.variants.size())
            invalid_field("sequential", "expected one row per variant (" +
                                            std::to_string(d.variants.size()) + "), got " +
                                            std::to_string(d.sequential.size()));
        for (std::size_t i = 0; i < d.sequential.size(); ++i) {
            const std::string path = "sequential[" + std::to_string(i) + "]";
            if (d.sequential[i].size() != m_count)
                invalid_field(path, "expected one entry per metric (" + std::to_string(m_count) +
                                        "), got " + std::to_string(d.sequential[i].size()));
            for (std::size_t j = 0; j < m_count; ++j) {
                const SequentialMemory& m = d.sequential[i][j];
                const std::string mp = path + "[" + std::to_string(j) + "]";
                if (m.looks < 0) out_of_range(mp + ".looks", "must be >= 0");
                if (!(m.p_value >= 0 && m.p_value <= 1))
                    out_of_range(mp + ".p_value", "must be between 0 and 1");
                if (std::isnan(m.lower) || std::isnan(m.upper))
                    out_of_range(mp, "interval bounds must not be NaN");
                if (m.harm_looks < 0) out_of_range(mp + ".harm_looks", "must be >= 0");
                if (!(m.harm_p_value >= 0 && m.harm_p_value <= 1))
                    out_of_range(mp + ".harm_p_value", "must be between 0 and 1");
                if (std::isnan(m.harm_lower)) out_of_range(mp + ".harm_lower", "must not be NaN");
            }
        }
    }
    return *control;
}

json srm_json(const stats::SrmResult& srm, const ExperimentData& data) {
    json observed = json::object(), expected = json::object();
    for (std::size_t i = 0; i < data.variants.size(); ++i) {
        observed[data.variants[i].key] = data.variants[i].assigned;
        expected[data.variants[i].key] =
            i < srm.expected.size() ? number_or_null(srm.expected[i]) : json(nullptr);
    }
    return {{"mismatch", srm.mismatch},
            {"defined", srm.defined},
            {"applicable", srm.applicable},
            {"p_value", number_or_null(srm.p_value)},
            {"chi_square", number_or_null(srm.chi_square)},
            {"df", number_or_null(srm.df)},
            {"threshold", data.settings.srm_threshold},
            {"observed", observed},
            {"expected", expected},
            {"unexpected", srm.unexpected},
            {"small_expected", srm.small_expected},
            {"reason", srm.reason}};
}

}  // namespace detail

Analysis analyze(const ExperimentData& data, bool look) {
    const std::size_t ci = detail::validate_data(data);
    const AnalysisSettings& settings = data.settings;
    const std::size_t n_var = data.variants.size();
    const std::size_t n_met = data.metrics.size();

    Analysis out;
    out.rows.resize(n_var * n_met);
    std::vector<std::vector<SequentialMemory>> next =
        data.sequential.empty() ? std::vector<std::vector<SequentialMemory>>(
                                      n_var, std::vector<SequentialMemory>(n_met))
                                : data.sequential;
    std::vector<Notes> notes(n_var * n_met);

    for (std::size_t m = 0; m < n_met; ++m) {
        const MetricSpec& spec = data.metrics[m];
        const stats::Summary& control = data.variants[ci].metrics[m];
        std::vector<stats::Summary> arms;
        for (std::size_t v = 0; v < n_var; ++v) {
            const VariantData& vd = data.variants[v];
            const stats::Summary& s = vd.metrics[m];
            check_interrupt();  // every row runs tests, posteriors and integrals
            arms.push_back(s);
            MetricResult& r = out.rows[v * n_met + m];
            Notes& note = notes[v * n_met + m];
            r.variant = vd.key;
            r.is_control = vd.is_control;
            r.metric = spec.key;
            r.kind = spec.kind;
            r.role = spec.role;
            r.n = s.n;
            fill_single_arm(r, spec.kind, s, settings.confidence, note);
            if (v != ci) {
                const SequentialMemory previous =
                    data.sequential.empty() ? SequentialMemory{} : data.sequential[v][m];
                fill_comparison(r, spec, control, s, settings, previous, next[v][m], note);
            }
        }

        // Probability of being best, over all variants.
        const bool all_posteriors = std::all_of(
            arms.begin(), arms.end(), [&](const auto& s) { return has_posterior(spec.kind, s); });
        if (all_posteriors) {
            const std::vector<double> pb =
                spec.kind == MetricKind::Rate
                    ? stats::prob_best_rates(arms, spec.better, settings.prior)
                    : stats::prob_best_means(arms, spec.better);
            for (std::size_t v = 0; v < n_var; ++v) out.rows[v * n_met + m].prob_best = pb[v];
        } else {
            for (std::size_t v = 0; v < n_var; ++v)
                notes[v * n_met + m].add("prob_best", posterior_requirement(spec.kind));
        }

        // Fail-fast on the primary metric and the guardrails.
        if (spec.role != MetricRole::Secondary && n_var >= 2 && all_posteriors) {
            double min_n = arms[0].n;
            for (const auto& s : arms) min_n = std::min(min_n, s.n);
            if (min_n >= settings.fail_fast.min_samples) {
                const stats::FailFastConfig cfg{settings.fail_fast.threshold,
                                                settings.fail_fast.min_samples};
                const stats::FailFastResult ff =
                    spec.kind == MetricKind::Rate
                        ? stats::fail_fast_rates(arms, spec.better, cfg, settings.prior)
                        : stats::fail_fast_means(arms, spec.better, cfg);
                for (std::size_t v = 0; v < n_var; ++v)
                    if (v != ci && ff.arms[v].flagged)
                        out.fail_fast.push_back({data.variants[v].key, spec.key,
                                                 ff.arms[v].prob_worse_than_best,
                                                 ff.best ? data.variants[*ff.best].key : ""});
            }
        }
    }

    // Holm across treatments × (primary + secondary) metrics.
    std::vector<std::size_t> family;
    std::vector<double> p;
    for (std::size_t i = 0; i < out.rows.size(); ++i) {
        const MetricResult& r = out.rows[i];
        if (r.is_control || r.role == MetricRole::Guardrail) continue;
        family.push_back(i);
        p.push_back(r.p_value);
    }
    const std::vector<double> adjusted = stats::holm_adjust(p);
    for (std::size_t k = 0; k < family.size(); ++k) out.rows[family[k]].p_value_holm = adjusted[k];

    for (std::size_t i = 0; i < out.rows.size(); ++i) out.rows[i].note = notes[i].text();
    for (const MetricResult& r : out.rows)
        if (r.guardrail_failed)
            out.guardrail_failures.push_back({r.variant, r.metric, r.harm_lower, r.harm_p_value});

    // Sample-ratio mismatch on the assignment counts.
    std::vector<std::int64_t> observed;
    std::vector<double> weights;
    for (const auto& v : data.variants) {
        observed.push_back(v.assigned);
        weights.push_back(v.weight);
    }
    const bool any_weight =
        std::any_of(weights.begin(), weights.end(), [](double w) { return w > 0; });
    if (data.adaptive_allocation) {
        out.srm.applicable = false;
        out.srm.reason =
            "not applicable: a bandit's allocation follows the arms' results, not the weights";
        for (auto o : observed) out.srm.total += static_cast<double>(o);
    } else if (n_var >= 2 && any_weight) {
        out.srm = stats::srm_check(observed, weights, settings.srm_threshold);
    } else {
        out.srm.reason = n_var < 2 ? "fewer than two variants" : "no variant has a positive weight";
        for (auto o : observed) out.srm.total += static_cast<double>(o);
    }

    out.sequential = look ? std::move(next) : data.sequential;
    return out;
}

json to_json(const MetricResult& r) {
    using detail::number_or_null;
    return {{"variant", r.variant},
            {"is_control", r.is_control},
            {"metric", r.metric},
            {"kind", std::string(to_string(r.kind))},
            {"role", std::string(to_string(r.role))},
            {"n", number_or_null(r.n)},
            {"mean", number_or_null(r.mean)},
            {"sd", number_or_null(r.sd)},
            {"mean_lower", number_or_null(r.mean_lower)},
            {"mean_upper", number_or_null(r.mean_upper)},
            {"abs_lift", number_or_null(r.abs_lift)},
            {"abs_lift_lower", number_or_null(r.abs_lift_lower)},
            {"abs_lift_upper", number_or_null(r.abs_lift_upper)},
            {"rel_lift", number_or_null(r.rel_lift)},
            {"rel_lift_lower", number_or_null(r.rel_lift_lower)},
            {"rel_lift_upper", number_or_null(r.rel_lift_upper)},
            {"p_value", number_or_null(r.p_value)},
            {"p_value_holm", number_or_null(r.p_value_holm)},
            {"seq_p_value", number_or_null(r.seq_p_value)},
            {"seq_lower", number_or_null(r.seq_lower)},
            {"seq_upper", number_or_null(r.seq_upper)},
            {"chance_to_beat_control", number_or_null(r.chance_to_beat_control)},
            {"expected_loss", number_or_null(r.expected_loss)},
            {"prob_best", number_or_null(r.prob_best)},
            {"harm_p_value", number_or_null(r.harm_p_value)},
            {"harm_lower", number_or_null(r.harm_lower)},
            {"guardrail_failed", r.guardrail_failed},
            {"note", r.note.empty() ? json(nullptr) : json(r.note)}};
}

json to_json(const Analysis& a, const ExperimentData& data) {
    json rows = json::array();
    for (const auto& r : a.rows) rows.push_back(to_json(r));
    json ff = json::array();
    for (const auto& f : a.fail_fast)
        ff.push_back({{"variant", f.variant},
                      {"metric", f.metric},
                      {"prob_worse_than_best", detail::number_or_null(f.prob_worse_than_best)},
                      {"best", f.best}});
    json guardrails = json::array();
    for (const auto& g : a.guardrail_failures)
        guardrails.push_back({{"variant", g.variant},
                              {"metric", g.metric},
                              {"harm_lower", detail::number_or_null(g.harm_lower)},
                              {"p_value", detail::number_or_null(g.p_value)}});
    return {{"rows", rows},
            {"srm", detail::srm_json(a.srm, data)},
            {"fail_fast", ff},
            {"guardrail_failures", guardrails}};
}

}  // namespace abx::analysis
