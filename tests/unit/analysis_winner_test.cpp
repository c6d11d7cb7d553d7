// Tests of abx::analysis::evaluate_winner: the eligible case, each safety check failing on its
// own, the override variant, the warnings, and no primary metric. Reference numbers from R 4.2
// (command next to each value).
#include "abx/analysis.hpp"

#include <gtest/gtest.h>

#include "analysis_fixtures.hpp"

#include <string>
#include <vector>

namespace {

using abx_test::arm;
using abx_test::rate;
using abx_test::values;

using abx::analysis::ExperimentData;
using abx::analysis::WinnerContext;
using abx::analysis::WinnerEvaluation;
using abx::analysis::WinnerPolicy;
using abx::stats::Summary;
using nlohmann::json;

const char* kMetrics = R"({
    "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
    "secondary": [{"key": "latency", "kind": "avg", "event": "load", "objective": "minimize"}],
    "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]})";

// control 10% vs green 12% conversion on 10,000 subjects each; same error rate; latency +5%.
// Metric order after parsing: conversion, latency (secondary), errors (guardrail).
struct Case {
    ExperimentData data;
    WinnerPolicy policy;
    WinnerContext context;

    Case() {
        data.metrics = abx::analysis::parse_metrics(json::parse(kMetrics));
        data.variants = {arm("control", true, 10000,
                             {rate(10000, 1000), values(10000, 200, 50), rate(10000, 100)}),
                         arm("green", false, 10000,
                             {rate(10000, 1200), values(10000, 210, 50), rate(10000, 100)})};
        policy = abx::analysis::parse_winner_policy(json::parse(R"({
            "mode": "automatic", "pick_after_hours": 48, "min_assignments": 1000,
            "min_exposures": 5000, "exposure_event": "view", "min_conversions": 500,
            "confidence": 0.95, "min_improvement": 0.05, "max_error_rate": 0.05,
            "error_metric": "errors", "latency_metric": "latency"})"));
        context.runtime_hours = 72;
        context.exposed_subjects = {9000, 9000};
    }

