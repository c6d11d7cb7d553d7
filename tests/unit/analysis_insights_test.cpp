// Tests of abx::analysis::insights: leader, recommendation text (seed 002 style), significant
// results, fail-fast flags, SRM status and warnings. Reference numbers from R 4.2 (command next to
// each value).
#include "abx/analysis.hpp"

#include <gtest/gtest.h>

#include "analysis_fixtures.hpp"

#include <string>
#include <vector>

namespace {

using abx_test::arm;
using abx_test::rate;

using abx::analysis::ExperimentData;
using abx::stats::Summary;
using nlohmann::json;

json run(const ExperimentData& d) {
    return abx::analysis::insights(d, abx::analysis::analyze(d, false));
}

bool has_warning(const json& j, const std::string& text) {
    for (const auto& w : j["warnings"])
        if (w.get<std::string>().find(text) != std::string::npos) return true;
    return false;
}

ExperimentData conversion(std::vector<abx::analysis::VariantData> variants,
                          const char* objective = "maximize") {
    ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(json{
        {"primary",
         {{"key", "conversion"}, {"kind", "rate"}, {"event", "buy"}, {"objective", objective}}}});
    d.variants = std::move(variants);
    return d;
}

TEST(AnalysisInsights, LeaderAndRecommendationLikeSeed) {
    const ExperimentData d = conversion({arm("blue", true, 10000, {rate(10000, 780)}),
                                         arm("green", false, 10000, {rate(10000, 847)})});
    const json j = run(d);
    ASSERT_TRUE(j["leader"].is_object());
    EXPECT_EQ(j["leader"]["variant"], "green");
    EXPECT_EQ(j["leader"]["metric"], "conversion");
    EXPECT_DOUBLE_EQ(j["leader"]["rate"].get<double>(), 0.0847);
    // R: prop.test(847, 10000, correct=FALSE)$conf.int
    EXPECT_NEAR(j["leader"]["lower"].get<double>(), 0.079400971500642861, 1e-12);
    EXPECT_NEAR(j["leader"]["upper"].get<double>(), 0.090317977546041109, 1e-12);
    const std::string text = j["recommendation"];
    EXPECT_EQ(text.rfind("Variant 'green' is currently leading with 8.47% conversion "
                         "(95% CI 7.94%\u20139.03%), ",
                         0),
              0u)
        << text;
    EXPECT_NE(text.find("chance to beat control"), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos);  // one line
    EXPECT_FALSE(j["srm"]["mismatch"].get<bool>());
    EXPECT_TRUE(j["warnings"].empty()) << j["warnings"].dump();
    EXPECT_TRUE(j["fail_fast"].empty());

    // A 90% level shows in the text.
    ExperimentData d90 = d;
    d90.settings.confidence = 0.9;
    EXPECT_NE(run(d90)["recommendation"].get<std::string>().find("(90% CI "), std::string::npos);
}

TEST(AnalysisInsights, LeaderIsTheHighestProbBestAmongThreeArms) {
    ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(json::parse(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error",
                        "objective": "minimize"}]})"));
    d.variants = {arm("a", true, 2000, {rate(2000, 200), rate(2000, 20)}),
                  arm("b", false, 2000, {rate(2000, 240), rate(2000, 45)}),
                  arm("c", false, 2000, {rate(2000, 250), rate(2000, 22)})};
    const json j = run(d);
    // prob_best (see analysis_analyze_test.cpp): a 0.0016, b 0.314, c 0.684.
    EXPECT_EQ(j["leader"]["variant"], "c");
    EXPECT_NEAR(j["leader"]["prob_best"].get<double>(), 0.6840665990927510265, 1e-7);

    // Significant: b and c on conversion (the Holm family is {b, c} × conversion:
    // R p <- c(prop.test(c(240,200), c(2000,2000), correct=FALSE)$p.value,
    //          prop.test(c(250,200), c(2000,2000), correct=FALSE)$p.value)
    //   p.adjust(p, "holm") = 0.043244928043021637 0.024701895422382800)
    // and b on the errors guardrail (raw p 0.00177, worse; guardrails are not adjusted).
    ASSERT_EQ(j["significant"].size(), 3u) << j["significant"].dump();
    std::vector<std::string> seen;
    for (const auto& s : j["significant"])
        seen.push_back(s["variant"].get<std::string>() + "/" + s["metric"].get<std::string>() +
                       "/" + s["direction"].get<std::string>());
    EXPECT_EQ(seen, (std::vector<std::string>{"b/conversion/better", "b/errors/worse",
                                              "c/conversion/better"}));
    EXPECT_NEAR(j["significant"][0]["p_value_holm"].get<double>(), 0.043244928043021637, 1e-12);
    EXPECT_TRUE(has_warning(j, "guardrail 'errors' is significantly worse for 'b'"));

    // Fail-fast: b on errors, listed and recommended for stopping.
    ASSERT_EQ(j["fail_fast"].size(), 1u);
    EXPECT_EQ(j["fail_fast"][0]["variant"], "b");
    EXPECT_EQ(j["fail_fast"][0]["metric"], "errors");
    EXPECT_EQ(j["fail_fast"][0]["best"], "a");
    EXPECT_NE(j["recommendation"].get<std::string>().find("Consider stopping 'b' (99.9% likely "
                                                          "worse than 'a' on errors)"),
              std::string::npos)
        << j["recommendation"];
}

