// Parsing and validation of the "metrics" and "analysis" documents of an experiment spec.
//
// Decisions not spelled out in include/abx/analysis.hpp:
// - Every metric needs "kind" and at least one of "key" and an event: "event", or for rates its
//   alias "numerator" (one of the two, not both; "numerator" is refused for the other kinds, which
//   have no ratio). As in seed 004, where the key of a count/sum/avg metric is its event key, a
//   missing event defaults to the key, and a missing key to the event (refused if the event key
//   contains ':', which metric keys may not).
// - "denominator" is for rates only and must differ from the numerator event (the rate would be 1
//   by construction).
// - Metric keys are unique across primary, secondary and guardrail metrics; the result lists the
//   primary metric first, then the secondary ones, then the guardrails, each in document order.
// - A JSON null means "not given" (the default applies); for "kind", which has no default, it is
//   refused with 22004. Errors follow error.hpp's rule: 22P02 wrong type, 22003 number out of
//   range, 22023 anything else.
#include "abx/analysis.hpp"
#include "abx/error.hpp"
#include "internal.hpp"
#include "json_fields.hpp"

#include <cmath>
#include <set>
#include <string>

namespace abx::analysis {

using nlohmann::json;
using namespace detail;

namespace {

constexpr std::size_t kMaxMetrics = 50;

MetricKind parse_kind(const json& v, const std::string& path) {
    const std::string& s = string_value(v, path);
    if (s == "count") return MetricKind::Count;
    if (s == "sum") return MetricKind::Sum;
    if (s == "avg") return MetricKind::Avg;
    if (s == "rate") return MetricKind::Rate;
    invalid_field(path, "must be one of count, sum, avg, rate");
}

std::string event_key(const json& v, const std::string& path) {
    const std::string& s = string_value(v, path);
    if (!is_event_key(s)) invalid_field(path, "must match [A-Za-z0-9_.:-]{1,64}");
    return s;
}

MetricSpec parse_metric(const json& m, const std::string& path, MetricRole role) {
    object_value(m, path);
    reject_unknown(m, {"key", "kind", "event", "numerator", "denominator", "objective"},
                   path + ".");
    MetricSpec out;
    out.role = role;

    const json* kind = field(m, "kind");
    if (!kind && m.contains("kind")) null_field(path + ".kind");
    if (!kind) invalid_field(path + ".kind", "is required (one of count, sum, avg, rate)");
    out.kind = parse_kind(*kind, path + ".kind");

    const json* key = field(m, "key");
    const json* event = field(m, "event");
    const json* numerator = field(m, "numerator");
    if (numerator && out.kind != MetricKind::Rate)
        invalid_field(path + ".numerator", "only rate metrics have a numerator (use \"event\")");
    if (event && numerator)
        invalid_field(path + ".numerator", "give either \"event\" or \"numerator\", not both");
    if (key) {
        out.key = string_value(*key, path + ".key");
        if (!is_metric_key(out.key))
            invalid_field(path + ".key", "must match [A-Za-z0-9_.-]{1,64}");
    }
    if (event)
        out.event = event_key(*event, path + ".event");
    else if (numerator)
        out.event = event_key(*numerator, path + ".numerator");

    // As in seed 004, one name may serve as both: the event defaults to the key and the key to
    // the event (when the event key is also a valid metric key, i.e. has no ':').
    if (!key && out.event.empty())
        invalid_field(path + ".key", "is required (or give \"event\" and the key defaults to it)");
    if (out.event.empty()) out.event = out.key;
    if (!key) {
        if (!is_metric_key(out.event))
            invalid_field(path + ".key", "is required when the event key '" + out.event +
                                             "' is not a valid metric key ([A-Za-z0-9_.-]{1,64})");
        out.key = out.event;
    }

    if (const json* den = field(m, "denominator")) {
        if (out.kind != MetricKind::Rate)
            invalid_field(path + ".denominator", "only rate metrics have a denominator");
        out.denominator = event_key(*den, path + ".denominator");
        if (out.denominator == out.event)
            invalid_field(path + ".denominator", "must differ from the numerator event");
    }

    if (const json* obj = field(m, "objective")) {
        const std::string& s = string_value(*obj, path + ".objective");
        if (s == "maximize")
            out.better = stats::Better::Higher;
        else if (s == "minimize")
            out.better = stats::Better::Lower;
        else
            invalid_field(path + ".objective", "must be \"maximize\" or \"minimize\"");
    }
    return out;
}

double positive_finite(const json& v, const std::string& path) {
    const double d = number_value(v, path);
    if (!(d > 0)) out_of_range(path, "must be > 0");
    return d;
}

}  // namespace

std::string_view to_string(MetricKind kind) {
    switch (kind) {
        case MetricKind::Count:
            return "count";
        case MetricKind::Sum:
            return "sum";
        case MetricKind::Avg:
            return "avg";
        case MetricKind::Rate:
            return "rate";
    }
    return "rate";
}

std::string_view to_string(MetricRole role) {
    switch (role) {
        case MetricRole::Primary:
            return "primary";
        case MetricRole::Secondary:
            return "secondary";
        case MetricRole::Guardrail:
            return "guardrail";
    }
    return "primary";
}

std::vector<MetricSpec> parse_metrics(const json& metrics) {
    std::vector<MetricSpec> out;
    if (metrics.is_null()) return out;
    object_value(metrics, "metrics");
    reject_unknown(metrics, {"primary", "secondary", "guardrails"}, "metrics.");

    std::set<std::string> keys;
    auto add = [&](MetricSpec m, const std::string& path) {
        if (!keys.insert(m.key).second)
            invalid_field(path + ".key", "duplicate metric key '" + m.key + "'");
        out.push_back(std::move(m));
    };

    if (const json* primary = field(metrics, "primary"))
        add(parse_metric(*primary, "metrics.primary", MetricRole::Primary), "metrics.primary");

    for (auto [name, role] : {std::pair{"secondary", MetricRole::Secondary},
                              std::pair{"guardrails", MetricRole::Guardrail}}) {
        const json* list = field(metrics, name);
        if (!list) continue;
        const std::string base = std::string("metrics.") + name;
        if (!list->is_array()) wrong_type(base, "must be an array of metric objects");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string path = base + "[" + std::to_string(i) + "]";
            add(parse_metric((*list)[i], path, role), path);
        }
    }
    if (out.size() > kMaxMetrics)
        invalid_field("metrics", "at most " + std::to_string(kMaxMetrics) + " metrics in total");
    return out;
}

