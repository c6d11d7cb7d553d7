#include "abx/slo.hpp"

#include "abx/error.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

namespace abx::slo {
namespace {

const nlohmann::json* field(const nlohmann::json& doc, const std::string& key) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return nullptr;
    return &*it;
}

void known_keys(const nlohmann::json& doc, const std::string& prefix,
                const std::set<std::string>& keys) {
    for (auto it = doc.begin(); it != doc.end(); ++it)
        if (!keys.count(it.key())) invalid_field(prefix + "." + it.key(), "unknown field");
}

std::string bound_text(double v) {
    return v == std::floor(v) ? std::to_string((long long)v) : nlohmann::json(v).dump();
}

std::optional<double> number(const nlohmann::json& doc, const std::string& prefix,
                             const std::string& key, double low, double high, bool low_open) {
    const nlohmann::json* v = field(doc, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) wrong_type(prefix + "." + key, "must be a number");
    double d = v->get<double>();
    if (!std::isfinite(d) || (low_open ? d <= low : d < low) || d > high)
        out_of_range(prefix + "." + key, "must be in " + std::string(low_open ? "(" : "[") +
                                             bound_text(low) + ", " + bound_text(high) + "]");
    return d;
}

std::optional<std::int64_t> whole(const nlohmann::json& doc, const std::string& prefix,
                                  const std::string& key, std::int64_t low, std::int64_t high) {
    std::optional<double> d = number(doc, prefix, key, (double)low, (double)high, false);
    if (!d) return std::nullopt;
    if (*d != std::floor(*d)) invalid_field(prefix + "." + key, "must be a whole number");
    return (std::int64_t)*d;
}

std::optional<std::string> text(const nlohmann::json& doc, const std::string& prefix,
                                const std::string& key) {
    const nlohmann::json* v = field(doc, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) wrong_type(prefix + "." + key, "must be a string");
    std::string s = v->get<std::string>();
    if (s.empty() || s.size() > 4096)
        invalid_field(prefix + "." + key, "must be 1 to 4096 characters");
    return s;
}

bool unreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

}  // namespace

bool valid_duration(const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t digits = i;
        while (i < s.size() && std::isdigit((unsigned char)s[i])) ++i;
        if (i == digits) return false;
        if (s.compare(i, 2, "ms") == 0) {
            i += 2;
        } else if (i < s.size() && std::string("smhdwy").find(s[i]) != std::string::npos) {
            ++i;
        } else {
            return false;
        }
    }
    // 0s is no range at all.
    return std::any_of(s.begin(), s.end(), [](char c) { return c >= '1' && c <= '9'; });
}

Config parse_config(const nlohmann::json& sla_target, const nlohmann::json& prometheus) {
    Config c;
    if (!sla_target.is_null()) {
        if (!sla_target.is_object()) wrong_type("sla_target", "must be an object");
        known_keys(sla_target, "sla_target", {"p95_latency_ms", "error_rate_threshold"});
        c.p95_latency_ms = number(sla_target, "sla_target", "p95_latency_ms", 0, 3600000, true);
        c.error_rate_threshold =
            number(sla_target, "sla_target", "error_rate_threshold", 0, 1, false);
    }
    if (prometheus.is_null()) throw Error(sqlstate::kNullValueNotAllowed, "prometheus is null");
    if (!prometheus.is_object()) wrong_type("prometheus", "must be an object");
    const std::string p = "prometheus";
    known_keys(prometheus, p,
               {"baseUrl", "intervalMs", "queryLatency", "queryErrorRate", "window", "breachChecks",
                "timeoutMs"});
    std::optional<std::string> url = text(prometheus, p, "baseUrl");
    if (!url) throw Error(sqlstate::kNullValueNotAllowed, "invalid prometheus.baseUrl: required");
    bool http = url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0;
    std::size_t host = url->find("://") + 3;
    if (!http || url->size() > 2048 || host >= url->size() || (*url)[host] == '/' ||
        url->find_first_of(" \t\r\n?#") != std::string::npos)
        invalid_field("prometheus.baseUrl",
                      "must be an http(s) URL without query or fragment, at most 2048 characters");
    // Stored in plain text, shown to readers and audited: no place for a password.
    if (url->substr(host, url->find('/', host) - host).find('@') != std::string::npos)
        invalid_field("prometheus.baseUrl",
                      "must not carry credentials (user:password@): put an authenticating proxy "
                      "on the loopback instead");
    while (!url->empty() && url->back() == '/') url->pop_back();
    c.base_url = *url;
    c.interval_ms = whole(prometheus, p, "intervalMs", 1000, 86400000).value_or(kDefaultIntervalMs);
    c.query_latency = text(prometheus, p, "queryLatency").value_or(kDefaultLatencyQuery);
    c.query_error_rate = text(prometheus, p, "queryErrorRate").value_or(kDefaultErrorRateQuery);
    c.window = text(prometheus, p, "window").value_or(kDefaultWindow);
    if (!valid_duration(c.window))
        invalid_field("prometheus.window", "must be a PromQL duration such as 15s, 5m or 1h30m");
    c.breach_checks =
        (int)whole(prometheus, p, "breachChecks", 1, 100).value_or(kDefaultBreachChecks);
    c.timeout_ms = whole(prometheus, p, "timeoutMs", 100, 60000)
                       .value_or(std::min(kDefaultTimeoutMs, c.interval_ms));
    if (c.timeout_ms > c.interval_ms)
        out_of_range("prometheus.timeoutMs", "must not exceed prometheus.intervalMs");
    return c;
}

