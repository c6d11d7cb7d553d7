#include "abx/slo.hpp"

#include "expect_error.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace abx;
using namespace abx::slo;
using nlohmann::json;

namespace {

json prom(json extra = json::object()) {
    json p = {{"baseUrl", "http://127.0.0.1:9090/"}};
    p.update(extra);
    return p;
}

const json kTargets = {{"p95_latency_ms", 800}, {"error_rate_threshold", 0.02}};

Config config() {
    return parse_config(kTargets, prom());
}

}  // namespace

TEST(SloConfig, DefaultsAreSeed000s) {
    Config c = config();
    EXPECT_EQ(c.base_url, "http://127.0.0.1:9090");  // the trailing slash is dropped
    EXPECT_EQ(c.interval_ms, 30000);
    EXPECT_EQ(c.window, "5m");
    EXPECT_EQ(c.breach_checks, 3);
    EXPECT_EQ(c.timeout_ms, 5000);
    EXPECT_EQ(*c.p95_latency_ms, 800);
    EXPECT_EQ(*c.error_rate_threshold, 0.02);
    EXPECT_EQ(c.query_latency,
              "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{experiment=\""
              "${experimentId}\"}[${window}])) by (le)) * 1000");
    EXPECT_EQ(c.query_error_rate,
              "sum(rate(http_requests_total{experiment=\"${experimentId}\",status=~\"5..\"}[${"
              "window}])) / clamp_min(sum(rate(http_requests_total{experiment=\"${experimentId}\"}"
              "[${window}])), 1e-9)");
    EXPECT_EQ(c.to_json()["prometheus"]["breachChecks"], 3);
}

TEST(SloConfig, ExplicitValues) {
    Config c = parse_config(json(nullptr), prom({{"intervalMs", 1500},
                                                 {"window", "15s"},
                                                 {"breachChecks", 2},
                                                 {"timeoutMs", 700},
                                                 {"queryLatency", "up"}}));
    EXPECT_EQ(c.interval_ms, 1500);
    EXPECT_EQ(c.window, "15s");
    EXPECT_EQ(c.breach_checks, 2);
    EXPECT_EQ(c.timeout_ms, 700);
    EXPECT_EQ(c.query_latency, "up");
    EXPECT_FALSE(c.p95_latency_ms);
    // A short interval bounds the default timeout.
    EXPECT_EQ(parse_config(kTargets, prom({{"intervalMs", 2000}})).timeout_ms, 2000);
}

TEST(SloConfig, BadFieldsAreNamed) {
    expect_invalid([] { parse_config(kTargets, prom({{"windw", "5m"}})); }, "prometheus.windw");
    expect_invalid(
        [] {
            parse_config(kTargets, prom({{"window", "5 minutes"}}));
        },
        "prometheus.window");
    expect_invalid([] { parse_config(kTargets, prom({{"window", "0s"}})); }, "prometheus.window");
    expect_invalid([] { parse_config(kTargets, {{"baseUrl", "ftp://x"}}); }, "prometheus.baseUrl");
    expect_invalid(
        [] {
            parse_config(kTargets, {{"baseUrl", "http://x/?q=1"}});
        },
        "prometheus.baseUrl");
    expect_error(
        [] {
            parse_config(kTargets, {{"baseUrl", "http://ops:secret@prom:9090"}});
        },
        "22023", "credentials");
    // An @ in the path is no credential.
    EXPECT_EQ(parse_config(kTargets, {{"baseUrl", "http://prom:9090/a@b"}}).base_url,
              "http://prom:9090/a@b");
    expect_error([] { parse_config(kTargets, json::object()); }, "22004", "prometheus.baseUrl");
    expect_error(
        [] {
            parse_config(kTargets, prom({{"intervalMs", 999}}));
        },
        "22003", "prometheus.intervalMs");
    expect_error(
        [] {
            parse_config(kTargets, prom({{"intervalMs", "30000"}}));
        },
        "22P02", "prometheus.intervalMs");
    expect_invalid(
        [] {
            parse_config(kTargets, prom({{"breachChecks", 2.5}}));
        },
        "prometheus.breachChecks");
    expect_error(
        [] {
            parse_config(kTargets, prom({{"breachChecks", 0}}));
        },
        "22003", "prometheus.breachChecks");
    expect_error(
        [] {
            parse_config(kTargets, prom({{"intervalMs", 1000}, {"timeoutMs", 2000}}));
        },
        "22003", "prometheus.timeoutMs");
    expect_error(
        [] {
            parse_config({{"p95_latency_ms", 0}}, prom());
        },
        "22003", "sla_target.p95_latency_ms");
    expect_error(
        [] {
            parse_config({{"error_rate_threshold", 1.5}}, prom());
        },
        "22003", "sla_target.error_rate_threshold");
    expect_invalid([] { parse_config({{"p99", 1}}, prom()); }, "sla_target.p99");
    expect_error([] { parse_config(kTargets, json::array()); }, "22P02", "prometheus");
}

