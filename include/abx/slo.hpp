// SLO guardrails on Prometheus (seed 000, docs/operations.md "SLO watcher"): an experiment's
// sla_target and prometheus documents, the PromQL it runs, what Prometheus answered, and what the
// watcher does about it. Pure: the worker does the HTTP, the glue records and acts.
#pragma once
#include "abx/core_only.hpp"
#include "abx/lifecycle.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace abx::slo {

// Seed 000's queries. ${experimentId} is the experiment's code (what an exporter labels its
// series with: experiment="checkout-button"), ${window} the rate() range.
inline constexpr const char* kDefaultLatencyQuery =
    "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{experiment=\"${"
    "experimentId}\"}[${window}])) by (le)) * 1000";
inline constexpr const char* kDefaultErrorRateQuery =
    "sum(rate(http_requests_total{experiment=\"${experimentId}\",status=~\"5..\"}[${window}])) / "
    "clamp_min(sum(rate(http_requests_total{experiment=\"${experimentId}\"}[${window}])), 1e-9)";
inline constexpr std::int64_t kDefaultIntervalMs = 30000;
inline constexpr const char* kDefaultWindow = "5m";
inline constexpr int kDefaultBreachChecks = 3;
inline constexpr std::int64_t kDefaultTimeoutMs = 5000;

struct Config {
    std::optional<double> p95_latency_ms;        // sla_target.p95_latency_ms; none: not checked
    std::optional<double> error_rate_threshold;  // sla_target.error_rate_threshold
    std::string base_url;                        // prometheus.baseUrl, without a trailing '/'
    std::int64_t interval_ms = kDefaultIntervalMs;
    std::string query_latency = kDefaultLatencyQuery;
    std::string query_error_rate = kDefaultErrorRateQuery;
    std::string window = kDefaultWindow;
    int breach_checks = kDefaultBreachChecks;     // consecutive breached checks before acting
    std::int64_t timeout_ms = kDefaultTimeoutMs;  // per query, connect included; <= interval_ms

    nlohmann::json to_json() const;  // with the defaults filled in
};

// Both documents as stored (prometheus required, an object; sla_target may be null: nothing is
// checked then). 22023/22P02/22003 naming the field ("prometheus.window"), as the routes do.
Config parse_config(const nlohmann::json& sla_target, const nlohmann::json& prometheus);

// A PromQL duration: one or more <number><unit> (ms, s, m, h, d, w, y), e.g. 5m, 1h30m, 15s.
bool valid_duration(const std::string& text);

// ${experimentId} (the experiment's code), ${window} and ${organization} (the organization's
// key, empty for a global experiment: codes are unique per organization only, so a service shared
// by several organizations labels by both) replaced. Codes and keys are [a-z0-9_-] (organization
// keys) or validated keys, so they need no escaping inside a PromQL string.
std::string substitute(const std::string& query, const std::string& experiment_code,
                       const std::string& window, const std::string& organization = "");

// baseUrl + /api/v1/query?query=<the query, percent-encoded>.
std::string query_url(const std::string& base_url, const std::string& query);

// One query's answer.
struct Sample {
    enum class Kind { Value, NoData, Error } kind = Kind::NoData;
    double value = 0;     // Kind::Value: finite, or +Inf (above every histogram bucket)
    std::string message;  // NoData/Error: why
};

// Prometheus's /api/v1/query answer (HTTP status and body). A vector's worst (largest) series
// counts; an empty vector, NaN or -Inf is no data; status "error", a non-2xx status or a body
// that is not the API's JSON is an error.
Sample parse_query_response(long http_status, const std::string& body);

enum class Outcome { Ok, Breach, NoData, Error };
std::string_view to_string(Outcome outcome);

struct Observation {
    std::optional<double> latency_p95_ms, error_rate;  // none: no data or not checked
    Outcome outcome = Outcome::NoData;
    std::string message;  // what breached, or why there is no value
};

// The values against the targets: a value over its target is a breach (even if the other query
// failed); otherwise a failed query is an error, a target without data no data, else ok.
// A failure (`failure`: the Prometheus request itself failed) is an error.
Observation judge(const Config& config, const std::optional<double>& latency_p95_ms,
                  const std::optional<double>& error_rate,
                  const std::optional<std::string>& failure);

enum class Remedy { None, Rollback, Pause };
std::string_view to_string(Remedy remedy);

// What a guardrail breach calls for: a promoted (completed) experiment is rolled back, a running
// one paused (reversible: abx.resume); anything else is left alone.
Remedy remedy_for(Status status, bool promoted);

struct Decision {
    int consecutive = 0;              // breached checks in a row after this observation
    bool threshold_reached = false;   // consecutive >= breach_checks
    bool first_at_threshold = false;  // consecutive == breach_checks (a denial is recorded once)
    Remedy action = Remedy::None;     // what the experiment's state calls for once reached
};

// The consecutive-breach counter: a breach adds one, ok resets it, no data and errors leave it
// as it was (they neither count as a breach nor clear one). Reached: a promoted (completed)
// experiment is rolled back, a running one paused; anything else is left alone.
Decision decide(int previous_consecutive, Outcome outcome, int breach_checks, Status status,
                bool promoted);

}  // namespace abx::slo