AnalysisSettings parse_settings(const json& analysis) {
    AnalysisSettings s;
    if (analysis.is_null()) return s;
    object_value(analysis, "analysis");
    reject_unknown(analysis,
                   {"confidence", "srm_threshold", "prior", "sequential", "fail_fast", "bandit"},
                   "analysis.");

    if (const json* v = field(analysis, "confidence"))
        s.confidence = open_unit_value(*v, "analysis.confidence");
    if (const json* v = field(analysis, "srm_threshold"))
        s.srm_threshold = open_unit_value(*v, "analysis.srm_threshold");

    if (const json* prior = field(analysis, "prior")) {
        object_value(*prior, "analysis.prior");
        reject_unknown(*prior, {"alpha", "beta"}, "analysis.prior.");
        if (const json* v = field(*prior, "alpha"))
            s.prior.alpha = positive_finite(*v, "analysis.prior.alpha");
        if (const json* v = field(*prior, "beta"))
            s.prior.beta = positive_finite(*v, "analysis.prior.beta");
    }

    if (const json* seq = field(analysis, "sequential")) {
        object_value(*seq, "analysis.sequential");
        reject_unknown(*seq, {"alpha", "planned_subjects_per_arm", "tau"}, "analysis.sequential.");
        if (const json* v = field(*seq, "alpha"))
            s.sequential.alpha = open_unit_value(*v, "analysis.sequential.alpha");
        if (const json* v = field(*seq, "planned_subjects_per_arm")) {
            const double n = number_value(*v, "analysis.sequential.planned_subjects_per_arm");
            if (!(n >= 1))
                out_of_range("analysis.sequential.planned_subjects_per_arm", "must be >= 1");
            s.sequential.planned_subjects_per_arm = n;
        }
        if (const json* v = field(*seq, "tau")) {
            const double tau = positive_finite(*v, "analysis.sequential.tau");
            s.sequential.tau2 = tau * tau;
        }
    }

    if (const json* ff = field(analysis, "fail_fast")) {
        object_value(*ff, "analysis.fail_fast");
        reject_unknown(*ff, {"threshold", "min_samples", "auto_stop"}, "analysis.fail_fast.");
        if (const json* v = field(*ff, "auto_stop"))
            s.fail_fast.auto_stop = bool_value(*v, "analysis.fail_fast.auto_stop");
        if (const json* v = field(*ff, "threshold"))
            s.fail_fast.threshold = open_unit_value(*v, "analysis.fail_fast.threshold");
        if (const json* v = field(*ff, "min_samples")) {
            const double n = number_value(*v, "analysis.fail_fast.min_samples");
            if (!(n >= 0)) out_of_range("analysis.fail_fast.min_samples", "must be >= 0");
            s.fail_fast.min_samples = n;
        }
    }
    if (const json* b = field(analysis, "bandit")) {
        object_value(*b, "analysis.bandit");
        reject_unknown(*b, {"min_share", "min_samples", "draws", "seed"}, "analysis.bandit.");
        if (const json* v = field(*b, "min_share"))
            s.bandit.min_share = number_value(*v, "analysis.bandit.min_share");
        if (const json* v = field(*b, "min_samples"))
            s.bandit.min_samples = number_value(*v, "analysis.bandit.min_samples");
        if (const json* v = field(*b, "draws"))
            s.bandit.draws =
                static_cast<std::size_t>(integer_value(*v, "analysis.bandit.draws", 1));
        if (const json* v = field(*b, "seed")) {
            if (v->is_number_unsigned())
                s.bandit.seed = v->get<std::uint64_t>();
            else
                s.bandit.seed =
                    static_cast<std::uint64_t>(integer_value(*v, "analysis.bandit.seed", 0));
        }
    }
    detail::validate_settings(s);
    return s;
}

