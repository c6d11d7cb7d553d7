// The spec validates its analysis documents where they are defined (analysis.hpp), so a bad
// metric, policy or bandit setting is refused at create/update time, naming the path.
#include "abx/error.hpp"
#include "abx/experiment_spec.hpp"

#include <gtest/gtest.h>

using abx::Error;
using nlohmann::json;

namespace {
json base() {
    return json::parse(R"({"code": "x", "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
        "metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "purchase"},
                    "guardrails": [{"key": "latency", "kind": "avg", "event": "page_ms",
                                    "objective": "minimize"}]}})");
}

std::string refusal(const json& spec, const std::string& sqlstate = "22023") {
    try {
        abx::parse_experiment_spec(spec);
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate, sqlstate) << e.what();
        return e.what();
    }
    return "accepted";
}
}  // namespace

TEST(ExperimentSpecAnalysis, ValidDocumentsAccepted) {
    json spec = base();
    spec["winner_policy"] = {{"latency_metric", "latency"}, {"min_assignments", 500}};
    spec["analysis"] = {{"confidence", 0.99}};
    EXPECT_EQ(refusal(spec), "accepted");
}

TEST(ExperimentSpecAnalysis, BadMetricNamesItsPath) {
    json spec = base();
    spec["metrics"]["primary"]["kind"] = "median";
    EXPECT_NE(refusal(spec).find("metrics.primary.kind"), std::string::npos);
}

TEST(ExperimentSpecAnalysis, PolicyMustReferToFittingMetrics) {
    json spec = base();
    spec["winner_policy"] = {{"error_metric", "latency"}};  // an avg metric cannot be an error rate
    EXPECT_NE(refusal(spec).find("winner_policy.error_metric"), std::string::npos);
    spec["winner_policy"] = {{"error_metric", "nonexistent"}};
    EXPECT_NE(refusal(spec).find("winner_policy.error_metric"), std::string::npos);
}

TEST(ExperimentSpecAnalysis, BanditFloorMustLeaveRoomForEveryArm) {
    json spec = base();
    spec["kind"] = "bandit";
    spec["analysis"] = {{"bandit", {{"min_share", 0.34}}}};  // 3 arms: at most 1/3
    EXPECT_NE(refusal(spec, "22003").find("analysis.bandit.min_share"), std::string::npos);
    spec["analysis"] = {{"bandit", {{"min_share", 0.33}}}};
    EXPECT_EQ(refusal(spec), "accepted");
}

TEST(ExperimentSpecAnalysis, BadSettingNamesItsPath) {
    json spec = base();
    spec["analysis"] = {{"confidence", 1.5}};
    EXPECT_NE(refusal(spec, "22003").find("analysis.confidence"), std::string::npos);
    spec["analysis"] = {{"confidence", "95%"}};
    EXPECT_NE(refusal(spec, "22P02").find("analysis.confidence"), std::string::npos);
}