TEST(SloConfig, Durations) {
    for (const char* ok : {"15s", "5m", "1h30m", "250ms", "1d", "2w", "1y", "10s500ms"})
        EXPECT_TRUE(valid_duration(ok)) << ok;
    for (const char* bad : {"", "5", "m", "5M", "-5m", "5m ", "0s", "1.5m", "5mm", "${window}"})
        EXPECT_FALSE(valid_duration(bad)) << bad;
}

TEST(SloQuery, PlaceholdersAreReplacedEverywhere) {
    Config c = config();
    std::string q = substitute(c.query_error_rate, "checkout-v2", "15s");
    EXPECT_EQ(q,
              "sum(rate(http_requests_total{experiment=\"checkout-v2\",status=~\"5..\"}[15s])) / "
              "clamp_min(sum(rate(http_requests_total{experiment=\"checkout-v2\"}[15s])), 1e-9)");
    EXPECT_EQ(substitute("${experimentId${window}}", "e", "1m"), "${experimentId1m}");
    EXPECT_EQ(substitute("no placeholders", "e", "1m"), "no placeholders");
    EXPECT_EQ(
        substitute("x{experiment=\"${experimentId}\",org=\"${organization}\"}", "e", "1m", "acme"),
        "x{experiment=\"e\",org=\"acme\"}");
    EXPECT_EQ(substitute("${organization}", "e", "1m"), "");
}

TEST(SloQuery, UrlIsPercentEncoded) {
    EXPECT_EQ(query_url("http://p:9090", "up{job=\"a b\"} * 1000"),
              "http://p:9090/api/v1/query?query=up%7Bjob%3D%22a%20b%22%7D%20%2A%201000");
}

TEST(SloResponse, VectorScalarAndNoData) {
    Sample s =
        parse_query_response(200, R"({"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"v":"a"},"value":[1700000000.1,"120.5"]},
                {"metric":{"v":"b"},"value":[1700000000.1,"950"]}]}})");
    ASSERT_EQ(s.kind, Sample::Kind::Value);
    EXPECT_EQ(s.value, 950);  // the worst series counts
    s = parse_query_response(
        200, R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"0.03"]}})");
    ASSERT_EQ(s.kind, Sample::Kind::Value);
    EXPECT_DOUBLE_EQ(s.value, 0.03);
    s = parse_query_response(200,
                             R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    EXPECT_EQ(s.kind, Sample::Kind::NoData);
    s = parse_query_response(
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}})");
    EXPECT_EQ(s.kind, Sample::Kind::NoData);
    s = parse_query_response(
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}})");
    ASSERT_EQ(s.kind, Sample::Kind::Value);  // above every bucket: a very high latency
    EXPECT_TRUE(std::isinf(s.value));
}

TEST(SloResponse, Errors) {
    Sample s = parse_query_response(
        400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 3"})");
    EXPECT_EQ(s.kind, Sample::Kind::Error);
    EXPECT_NE(s.message.find("bad_data: parse error"), std::string::npos) << s.message;
    EXPECT_EQ(parse_query_response(502, "<html>bad gateway</html>").kind, Sample::Kind::Error);
    EXPECT_EQ(parse_query_response(200, "not json").kind, Sample::Kind::Error);
    EXPECT_EQ(parse_query_response(
                  200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})")
                  .kind,
              Sample::Kind::Error);
    EXPECT_EQ(
        parse_query_response(
            200,
            R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}]}})")
            .kind,
        Sample::Kind::Error);
}