    WinnerEvaluation evaluate() const {
        return abx::analysis::evaluate_winner(policy, data, abx::analysis::analyze(data, false),
                                              context);
    }
};

const abx::analysis::SafetyCheck* check(const WinnerEvaluation& e, const std::string& name) {
    for (const auto& c : e.checks)
        if (c.name == name) return &c;
    return nullptr;
}

std::vector<std::string> failed(const WinnerEvaluation& e) {
    std::vector<std::string> out;
    for (const auto& c : e.checks)
        if (!c.passed) out.push_back(c.name);
    return out;
}

bool has(const std::vector<std::string>& texts, const std::string& part) {
    for (const auto& t : texts)
        if (t.find(part) != std::string::npos) return true;
    return false;
}

// Exactly `name` blocks (with `status`: failed or not_evaluable) and nothing is eligible.
void expect_only_failure(const Case& c, const std::string& name,
                         const std::string& status = "failed") {
    const WinnerEvaluation e = c.evaluate();
    EXPECT_FALSE(e.eligible);
    EXPECT_EQ(failed(e), std::vector<std::string>{name});
    EXPECT_TRUE(has(e.reasons, name + ":")) << json(e.reasons).dump();
    const auto* blocking = check(e, name);
    ASSERT_NE(blocking, nullptr);
    EXPECT_EQ(blocking->status, status) << blocking->detail;
    EXPECT_EQ(e.to_json()["checks"][name]["status"], status);
}

TEST(AnalysisWinner, EligibleCase) {
    const WinnerEvaluation e = Case().evaluate();
    EXPECT_TRUE(e.eligible) << json(e.reasons).dump();
    ASSERT_TRUE(e.winner.has_value());
    EXPECT_EQ(*e.winner, "green");
    EXPECT_EQ(e.control, "control");
    // R (mSPRT, see analysis_analyze_test.cpp for the formula):
    //   pt<-.12; pc<-.1; V<-(pt*(1-pt)+pc*(1-pc))/1e4; tau2<-xs*V ... min(1,1/lam)
    //   = 3.3387844891180515e-04
    EXPECT_NEAR(e.confidence, 1 - 3.3387844891180515e-04, 1e-9);
    EXPECT_NEAR(e.improvement, 0.2, 1e-12);
    EXPECT_EQ(e.sample_size, 20000);
    const std::vector<std::string> names = {
        "min_sample_size",  "min_confidence",        "min_improvement",
        "min_runtime",      "error_rate_acceptable", "srm_clean",
        "guardrails_clean", "min_exposures",         "min_conversions"};
    ASSERT_EQ(e.checks.size(), names.size());
    for (const auto& n : names) {
        const auto* c = check(e, n);
        ASSERT_NE(c, nullptr) << n;
        EXPECT_TRUE(c->passed) << n << ": " << c->detail;
        EXPECT_EQ(c->status, "passed") << n;
        EXPECT_FALSE(c->detail.empty());
    }
    EXPECT_TRUE(e.warnings.empty()) << json(e.warnings).dump();
    EXPECT_TRUE(has(e.reasons, "all safety checks passed"));

    const json j = e.to_json();
    EXPECT_EQ(j["eligible"], true);
    EXPECT_EQ(j["winner"], "green");
    EXPECT_EQ(j["control"], "control");
    EXPECT_EQ(j["sample_size"], 20000.0);
    EXPECT_EQ(j["checks"]["srm_clean"]["passed"], true);
    EXPECT_EQ(j["checks"]["srm_clean"]["status"], "passed");
    EXPECT_TRUE(
        has(std::vector<std::string>{j["checks"]["min_exposures"]["detail"]}, "exposed subjects"));
    EXPECT_TRUE(j["checks"]["min_runtime"]["detail"].is_string());
    EXPECT_TRUE(j["reasons"].is_array());
    EXPECT_TRUE(j["warnings"].is_array());
}

TEST(AnalysisWinner, FailsMinSampleSize) {
    Case c;
    c.policy.min_assignments = 10001;
    expect_only_failure(c, "min_sample_size");
}

TEST(AnalysisWinner, FailsMinConfidenceWithTheSequentialPValue) {
    Case c;
    c.data.variants[1].metrics[0] = rate(10000, 1100);
    // R: prop.test(c(1100,1000), c(1e4,1e4), correct=FALSE)$p.value = 0.021075 (< 0.05, a naive
    // test would pass) but the always-valid p-value is 0.28312242619281630 (same mSPRT formula).
    const auto a = abx::analysis::analyze(c.data, false);
    EXPECT_NEAR(a.rows[3].p_value, 2.1075189273797746e-02, 1e-12);
    const WinnerEvaluation e = c.evaluate();
    EXPECT_NEAR(e.confidence, 1 - 0.28312242619281630, 1e-9);
    expect_only_failure(c, "min_confidence");
}

TEST(AnalysisWinner, FailsMinImprovement) {
    Case c;
    c.policy.min_improvement = 0.25;  // the lift is 20%
    expect_only_failure(c, "min_improvement");
}

TEST(AnalysisWinner, FailsMinRuntime) {
    Case c;
    c.context.runtime_hours = 47.5;
    expect_only_failure(c, "min_runtime");
}

TEST(AnalysisWinner, FailsErrorRate) {
    Case c;
    c.policy.max_error_rate = 0.009;  // green's error rate is 1%
    expect_only_failure(c, "error_rate_acceptable");
    // An error_metric that is not a rate metric fails the check instead of throwing.
    c.policy.max_error_rate = 0.05;
    c.policy.error_metric = "latency";
    expect_only_failure(c, "error_rate_acceptable");
}

TEST(AnalysisWinner, FailsSrm) {
    Case c;
    // R: chisq.test(c(10000,10600))$p.value = 2.9099921115764318e-05 < 0.001
    c.data.variants[1].assigned = 10600;
    expect_only_failure(c, "srm_clean");
}

TEST(AnalysisWinner, SrmIsNotApplicableToABandit) {
    // The same lopsided split, made by Thompson sampling on purpose: no test against the weights,
    // so nothing fails and nothing is "not evaluable" (which would block every bandit's winner).
    Case c;
    c.data.variants[1].assigned = 10600;
    c.data.adaptive_allocation = true;
    const WinnerEvaluation ev = c.evaluate();
    EXPECT_TRUE(ev.eligible);
    const abx::analysis::SafetyCheck* srm = check(ev, "srm_clean");
    ASSERT_NE(srm, nullptr);
    EXPECT_EQ(srm->status, "not_configured");
    EXPECT_TRUE(srm->passed);
    EXPECT_NE(srm->detail.find("bandit"), std::string::npos);
    const abx::analysis::Analysis a = abx::analysis::analyze(c.data, false);
    EXPECT_FALSE(a.srm.applicable);
    EXPECT_FALSE(a.srm.mismatch);
    EXPECT_FALSE(a.srm.defined);
    EXPECT_EQ(a.srm.total, 20600);
}

TEST(AnalysisWinner, FailsMinExposures) {
    Case c;
    c.context.exposed_subjects = {9000, 4000};
    expect_only_failure(c, "min_exposures");
    EXPECT_TRUE(has(c.evaluate().reasons, "'green' has 4000 exposed subjects"));
    c.context.exposed_subjects.clear();  // not supplied
    expect_only_failure(c, "min_exposures", "not_evaluable");
}

TEST(AnalysisWinner, ChecksThePolicyDoesNotAskForAreNotConfiguredAndDoNotBlock) {
    Case c;
    c.policy = abx::analysis::parse_winner_policy(json::parse(R"({
        "mode": "automatic", "pick_after_hours": 0, "min_assignments": 0, "min_exposures": 0,
        "min_conversions": 0, "min_improvement": 0})"));
    c.context.exposed_subjects.clear();  // not needed without min_exposures
    const WinnerEvaluation e = c.evaluate();
    EXPECT_TRUE(e.eligible) << json(e.reasons).dump();
    for (const char* name : {"min_sample_size", "min_runtime", "error_rate_acceptable",
                             "min_exposures", "min_conversions", "min_improvement"}) {
        const auto* k = check(e, name);
        ASSERT_NE(k, nullptr) << name;
        EXPECT_EQ(k->status, "not_configured") << name;
        EXPECT_TRUE(k->passed) << name;
        EXPECT_EQ(e.to_json()["checks"][name]["status"], "not_configured");
    }
    for (const char* name : {"min_confidence", "srm_clean"})
        EXPECT_EQ(check(e, name)->status, "passed");
    // min_conversions does not apply to a sum metric: not configured either.
    Case s;
    s.data.metrics = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"key": "revenue", "kind": "sum", "event": "buy"},
        "secondary": [{"key": "latency", "kind": "avg", "event": "load",
                       "objective": "minimize"}],
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error",
                        "objective": "minimize"}]})"));
    EXPECT_EQ(check(s.evaluate(), "min_conversions")->status, "not_configured");
}

