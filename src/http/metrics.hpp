// The gateway's own Prometheus series (request latency by route, method and status; readiness
// outcomes; decision latency) and the rendering of the text exposition format, including the
// counters the database reports (abx.http_metrics: policy denies, audit failures, experiments,
// assignments, events), which live in the database, not in this process.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

namespace abx::http {

class Histogram {
  public:
    static constexpr std::array<double, 14> kBuckets = {0.5, 1,   2,   5,    10,   25,   50,
                                                        100, 250, 500, 1000, 2500, 5000, 10000};
    void observe(double value);
    // Appends `name_bucket{labels,le=...}`, `_sum` and `_count` lines.
    void render(std::string& out, const std::string& name, const std::string& labels) const;

  private:
    std::array<unsigned long long, kBuckets.size()> counts_{};
    unsigned long long count_ = 0;
    double sum_ = 0;
};

class Metrics {
  public:
    void request(const std::string& route, const std::string& method, int status, double ms);
    void decision(double ms);  // an assignment's latency, seed 002's decision latency
    void readiness(const std::string& check, const std::string& status);
    // A request that took a pooled connection (the tests check that refused ones never do).
    void database_call() { ++database_calls_; }
    // The text format: the gateway's series, then the database's counters
    // ({"counters": [{"name", "help", "labels": {...}, "value"}]}), then the pool gauges.
    std::string render(const nlohmann::json& database, int pool_healthy, int pool_size) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, Histogram> requests_;
    Histogram decisions_;
    std::map<std::pair<std::string, std::string>, unsigned long long> readiness_;
    std::atomic<unsigned long long> database_calls_{0};
};

// A Prometheus label value with \, " and newline escaped.
std::string escape_label(const std::string& value);

}  // namespace abx::http