TEST(SloJudge, Outcomes) {
    Config c = config();
    Observation o = judge(c, 120, 0.001, std::nullopt);
    EXPECT_EQ(o.outcome, Outcome::Ok);
    o = judge(c, 850, 0.001, std::nullopt);
    EXPECT_EQ(o.outcome, Outcome::Breach);
    EXPECT_EQ(o.message, "p95 latency 850 ms > 800 ms");
    EXPECT_EQ(judge(c, 800, 0.02, std::nullopt).outcome, Outcome::Ok);  // at the target: ok
    o = judge(c, 100, 0.5, std::nullopt);
    EXPECT_EQ(o.outcome, Outcome::Breach);
    EXPECT_EQ(o.message, "error rate 0.5 > 0.02");
    // A breach seen by one query counts although the other failed.
    EXPECT_EQ(judge(c, 900, std::nullopt, "timeout").outcome, Outcome::Breach);
    o = judge(c, 100, std::nullopt, "connection refused");
    EXPECT_EQ(o.outcome, Outcome::Error);
    EXPECT_EQ(o.message, "connection refused");
    o = judge(c, std::nullopt, 0.001, std::nullopt);
    EXPECT_EQ(o.outcome, Outcome::NoData);
    EXPECT_EQ(o.message, "no data for the p95 latency");
    EXPECT_EQ(judge(c, std::nullopt, std::nullopt, std::nullopt).message,
              "no data for the p95 latency and the error rate");
    // Only the targets set are checked.
    Config latency_only = parse_config({{"p95_latency_ms", 800}}, prom());
    o = judge(latency_only, 100, std::nullopt, std::nullopt);
    EXPECT_EQ(o.outcome, Outcome::Ok);
    EXPECT_FALSE(o.error_rate);
    EXPECT_EQ(judge(parse_config(nullptr, prom()), 5000, 1, std::nullopt).outcome, Outcome::NoData);
}

TEST(SloDecide, ConsecutiveBreachesAct) {
    Decision d = decide(0, Outcome::Breach, 3, Status::Completed, true);
    EXPECT_EQ(d.consecutive, 1);
    EXPECT_EQ(d.action, Remedy::None);
    d = decide(1, Outcome::Breach, 3, Status::Completed, true);
    EXPECT_EQ(d.consecutive, 2);
    EXPECT_FALSE(d.threshold_reached);
    d = decide(2, Outcome::Breach, 3, Status::Completed, true);
    EXPECT_EQ(d.consecutive, 3);
    EXPECT_TRUE(d.first_at_threshold);
    EXPECT_EQ(d.action, Remedy::Rollback);
    d = decide(2, Outcome::Breach, 3, Status::Running, false);
    EXPECT_EQ(d.action, Remedy::Pause);
    d = decide(3, Outcome::Breach, 3, Status::Running, false);
    EXPECT_TRUE(d.threshold_reached);
    EXPECT_FALSE(d.first_at_threshold);
    EXPECT_EQ(d.action, Remedy::Pause);
    // Paused, completed without promotion, archived: nothing to do.
    EXPECT_EQ(decide(5, Outcome::Breach, 3, Status::Paused, false).action, Remedy::None);
    EXPECT_EQ(decide(5, Outcome::Breach, 3, Status::Completed, false).action, Remedy::None);
    EXPECT_EQ(decide(0, Outcome::Breach, 1, Status::Running, false).action, Remedy::Pause);
}

TEST(SloDecide, MissingDataNeverActsNorClears) {
    // ok resets; no data and errors leave the count and never act.
    EXPECT_EQ(decide(2, Outcome::Ok, 3, Status::Running, false).consecutive, 0);
    for (Outcome o : {Outcome::NoData, Outcome::Error}) {
        Decision d = decide(2, o, 3, Status::Running, false);
        EXPECT_EQ(d.consecutive, 2);
        EXPECT_EQ(d.action, Remedy::None);
        d = decide(7, o, 3, Status::Completed, true);
        EXPECT_EQ(d.action, Remedy::None);
        EXPECT_FALSE(d.threshold_reached);
    }
    expect_invalid([] { decide(0, Outcome::Breach, 0, Status::Running, false); }, "breach_checks");
}
