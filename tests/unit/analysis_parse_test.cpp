// Parsing of the analysis documents: "metrics", "analysis" and "winner_policy"
// (include/abx/analysis.hpp). Every error path checks the SQLSTATE (error.hpp's rule) and the path
// in the message.
#include "abx/analysis.hpp"
#include "abx/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

namespace {

using abx::analysis::MetricKind;
using abx::analysis::MetricRole;
using abx::stats::Better;
using nlohmann::json;

// Expects Error `sqlstate` whose message starts with "invalid <path>:" (22004: "<path> must not be
// null") and contains `also`.
void expect_code(const std::function<void()>& f, const std::string& sqlstate,
                 const std::string& path, const std::string& also = "") {
    try {
        f();
        ADD_FAILURE() << "no error for " << path;
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, sqlstate) << e.what();
        const std::string msg = e.what();
        const std::string start =
            sqlstate == "22004" ? path + " must not be null" : "invalid " + path + ":";
        EXPECT_EQ(msg.rfind(start, 0), 0u) << msg;
        if (!also.empty()) {
            EXPECT_NE(msg.find(also), std::string::npos) << msg;
        }
    }
}

void expect_invalid(const std::function<void()>& f, const std::string& path,
                    const std::string& also = "") {
    expect_code(f, "22023", path, also);
}

const char* const kDoubleRange = "number is out of range for double precision";

void bad_metrics(const json& doc, const std::string& path, const std::string& also = "") {
    expect_invalid([&] { abx::analysis::parse_metrics(doc); }, path, also);
}

void bad_metrics_code(const json& doc, const std::string& sqlstate, const std::string& path,
                      const std::string& also = "") {
    expect_code([&] { abx::analysis::parse_metrics(doc); }, sqlstate, path, also);
}

TEST(AnalysisMetrics, ParsesSeedLikeDocument) {
    const json doc = json::parse(R"({
      "primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
      "secondary": [{"key": "revenue", "kind": "sum", "event": "purchase"},
                    {"key": "checkout_rate", "kind": "rate", "numerator": "checkout",
                     "denominator": "cart:view"},
                    {"key": "clicks", "kind": "count", "event": "click"}],
      "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"},
                     {"key": "latency", "kind": "avg", "event": "page.load",
                      "objective": "minimize"}]})");
    const auto m = abx::analysis::parse_metrics(doc);
    ASSERT_EQ(m.size(), 6u);
    EXPECT_EQ(m[0].key, "conversion");
    EXPECT_EQ(m[0].role, MetricRole::Primary);
    EXPECT_EQ(m[0].kind, MetricKind::Rate);
    EXPECT_EQ(m[0].event, "purchase");
    EXPECT_EQ(m[0].better, Better::Higher);
    EXPECT_EQ(m[1].key, "revenue");
    EXPECT_EQ(m[1].kind, MetricKind::Sum);
    EXPECT_EQ(m[1].role, MetricRole::Secondary);
    EXPECT_EQ(m[2].event, "checkout");  // "numerator" is the alias of "event"
    EXPECT_EQ(m[2].denominator, "cart:view");
    EXPECT_EQ(m[3].kind, MetricKind::Count);
    EXPECT_EQ(m[4].key, "errors");
    EXPECT_EQ(m[4].role, MetricRole::Guardrail);
    EXPECT_EQ(m[4].better, Better::Lower);
    EXPECT_EQ(m[5].kind, MetricKind::Avg);
    EXPECT_EQ(m[5].event, "page.load");
    EXPECT_EQ(abx::analysis::to_string(MetricKind::Avg), "avg");
    EXPECT_EQ(abx::analysis::to_string(MetricRole::Guardrail), "guardrail");
}