TEST(AnalysisWinner, SrmThatCannotBeTestedBlocks) {
    Case c;
    // No assignment counted (the SRM test is undefined) while the metrics have data.
    for (auto& v : c.data.variants) v.assigned = 0;
    c.policy.min_assignments = 0;
    expect_only_failure(c, "srm_clean", "not_evaluable");
    EXPECT_FALSE(c.evaluate().to_json()["checks"]["srm_clean"]["passed"]);
}

TEST(AnalysisWinner, ErrorRateWithoutSubjectsIsNotEvaluable) {
    Case c;
    c.data.variants[1].metrics[2] = rate(0, 0);  // no subject of green reached the error metric
    expect_only_failure(c, "error_rate_acceptable", "not_evaluable");
}

TEST(AnalysisWinner, FailsMinConversions) {
    Case c;
    c.policy.min_conversions = 1100;  // the control has 1000
    expect_only_failure(c, "min_conversions");
}

TEST(AnalysisWinner, OverrideVariantSkipsStatistics) {
    Case c;
    c.data.variants[1].metrics[0] = rate(10000, 1000);  // no difference at all
    c.context.runtime_hours = 1;
    c.policy.override_variant = "green";
    WinnerEvaluation e = c.evaluate();
    EXPECT_TRUE(e.eligible);
    EXPECT_EQ(e.winner, "green");
    ASSERT_EQ(e.checks.size(), 1u);
    EXPECT_EQ(e.checks[0].name, "override_variant");
    EXPECT_TRUE(e.checks[0].passed);

    c.policy.override_variant = "control";  // going back to the control is a decision too
    e = c.evaluate();
    EXPECT_TRUE(e.eligible);
    EXPECT_EQ(e.winner, "control");

    c.policy.override_variant = "purple";
    e = c.evaluate();
    EXPECT_FALSE(e.eligible);
    EXPECT_FALSE(e.winner.has_value());
    EXPECT_FALSE(e.checks[0].passed);
    EXPECT_TRUE(has(e.reasons, "'purple' is not a variant"));
}

TEST(AnalysisWinner, WarningsDoNotBlock) {
    Case c;
    c.data.variants[1].metrics[2] = rate(10000, 110);        // 1.1% errors vs 1%: no proof of harm
    c.data.variants[1].metrics[1] = values(10000, 240, 50);  // +20% latency (a secondary metric)
    WinnerEvaluation e = c.evaluate();
    EXPECT_TRUE(e.eligible) << json(e.reasons).dump();
    EXPECT_TRUE(has(e.warnings, "higher error rate than the control")) << json(e.warnings).dump();
    EXPECT_TRUE(has(e.warnings, "20.0% higher latency")) << json(e.warnings).dump();
    EXPECT_FALSE(has(e.warnings, "small sample"));

    c.data.variants[1].metrics[1] = values(10000, 239, 50);  // +19.5%: no latency warning
    e = c.evaluate();
    EXPECT_FALSE(has(e.warnings, "latency"));
    EXPECT_TRUE(has(e.warnings, "higher error rate"));
}