nlohmann::json Config::to_json() const {
    auto opt = [](const std::optional<double>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    return {{"sla_target",
             {{"p95_latency_ms", opt(p95_latency_ms)},
              {"error_rate_threshold", opt(error_rate_threshold)}}},
            {"prometheus",
             {{"baseUrl", base_url},
              {"intervalMs", interval_ms},
              {"queryLatency", query_latency},
              {"queryErrorRate", query_error_rate},
              {"window", window},
              {"breachChecks", breach_checks},
              {"timeoutMs", timeout_ms}}}};
}

std::string substitute(const std::string& query, const std::string& experiment_code,
                       const std::string& window, const std::string& organization) {
    std::string out;
    out.reserve(query.size() + 64);
    for (std::size_t i = 0; i < query.size();) {
        if (query.compare(i, 15, "${experimentId}") == 0) {
            out += experiment_code;
            i += 15;
        } else if (query.compare(i, 9, "${window}") == 0) {
            out += window;
            i += 9;
        } else if (query.compare(i, 15, "${organization}") == 0) {
            out += organization;
            i += 15;
        } else {
            out += query[i++];
        }
    }
    return out;
}

std::string query_url(const std::string& base_url, const std::string& query) {
    static const char* hex = "0123456789ABCDEF";
    std::string out = base_url + "/api/v1/query?query=";
    for (unsigned char c : query) {
        if (unreserved(c)) {
            out += (char)c;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

namespace {

// A sample's value as Prometheus prints it ("123.4", "NaN", "+Inf"); nullopt: no data.
std::optional<double> sample_value(const nlohmann::json& pair) {
    if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string())
        throw std::runtime_error("a sample is not [time, \"value\"]");
    std::string s = pair[1].get<std::string>();
    if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
    if (s == "NaN" || s == "-Inf") return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0')
        throw std::runtime_error("a sample value is not a number");
    if (std::isnan(v)) return std::nullopt;
    return v;
}

Sample error(std::string message) {
    return {Sample::Kind::Error, 0, std::move(message)};
}

}  // namespace

Sample parse_query_response(long http_status, const std::string& body) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object() && doc.value("status", "") == "error")
        return error("Prometheus: " + doc.value("errorType", std::string("error")) + ": " +
                     doc.value("error", std::string("")));
    if (http_status < 200 || http_status > 299)
        return error("Prometheus answered HTTP " + std::to_string(http_status));
    if (!doc.is_object() || doc.value("status", "") != "success" || !doc.contains("data") ||
        !doc["data"].is_object())
        return error("not a Prometheus query answer");
    try {
        const nlohmann::json& data = doc["data"];
        std::string type = data.value("resultType", "");
        const nlohmann::json& result = data.at("result");
        std::optional<double> worst;
        bool any = false;
        if (type == "scalar") {
            worst = sample_value(result);
            any = true;
        } else if (type == "vector") {
            if (!result.is_array()) return error("a vector result is not an array");
            for (const nlohmann::json& series : result) {
                if (!series.is_object() || !series.contains("value"))
                    return error("a vector series has no value");
                any = true;
                std::optional<double> v = sample_value(series["value"]);
                if (v && (!worst || *v > *worst)) worst = v;
            }
        } else {
            return error("a " + (type.empty() ? std::string("missing") : type) +
                         " result: the query must return an instant vector or a scalar");
        }
        if (!any) return {Sample::Kind::NoData, 0, "the query returned no series"};
        if (!worst) return {Sample::Kind::NoData, 0, "the query returned NaN"};
        return {Sample::Kind::Value, *worst, ""};
    } catch (const std::exception& e) {
        return error(std::string("not a Prometheus query answer: ") + e.what());
    }
}

std::string_view to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::Ok:
            return "ok";
        case Outcome::Breach:
            return "breach";
        case Outcome::NoData:
            return "no_data";
        case Outcome::Error:
            return "error";
    }
    return "error";
}