TEST(AnalysisMetrics, KeyAndEventDefaultToEachOther) {
    // Seed 004: a count/sum/avg metric's key is its event key; a rate names its numerator.
    const auto m = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"kind": "rate", "numerator": "conversion", "denominator": "view"},
        "secondary": [{"key": "revenue", "kind": "sum"}]})"));
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].key, "conversion");
    EXPECT_EQ(m[0].event, "conversion");
    EXPECT_EQ(m[0].denominator, "view");
    EXPECT_EQ(m[1].key, "revenue");
    EXPECT_EQ(m[1].event, "revenue");
}

TEST(AnalysisMetrics, EmptyOrNullMeansNoMetrics) {
    EXPECT_TRUE(abx::analysis::parse_metrics(json::object()).empty());
    EXPECT_TRUE(abx::analysis::parse_metrics(json(nullptr)).empty());
    EXPECT_TRUE(abx::analysis::parse_metrics(json::parse(R"({"primary": null})")).empty());
    // Secondary metrics without a primary one are allowed.
    const auto m = abx::analysis::parse_metrics(
        json::parse(R"({"secondary": [{"key": "x", "kind": "count", "event": "e"}]})"));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].role, MetricRole::Secondary);
}

TEST(AnalysisMetrics, ErrorPathsNameTheField) {
    bad_metrics_code(json::array(), "22P02", "metrics", "JSON object");
    bad_metrics(json::parse(R"({"primry": {}})"), "metrics.primry", "unknown field");
    bad_metrics_code(json::parse(R"({"primary": 3})"), "22P02", "metrics.primary", "JSON object");
    bad_metrics(json::parse(R"({"primary": {"kind": "rate"}})"), "metrics.primary.key", "required");
    bad_metrics(json::parse(R"({"primary": {"kind": "count", "event": "cart:add"}})"),
                "metrics.primary.key", "required when the event key 'cart:add'");
    bad_metrics(json::parse(R"({"primary": {"key": "a b", "kind": "rate", "event": "e"}})"),
                "metrics.primary.key");
    bad_metrics(json::parse(R"({"primary": {"key": "a:b", "kind": "rate", "event": "e"}})"),
                "metrics.primary.key");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "median", "event": "e"}})"),
                "metrics.primary.kind", "must be one of count, sum, avg, rate");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "event": "e"}})"), "metrics.primary.kind",
                "required");
    bad_metrics_code(json::parse(R"({"primary": {"key": "a", "kind": null, "event": "e"}})"),
                     "22004", "metrics.primary.kind");
    bad_metrics_code(json::parse(R"({"primary": {"key": "a", "kind": 1, "event": "e"}})"), "22P02",
                     "metrics.primary.kind", "string");
    bad_metrics(json::parse(R"({"secondary": [{"key": "a", "kind": "rate", "event": "e"},
                                             {"key": "b", "kind": "ratio", "event": "e"}]})"),
                "metrics.secondary[1].kind", "must be one of count, sum, avg, rate");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "e",
                                            "numerator": "e"}})"),
                "metrics.primary.numerator", "not both");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "sum", "numerator": "e"}})"),
                "metrics.primary.numerator", "only rate");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "avg", "event": "e",
                                            "denominator": "d"}})"),
                "metrics.primary.denominator", "only rate");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "e",
                                            "denominator": "e"}})"),
                "metrics.primary.denominator", "differ");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "bad event"}})"),
                "metrics.primary.event", "[A-Za-z0-9_.:-]{1,64}");
    bad_metrics_code(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": 5}})"),
                     "22P02", "metrics.primary.event", "string");
    bad_metrics_code(json::parse(R"({"primary": {"key": ["a"], "kind": "rate", "event": "e"}})"),
                     "22P02", "metrics.primary.key", "string");
    bad_metrics(
        json{{"primary", {{"key", "a"}, {"kind", "rate"}, {"event", std::string(65, 'e')}}}},
        "metrics.primary.event");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "e",
                                            "objective": "max"}})"),
                "metrics.primary.objective", "maximize");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "e",
                                            "goal": "x"}})"),
                "metrics.primary.goal", "unknown field");
    bad_metrics_code(json::parse(R"({"secondary": {"key": "a", "kind": "rate", "event": "e"}})"),
                     "22P02", "metrics.secondary", "array");
    bad_metrics_code(json::parse(R"({"guardrails": ["errors"]})"), "22P02", "metrics.guardrails[0]",
                     "JSON object");
    bad_metrics(json::parse(R"({"primary": {"key": "a", "kind": "rate", "event": "e"},
                               "guardrails": [{"key": "a", "kind": "rate", "event": "x"}]})"),
                "metrics.guardrails[0].key", "duplicate metric key 'a'");
    json many = {{"secondary", json::array()}};
    for (int i = 0; i < 51; ++i)
        many["secondary"].push_back(
            {{"key", "m" + std::to_string(i)}, {"kind", "count"}, {"event", "e"}});
    bad_metrics(many, "metrics", "at most 50");
}