TEST(AnalysisWinner, FailsAGuardrailShowingHarm) {
    Case c;
    // 1.5 % errors vs 1 %: the one-sided always-valid test shows harm (under the max_error_rate
    // of 5 %, so only the guardrail blocks).
    c.data.variants[1].metrics[2] = rate(10000, 150);
    expect_only_failure(c, "guardrails_clean");
    const WinnerEvaluation e = c.evaluate();
    EXPECT_TRUE(has(e.reasons, "'green' failed guardrail 'errors'")) << json(e.reasons).dump();
    // The same harm on a secondary metric is no guardrail: latency +20 % only warns.
    Case s;
    s.data.variants[1].metrics[1] = values(10000, 240, 50);
    EXPECT_TRUE(s.evaluate().eligible);
    // Without guardrail metrics the check is not configured.
    Case n;
    n.data.metrics = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "secondary": [{"key": "latency", "kind": "avg", "event": "load"},
                      {"key": "errors", "kind": "rate", "event": "error"}]})"));
    n.data.variants[1].metrics[2] = rate(10000, 150);
    const WinnerEvaluation ne = n.evaluate();
    EXPECT_EQ(check(ne, "guardrails_clean")->status, "not_configured");
}

TEST(AnalysisWinner, SmallSampleWarning) {
    Case c;
    c.data.variants = {
        arm("control", true, 800, {rate(800, 80), values(800, 200, 50), rate(800, 8)}),
        arm("green", false, 800, {rate(800, 160), values(800, 200, 50), rate(800, 8)})};
    c.policy.min_assignments = 500;
    c.policy.min_conversions = 50;
    c.context.exposed_subjects = {800, 800};
    c.policy.min_exposures = 500;
    const WinnerEvaluation e = c.evaluate();
    EXPECT_TRUE(e.eligible) << json(e.reasons).dump();
    EXPECT_TRUE(has(e.warnings, "small sample: 'green' has 800 assignments"));
    EXPECT_TRUE(has(e.warnings, "small sample: 'control' has 800 assignments"));
}

TEST(AnalysisWinner, NoPrimaryMetric) {
    Case c;
    c.data.metrics = abx::analysis::parse_metrics(json::parse(R"({
        "secondary": [{"key": "conversion", "kind": "rate", "event": "buy"},
                      {"key": "latency", "kind": "avg", "event": "load",
                       "objective": "minimize"}],
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error",
                        "objective": "minimize"}]})"));
    const WinnerEvaluation e = c.evaluate();
    EXPECT_FALSE(e.eligible);
    EXPECT_FALSE(e.winner.has_value());
    EXPECT_TRUE(has(e.reasons, "no primary metric"));
    const json j = e.to_json();
    EXPECT_TRUE(j["winner"].is_null());
    EXPECT_TRUE(j["confidence"].is_null());  // NaN as null
    EXPECT_TRUE(j["improvement"].is_null());
    EXPECT_EQ(j["checks"]["min_confidence"]["passed"], false);
}

TEST(AnalysisWinner, CandidateIsTheBestImprovingTreatment) {
    Case c;
    c.data.variants.push_back(
        arm("blue", false, 10000, {rate(10000, 1300), values(10000, 200, 50), rate(10000, 100)}));
    c.data.variants.push_back(
        arm("red", false, 10000, {rate(10000, 900), values(10000, 200, 50), rate(10000, 100)}));
    c.context.exposed_subjects = {9000, 9000, 9000, 9000};
    const WinnerEvaluation e = c.evaluate();
    EXPECT_EQ(e.winner, "blue");
    EXPECT_TRUE(e.eligible) << json(e.reasons).dump();

    // Lower is better: only a treatment with a lower value can be the candidate.
    Case m;
    m.data.metrics = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy",
                    "objective": "minimize"},
        "secondary": [{"key": "latency", "kind": "avg", "event": "load"}],
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error"}]})"));
    WinnerEvaluation none = m.evaluate();  // green has the higher rate: no candidate
    EXPECT_FALSE(none.eligible);
    EXPECT_FALSE(none.winner.has_value());
    EXPECT_TRUE(has(none.reasons, "no treatment improves on the control"));
    m.data.variants[1].metrics[0] = rate(10000, 800);  // 8% vs 10%: a 20% reduction
    const WinnerEvaluation down = m.evaluate();
    EXPECT_EQ(down.winner, "green");
    EXPECT_NEAR(down.improvement, -0.2, 1e-12);  // the relative lift itself
    EXPECT_TRUE(down.eligible) << json(down.reasons).dump();
}

TEST(AnalysisWinner, AllZeroDataIsNotEligibleAndDoesNotThrow) {
    Case c;
    for (auto& v : c.data.variants) {
        v.assigned = 0;
        v.metrics = {Summary{}, Summary{}, Summary{}};
    }
    WinnerEvaluation e;
    ASSERT_NO_THROW(e = c.evaluate());
    EXPECT_FALSE(e.eligible);
    EXPECT_NO_THROW(e.to_json().dump());
}

}  // namespace
