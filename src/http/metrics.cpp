#include "metrics.hpp"

#include <chrono>
#include <cstdio>
#include <set>

namespace abx::http {

namespace {
// Seed 003's "Health status" panel shows the uptime from it.
const std::chrono::system_clock::time_point kProcessStart = std::chrono::system_clock::now();

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string label_pairs(const std::vector<std::pair<std::string, std::string>>& labels) {
    std::string out;
    for (const auto& [k, v] : labels)
        out += (out.empty() ? "" : ",") + k + "=\"" + escape_label(v) + "\"";
    return out;
}

bool valid_metric_name(const std::string& n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    return true;
}
}  // namespace

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void Histogram::observe(double value) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        if (value <= kBuckets[i]) ++counts_[i];
    ++count_;
    sum_ += value;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
    std::string sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        out += name + "_bucket{" + labels + sep + "le=\"" + number(kBuckets[i]) + "\"} " +
               std::to_string(counts_[i]) + "\n";
    out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
    std::string braces = labels.empty() ? "" : "{" + labels + "}";
    out += name + "_sum" + braces + " " + number(sum_) + "\n";
    out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

void Metrics::request(const std::string& route, const std::string& method, int status, double ms) {
    std::lock_guard lock(mutex_);
    requests_[{route, method, status}].observe(ms);
}

void Metrics::decision(double ms) {
    std::lock_guard lock(mutex_);
    decisions_.observe(ms);
}

void Metrics::readiness(const std::string& check, const std::string& status) {
    std::lock_guard lock(mutex_);
    ++readiness_[{check, status}];
}

std::string Metrics::render(const nlohmann::json& database, int pool_healthy, int pool_size) const {
    std::string out;
    {
        std::lock_guard lock(mutex_);
        out +=
            "# HELP meta_request_latency_ms Latency of abx-http requests in milliseconds.\n"
            "# TYPE meta_request_latency_ms histogram\n";
        for (const auto& [key, h] : requests_) {
            const auto& [route, method, status] = key;
            h.render(
                out, "meta_request_latency_ms",
                label_pairs(
                    {{"route", route}, {"method", method}, {"status", std::to_string(status)}}));
        }
        out +=
            "# HELP experiment_decision_latency_ms Latency of assignment decisions through "
            "abx-http in milliseconds.\n# TYPE experiment_decision_latency_ms histogram\n";
        decisions_.render(out, "experiment_decision_latency_ms", "");
        out +=
            "# HELP meta_readiness_checks_total Readiness probe outcomes by check and status.\n"
            "# TYPE meta_readiness_checks_total counter\n";
        for (const auto& [key, n] : readiness_)
            out += "meta_readiness_checks_total{" +
                   label_pairs({{"check", key.first}, {"status", key.second}}) + "} " +
                   std::to_string(n) + "\n";
    }
    // The database's counters, grouped by name (HELP and TYPE once per name).
    std::set<std::string> declared;
    if (database.is_object() && database.contains("counters") && database["counters"].is_array()) {
        for (const auto& c : database["counters"]) {
            if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) continue;
            std::string name = c["name"].get<std::string>();
            if (!valid_metric_name(name)) continue;
            if (declared.insert(name).second) {
                std::string help = c.value("help", std::string(name));
                for (char& ch : help)
                    if (ch == '\n') ch = ' ';
                out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " +
                       c.value("type", std::string("counter")) + "\n";
            }
            std::vector<std::pair<std::string, std::string>> labels;
            if (c.contains("labels") && c["labels"].is_object())
                for (const auto& [k, v] : c["labels"].items())
                    if (valid_metric_name(k))
                        labels.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
            double value =
                c.contains("value") && c["value"].is_number() ? c["value"].get<double>() : 0;
            out += name + (labels.empty() ? "" : "{" + label_pairs(labels) + "}") + " " +
                   number(value) + "\n";
        }
    }
    out +=
        "# HELP abx_http_database_calls_total Requests that took a pooled database connection.\n"
        "# TYPE abx_http_database_calls_total counter\n"
        "abx_http_database_calls_total " +
        std::to_string(database_calls_.load()) + "\n";
    out +=
        "# HELP abx_http_websocket_clients Open WebSocket connections.\n"
        "# TYPE abx_http_websocket_clients gauge\n"
        "abx_http_websocket_clients " +
        std::to_string(websocket_clients_.load()) +
        "\n"
        "# HELP abx_http_websocket_messages_sent_total Messages written to WebSocket clients.\n"
        "# TYPE abx_http_websocket_messages_sent_total counter\n"
        "abx_http_websocket_messages_sent_total " +
        std::to_string(websocket_sent_.load()) +
        "\n"
        "# HELP abx_http_websocket_dropped_total WebSocket clients dropped because their send "
        "queue was full (too slow).\n"
        "# TYPE abx_http_websocket_dropped_total counter\n"
        "abx_http_websocket_dropped_total " +
        std::to_string(websocket_dropped_.load()) +
        "\n"
        "# HELP abx_http_feed_connected Whether the WebSocket feed's database connection is up.\n"
        "# TYPE abx_http_feed_connected gauge\n"
        "abx_http_feed_connected " +
        std::string(feed_up_.load() ? "1" : "0") +
        "\n"
        "# HELP abx_http_feed_connects_total Connections the WebSocket feed made (LISTEN and catch "
        "up), the first one included.\n"
        "# TYPE abx_http_feed_connects_total counter\n"
        "abx_http_feed_connects_total " +
        std::to_string(feed_connects_.load()) + "\n";
    out +=
        "# HELP abx_http_start_time_seconds When this abx-http process started (Unix time).\n"
        "# TYPE abx_http_start_time_seconds gauge\n"
        "abx_http_start_time_seconds " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(kProcessStart.time_since_epoch())
                .count()) +
        "\n";
    out +=
        "# HELP abx_http_pool_connections Database connections of this gateway.\n"
        "# TYPE abx_http_pool_connections gauge\n"
        "abx_http_pool_connections{state=\"healthy\"} " +
        std::to_string(pool_healthy) + "\n" + "abx_http_pool_connections{state=\"configured\"} " +
        std::to_string(pool_size) + "\n";
    return out;
}

}  // namespace abx::http