TEST(AnalysisSettings, DefaultsAndValues) {
    const auto d = abx::analysis::parse_settings(json::object());
    EXPECT_EQ(d.confidence, 0.95);
    EXPECT_EQ(d.srm_threshold, 0.001);
    EXPECT_EQ(d.prior.alpha, 1.0);
    EXPECT_FALSE(d.sequential.tau2.has_value());
    EXPECT_EQ(d.fail_fast.threshold, 0.95);
    EXPECT_EQ(d.fail_fast.min_samples, 100);

    const auto s = abx::analysis::parse_settings(json::parse(R"({
        "confidence": 0.9, "srm_threshold": 0.01, "prior": {"alpha": 0.5, "beta": 0.5},
        "sequential": {"alpha": 0.1, "planned_subjects_per_arm": 5000, "tau": 0.02},
        "fail_fast": {"threshold": 0.99, "min_samples": 500},
        "bandit": {"min_share": 0.05, "min_samples": 200, "draws": 5000, "seed": 42}})"));
    EXPECT_EQ(s.confidence, 0.9);
    EXPECT_EQ(s.srm_threshold, 0.01);
    EXPECT_EQ(s.prior.alpha, 0.5);
    EXPECT_EQ(s.prior.beta, 0.5);
    EXPECT_EQ(s.sequential.alpha, 0.1);
    EXPECT_EQ(s.sequential.planned_subjects_per_arm, 5000);
    ASSERT_TRUE(s.sequential.tau2.has_value());
    EXPECT_DOUBLE_EQ(*s.sequential.tau2, 0.0004);  // tau squared
    EXPECT_EQ(s.fail_fast.threshold, 0.99);
    EXPECT_EQ(s.fail_fast.min_samples, 500);
    EXPECT_EQ(s.bandit.min_share, 0.05);
    EXPECT_EQ(s.bandit.min_samples, 200);
    EXPECT_EQ(s.bandit.draws, 5000u);
    EXPECT_EQ(s.bandit.seed, 42u);
}