namespace detail {

void validate_settings(const AnalysisSettings& s) {
    auto unit = [](double v, const char* path) {
        if (!(v > 0 && v < 1)) out_of_range(path, "must be a number between 0 and 1 (exclusive)");
    };
    unit(s.confidence, "analysis.confidence");
    unit(s.srm_threshold, "analysis.srm_threshold");
    unit(s.sequential.alpha, "analysis.sequential.alpha");
    unit(s.fail_fast.threshold, "analysis.fail_fast.threshold");
    if (!(std::isfinite(s.prior.alpha) && s.prior.alpha > 0))
        out_of_range("analysis.prior.alpha", "must be > 0");
    if (!(std::isfinite(s.prior.beta) && s.prior.beta > 0))
        out_of_range("analysis.prior.beta", "must be > 0");
    if (!(std::isfinite(s.sequential.planned_subjects_per_arm) &&
          s.sequential.planned_subjects_per_arm >= 1))
        out_of_range("analysis.sequential.planned_subjects_per_arm", "must be >= 1");
    if (s.sequential.tau2 && !(std::isfinite(*s.sequential.tau2) && *s.sequential.tau2 > 0))
        out_of_range("analysis.sequential.tau", "must be > 0");
    if (!(std::isfinite(s.fail_fast.min_samples) && s.fail_fast.min_samples >= 0))
        out_of_range("analysis.fail_fast.min_samples", "must be >= 0");
    // The exact upper bound of min_share is 1 / (number of arms): stats::thompson_shares checks
    // it; every experiment has at least two variants, hence 0.5 here.
    if (!(s.bandit.min_share >= 0 && s.bandit.min_share <= 0.5))
        out_of_range("analysis.bandit.min_share",
                     "must be between 0 and 0.5 (and at most 1 / number of variants)");
    if (!(std::isfinite(s.bandit.min_samples) && s.bandit.min_samples >= 0))
        out_of_range("analysis.bandit.min_samples", "must be >= 0");
    if (s.bandit.draws < 1 || s.bandit.draws > 10000000)
        out_of_range("analysis.bandit.draws", "must be between 1 and 10000000");
}

std::optional<std::size_t> primary_index(const std::vector<MetricSpec>& metrics) {
    for (std::size_t i = 0; i < metrics.size(); ++i)
        if (metrics[i].role == MetricRole::Primary) return i;
    return std::nullopt;
}

}  // namespace detail

}  // namespace abx::analysis
