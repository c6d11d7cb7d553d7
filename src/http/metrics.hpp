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
    // The WebSocket feed: open connections, messages written, clients dropped (reason "slow":
    // its send queue overflowed), and the feed's database connection.
    void websocket_opened() { ++websocket_clients_; }
    void websocket_closed() { --websocket_clients_; }
    void websocket_sent() { ++websocket_sent_; }
    void websocket_dropped() { ++websocket_dropped_; }
    void feed_connected(bool up) {
        feed_up_ = up;
        if (up) ++feed_connects_;
    }
    long long websocket_clients() const { return websocket_clients_.load(); }
    // The text format: the gateway's series, then the database's counters
    // ({"counters": [{"name", "help", "labels": {...}, "value"}]}), then the pool gauges.
    std::string render(const nlohmann::json& database, int pool_healthy, int pool_size) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, Histogram> requests_;
    Histogram decisions_;
    std::map<std::pair<std::string, std::string>, unsigned long long> readiness_;
    std::atomic<unsigned long long> database_calls_{0};
    std::atomic<long long> websocket_clients_{0};
    std::atomic<unsigned long long> websocket_sent_{0}, websocket_dropped_{0}, feed_connects_{0};
    std::atomic<bool> feed_up_{false};
};

// A Prometheus label value with \, " and newline escaped.
std::string escape_label(const std::string& value);

}  // namespace abx::http