TEST(AnalysisSettings, ErrorPathsNameTheField) {
    auto bad = [](const char* code, const char* doc, const std::string& path,
                  const std::string& also = "") {
        expect_code([&] { abx::analysis::parse_settings(json::parse(doc)); }, code, path, also);
    };
    // out of range: 22003
    bad("22003", R"({"confidence": 1})", "analysis.confidence", "between 0 and 1");
    bad("22003", R"({"srm_threshold": 0})", "analysis.srm_threshold");
    bad("22003", R"({"prior": {"alpha": 0}})", "analysis.prior.alpha", "> 0");
    bad("22003", R"({"sequential": {"tau": -1}})", "analysis.sequential.tau", "> 0");
    bad("22003", R"({"sequential": {"alpha": 2}})", "analysis.sequential.alpha");
    bad("22003", R"({"sequential": {"planned_subjects_per_arm": 0}})",
        "analysis.sequential.planned_subjects_per_arm");
    bad("22003", R"({"fail_fast": {"threshold": 1.5}})", "analysis.fail_fast.threshold");
    bad("22003", R"({"fail_fast": {"min_samples": -1}})", "analysis.fail_fast.min_samples");
    bad("22003", R"({"bandit": {"min_share": 0.6}})", "analysis.bandit.min_share");
    bad("22003", R"({"bandit": {"draws": 0}})", "analysis.bandit.draws");
    bad("22003", R"({"bandit": {"draws": 20000000}})", "analysis.bandit.draws");
    bad("22003", R"({"bandit": {"seed": -1}})", "analysis.bandit.seed");
    // wrong JSON type: 22P02
    bad("22P02", R"({"confidence": "0.95"})", "analysis.confidence", "must be a number");
    bad("22P02", R"({"prior": {"beta": true}})", "analysis.prior.beta", "must be a number");
    bad("22P02", R"({"bandit": {"draws": 100.5}})", "analysis.bandit.draws", "integer");
    bad("22P02", R"({"bandit": {"seed": "42"}})", "analysis.bandit.seed");
    bad("22P02", R"({"sequential": [0.05]})", "analysis.sequential", "JSON object");
    bad("22P02", R"([1])", "analysis", "JSON object");
    // other bad values: 22023
    bad("22023", R"({"prior": {"gamma": 1}})", "analysis.prior.gamma", "unknown field");
    bad("22023", R"({"fail_fast": {"min_sample": 1}})", "analysis.fail_fast.min_sample",
        "unknown field");
    bad("22023", R"({"bandit": {"arms": 2}})", "analysis.bandit.arms", "unknown field");
    bad("22023", R"({"level": 0.9})", "analysis.level", "unknown field");
}

// The glue reads a number that does not fit a double (1e999 is valid jsonb) as NaN.
TEST(AnalysisSettings, NumbersThatDidNotFitAreOutOfRange) {
    for (const char* pointer :
         {"/confidence", "/prior/alpha", "/sequential/planned_subjects_per_arm",
          "/fail_fast/min_samples", "/bandit/min_share", "/bandit/draws", "/bandit/seed"}) {
        SCOPED_TRACE(pointer);
        json doc = json::object();
        doc[json::json_pointer(pointer)] = NAN;
        std::string path = std::string("analysis") + pointer;
        for (char& c : path)
            if (c == '/') c = '.';
        expect_code([&] { abx::analysis::parse_settings(doc); }, "22003", path, kDoubleRange);
    }
}

TEST(AnalysisWinnerPolicy, DefaultsAndAllFields) {
    const auto d = abx::analysis::parse_winner_policy(json::object());
    EXPECT_FALSE(d.automatic);
    EXPECT_EQ(d.min_runtime_hours, 48);
    EXPECT_EQ(d.min_assignments, 1000);
    EXPECT_EQ(d.confidence, 0.95);
    EXPECT_EQ(d.min_improvement, 0.05);
    EXPECT_EQ(d.max_error_rate, 0.05);
    EXPECT_FALSE(d.override_variant.has_value());

    const auto p = abx::analysis::parse_winner_policy(json::parse(R"({
        "mode": "automatic", "pick_after_hours": 72, "min_assignments": 2000,
        "min_exposures": 500, "exposure_event": "view", "min_conversions": 50,
        "override_variant": "green", "confidence": 0.99, "min_improvement": 0.1,
        "max_error_rate": 0.02, "error_metric": "errors", "latency_metric": "latency",
        "require_manual_approval": true})"));
    EXPECT_TRUE(p.automatic);
    EXPECT_EQ(p.min_runtime_hours, 72);
    EXPECT_EQ(p.min_assignments, 2000);
    EXPECT_EQ(p.min_exposures, 500);
    EXPECT_EQ(p.exposure_event, "view");
    EXPECT_EQ(p.min_conversions, 50);
    EXPECT_EQ(p.override_variant, "green");
    EXPECT_EQ(p.confidence, 0.99);
    EXPECT_EQ(p.min_improvement, 0.1);
    EXPECT_EQ(p.max_error_rate, 0.02);
    EXPECT_EQ(p.error_metric, "errors");
    EXPECT_EQ(p.latency_metric, "latency");
    EXPECT_TRUE(p.require_manual_approval);
    // 1000.0 is an integer.
    EXPECT_EQ(abx::analysis::parse_winner_policy(json::parse(R"({"min_assignments": 1000.0})"))
                  .min_assignments,
              1000);
}