std::string_view to_string(Remedy action) {
    switch (action) {
        case Remedy::None:
            return "none";
        case Remedy::Rollback:
            return "rollback";
        case Remedy::Pause:
            return "pause";
    }
    return "none";
}

namespace {
std::string number_text(double v) {
    if (std::isinf(v)) return "+Inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}
}  // namespace

Observation judge(const Config& config, const std::optional<double>& latency_p95_ms,
                  const std::optional<double>& error_rate,
                  const std::optional<std::string>& failure) {
    Observation o;
    if (config.p95_latency_ms) o.latency_p95_ms = latency_p95_ms;
    if (config.error_rate_threshold) o.error_rate = error_rate;
    std::string breaches;
    if (o.latency_p95_ms && *o.latency_p95_ms > *config.p95_latency_ms)
        breaches = "p95 latency " + number_text(*o.latency_p95_ms) + " ms > " +
                   number_text(*config.p95_latency_ms) + " ms";
    if (o.error_rate && *o.error_rate > *config.error_rate_threshold)
        breaches += (breaches.empty() ? "" : "; ") + std::string("error rate ") +
                    number_text(*o.error_rate) + " > " + number_text(*config.error_rate_threshold);
    if (!breaches.empty()) {
        o.outcome = Outcome::Breach;
        o.message = breaches;
    } else if (failure) {
        o.outcome = Outcome::Error;
        o.message = *failure;
    } else if (!config.p95_latency_ms && !config.error_rate_threshold) {
        o.outcome = Outcome::NoData;
        o.message = "no sla_target: nothing to check";
    } else if ((config.p95_latency_ms && !o.latency_p95_ms) ||
               (config.error_rate_threshold && !o.error_rate)) {
        o.outcome = Outcome::NoData;
        o.message = std::string("no data for ") +
                    (config.p95_latency_ms && !o.latency_p95_ms ? "the p95 latency" : "") +
                    ((config.p95_latency_ms && !o.latency_p95_ms) &&
                             (config.error_rate_threshold && !o.error_rate)
                         ? " and "
                         : "") +
                    (config.error_rate_threshold && !o.error_rate ? "the error rate" : "");
    } else {
        o.outcome = Outcome::Ok;
    }
    return o;
}

Decision decide(int previous_consecutive, Outcome outcome, int breach_checks, Status status,
                bool promoted) {
    if (breach_checks < 1) invalid_field("breach_checks", "must be at least 1");
    Decision d;
    d.consecutive = std::max(previous_consecutive, 0);
    if (outcome == Outcome::Ok) d.consecutive = 0;
    if (outcome == Outcome::Breach) d.consecutive += 1;
    if (outcome != Outcome::Breach) return d;  // no data or an error never acts
    d.threshold_reached = d.consecutive >= breach_checks;
    d.first_at_threshold = d.consecutive == breach_checks;
    if (d.threshold_reached) d.action = remedy_for(status, promoted);
    return d;
}

Remedy remedy_for(Status status, bool promoted) {
    if (status == Status::Completed && promoted) return Remedy::Rollback;
    if (status == Status::Running) return Remedy::Pause;
    return Remedy::None;
}

}  // namespace abx::slo