TEST(AnalysisInsights, MinimizeAndMeansWording) {
    // Lower is better: the lowest rate leads.
    const json j = run(conversion(
        {arm("a", true, 5000, {rate(5000, 300)}), arm("b", false, 5000, {rate(5000, 250)})},
        "minimize"));
    EXPECT_EQ(j["leader"]["variant"], "b");
    EXPECT_EQ(j["leader"]["objective"], "minimize");
    EXPECT_NE(j["recommendation"].get<std::string>().find("5.00% conversion (lower is better; 95% "
                                                          "CI "),
              std::string::npos)
        << j["recommendation"];

    // Means: value without a percent sign, t interval.
    ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(
        json::parse(R"({"primary": {"key": "revenue", "kind": "avg", "event": "buy"}})"));
    d.variants = {arm("control", true, 50, {Summary{50, 500, 5441}}),
                  arm("t", false, 60, {Summary{60, 690, 8879}})};
    const json m = run(d);
    EXPECT_EQ(m["leader"]["variant"], "t");
    EXPECT_DOUBLE_EQ(m["leader"]["mean"].get<double>(), 11.5);
    // R: set.seed(1); xc <- ...; xt <- as.numeric(scale(rnorm(60)))*4 + 11.5; t.test(xt)$conf.int
    //    -> 10.466690429976817 12.533309570023182
    EXPECT_EQ(
        m["recommendation"].get<std::string>().rfind(
            "Variant 't' is currently leading with 11.50 revenue (95% CI 10.47\u201312.53)", 0),
        0u)
        << m["recommendation"];
}

TEST(AnalysisInsights, ControlCanLead) {
    const json j = run(conversion(
        {arm("a", true, 3000, {rate(3000, 300)}), arm("b", false, 3000, {rate(3000, 280)})}));
    EXPECT_EQ(j["leader"]["variant"], "a");
    EXPECT_EQ(j["recommendation"].get<std::string>().rfind(
                  "Variant 'a' (control) is currently leading with 10.00% conversion", 0),
              0u)
        << j["recommendation"];
}

TEST(AnalysisInsights, SrmMismatchIsReported) {
    ExperimentData d = conversion(
        {arm("a", true, 5000, {rate(5000, 500)}), arm("b", false, 5400, {rate(5400, 560)})});
    const json j = run(d);
    EXPECT_TRUE(j["srm"]["mismatch"].get<bool>());
    // R: chisq.test(c(5000,5400), p=c(.5,.5))$p.value
    EXPECT_NEAR(j["srm"]["p_value"].get<double>(), 8.7699423755902318e-05, 1e-12);
    EXPECT_EQ(j["srm"]["observed"]["b"], 5400);
    EXPECT_EQ(j["srm"]["expected"]["b"].get<double>(), 5200);
    EXPECT_TRUE(has_warning(j, "sample ratio mismatch: assignments 5000/5400"));
    EXPECT_NE(j["recommendation"].get<std::string>().find("sample ratio mismatch"),
              std::string::npos);
}

TEST(AnalysisInsights, NoPrimaryMetric) {
    ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(
        json::parse(R"({"secondary": [{"key": "clicks", "kind": "count", "event": "click"}]})"));
    d.variants = {arm("a", true, 100, {Summary{100, 120, 200}}),
                  arm("b", false, 100, {Summary{100, 130, 220}})};
    const json j = run(d);
    EXPECT_TRUE(j["leader"].is_null());
    EXPECT_TRUE(has_warning(j, "no primary metric"));
    EXPECT_EQ(j["recommendation"].get<std::string>().rfind("No primary metric", 0), 0u);
}

TEST(AnalysisInsights, SmallSamplesAndNoData) {
    const json small =
        run(conversion({arm("a", true, 40, {rate(40, 4)}), arm("b", false, 150, {rate(150, 20)})}));
    EXPECT_TRUE(has_warning(small, "small sample: variant 'a' has 40 subjects"));
    EXPECT_FALSE(has_warning(small, "variant 'b'"));

    const json none =
        run(conversion({arm("a", true, 0, {rate(0, 0)}), arm("b", false, 0, {rate(0, 0)})}));
    EXPECT_TRUE(none["leader"].is_null());
    EXPECT_EQ(none["recommendation"].get<std::string>().rfind("Not enough data yet", 0), 0u);
    EXPECT_FALSE(none["srm"]["mismatch"].get<bool>());
}

}  // namespace