TEST(AnalysisWinnerPolicy, ErrorPathsNameTheField) {
    auto bad = [](const char* code, const char* doc, const std::string& path,
                  const std::string& also = "") {
        expect_code([&] { abx::analysis::parse_winner_policy(json::parse(doc)); }, code, path,
                    also);
    };
    // out of range: 22003
    bad("22003", R"({"min_assignments": -1})", "winner_policy.min_assignments", "integer >= 0");
    bad("22003", R"({"min_assignments": 9223372036854775808})", "winner_policy.min_assignments");
    bad("22003", R"({"pick_after_hours": -2})", "winner_policy.pick_after_hours", ">= 0");
    bad("22003", R"({"min_conversions": 1e30})", "winner_policy.min_conversions");
    bad("22003", R"({"confidence": 95})", "winner_policy.confidence", "between 0 and 1");
    bad("22003", R"({"min_improvement": -0.1})", "winner_policy.min_improvement");
    bad("22003", R"({"max_error_rate": 1.5})", "winner_policy.max_error_rate");
    // wrong JSON type: 22P02
    bad("22P02", R"({"min_assignments": 10.5})", "winner_policy.min_assignments", "integer");
    bad("22P02", R"({"min_assignments": "1000"})", "winner_policy.min_assignments");
    bad("22P02", R"({"override_variant": 3})", "winner_policy.override_variant", "string");
    bad("22P02", R"({"mode": true})", "winner_policy.mode", "string");
    bad("22P02", R"({"confidence": "high"})", "winner_policy.confidence", "must be a number");
    bad("22P02", R"({"require_manual_approval": "yes"})", "winner_policy.require_manual_approval");
    bad("22P02", R"("automatic")", "winner_policy", "JSON object");
    // other bad values: 22023
    bad("22023", R"({"mode": "auto"})", "winner_policy.mode", "manual");
    bad("22023", R"({"min_exposures": 10})", "winner_policy.exposure_event", "required");
    bad("22023", R"({"exposure_event": "a b"})", "winner_policy.exposure_event");
    bad("22023", R"({"error_metric": ""})", "winner_policy.error_metric");
    bad("22023", R"({"pickAfterMs": 1000})", "winner_policy.pickAfterMs", "unknown field");
}

TEST(AnalysisWinnerPolicy, NumbersThatDidNotFitAreOutOfRange) {
    for (const char* key : {"pick_after_hours", "min_assignments", "min_exposures",
                            "min_conversions", "confidence", "min_improvement", "max_error_rate"}) {
        SCOPED_TRACE(key);
        json doc = {{"exposure_event", "view"}};
        doc[key] = NAN;
        expect_code([&] { abx::analysis::parse_winner_policy(doc); }, "22003",
                    std::string("winner_policy.") + key, kDoubleRange);
    }
}

TEST(AnalysisWinnerPolicy, ValidateAgainstMetrics) {
    const auto metrics = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"},
                       {"key": "latency", "kind": "avg", "event": "load", "objective": "minimize"}]
    })"));
    abx::analysis::WinnerPolicy p;
    p.error_metric = "errors";
    p.latency_metric = "latency";
    EXPECT_NO_THROW(abx::analysis::validate_winner_policy(p, metrics));
    p.error_metric = "latency";
    expect_invalid([&] { abx::analysis::validate_winner_policy(p, metrics); },
                   "winner_policy.error_metric", "rate");
    p.error_metric = "nope";
    expect_invalid([&] { abx::analysis::validate_winner_policy(p, metrics); },
                   "winner_policy.error_metric", "no metric named 'nope'");
    p.error_metric = "errors";
    p.latency_metric = "conversion";
    expect_invalid([&] { abx::analysis::validate_winner_policy(p, metrics); },
                   "winner_policy.latency_metric");
}

}  // namespace
