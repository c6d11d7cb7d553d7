#include "config.hpp"

#include <charconv>
#include <functional>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace abx::http {

namespace {
std::string trim(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    std::size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

long long to_integer(const std::string& key, const std::string& v, long long lo, long long hi) {
    long long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi)
        throw std::invalid_argument(key + ": expected an integer in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "], got \"" + v + "\"");
    return n;
}

bool to_bool(const std::string& key, const std::string& v) {
    if (v == "true" || v == "on" || v == "1") return true;
    if (v == "false" || v == "off" || v == "0") return false;
    throw std::invalid_argument(key + ": expected true or false, got \"" + v + "\"");
}

std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    std::stringstream in(v);
    std::string item;
    while (std::getline(in, item, ','))
        if (!trim(item).empty()) out.push_back(trim(item));
    return out;
}

void apply(Config& c, const std::string& key, const std::string& v) {
    using Setter = std::function<void(const std::string&)>;
    auto integer = [&](int& field, long long lo, long long hi) {
        return Setter([&field, key, lo, hi](const std::string& s) {
            field = static_cast<int>(to_integer(key, s, lo, hi));
        });
    };
    auto size = [&](std::size_t& field, long long lo, long long hi) {
        return Setter([&field, key, lo, hi](const std::string& s) {
            field = static_cast<std::size_t>(to_integer(key, s, lo, hi));
        });
    };
    auto text = [](std::string& field) {
        return Setter([&field](const std::string& s) { field = s; });
    };
    const std::map<std::string, Setter> setters = {
        {"listen_host", text(c.listen_host)},
        {"listen_port", integer(c.listen_port, 0, 65535)},
        {"threads", integer(c.threads, 1, 64)},
        {"db_uri", text(c.db_uri)},
        {"pool_size", integer(c.pool_size, 1, 1000)},
        {"pool_timeout_ms", integer(c.pool_timeout_ms, 1, 600000)},
        {"retry_after_seconds", integer(c.retry_after_seconds, 1, 3600)},
        {"request_timeout_ms", integer(c.request_timeout_ms, 1, 3600000)},
        {"max_body_bytes", size(c.max_body_bytes, 1, 1LL << 30)},
        {"max_header_bytes", size(c.max_header_bytes, 1024, 1 << 20)},
        {"idle_timeout_seconds", integer(c.idle_timeout_seconds, 1, 86400)},
        {"jwt_secret", text(c.jwt_secret)},
        {"jwt_secret_kid", text(c.jwt_secret_kid)},
        {"jwt_public_keys", [&c](const std::string& s) { c.jwt_public_keys = split_list(s); }},
        {"jwks_file", text(c.jwks_file)},
        {"jwt_audience",
         [&c](const std::string& s) {
             c.jwt_audience = s.empty() ? std::nullopt : std::optional<std::string>(s);
         }},
        {"jwt_require_audience",
         [&c, key](const std::string& s) { c.jwt_require_audience = to_bool(key, s); }},
        {"jwt_leeway_seconds", integer(c.jwt_leeway_seconds, 0, 3600)},
        {"max_token_bytes", size(c.max_token_bytes, 256, 1 << 20)},
        {"jwt_role_claim", text(c.jwt_role_claim)},
        {"jwt_default_role", text(c.jwt_default_role)},
        {"deliver", [&c, key](const std::string& s) { c.deliver = to_bool(key, s); }},
        {"outbound_allow_private",
         [&c, key](const std::string& s) { c.outbound_allow_private = to_bool(key, s); }},
        {"deliver_batch", integer(c.deliver_batch, 1, 1000)},
        {"deliver_poll_ms", integer(c.deliver_poll_ms, 10, 600000)},
        {"deliver_timeout_ms", integer(c.deliver_timeout_ms, 100, 600000)},
        {"deliver_lease_seconds", integer(c.deliver_lease_seconds, 5, 3600)},
        {"approval_base_url", text(c.approval_base_url)},
        {"superadmin_user", text(c.superadmin_user)},
        {"superadmin_password_hash", text(c.superadmin_password_hash)},
        {"websocket_max_clients", integer(c.websocket_max_clients, 0, 1000000)},
        {"websocket_queue_messages", integer(c.websocket_queue_messages, 1, 100000)},
        {"websocket_ping_seconds", integer(c.websocket_ping_seconds, 1, 3600)},
        {"websocket_max_message_bytes", size(c.websocket_max_message_bytes, 256, 1 << 20)},
        {"websocket_max_subscriptions", integer(c.websocket_max_subscriptions, 1, 10000)},
        {"websocket_send_buffer_bytes", integer(c.websocket_send_buffer_bytes, 0, 64 << 20)},
        {"websocket_results_role", text(c.websocket_results_role)},
        {"ui_dir", text(c.ui_dir)},
        {"ui_chart_js", text(c.ui_chart_js)},
    };
    if (auto it = setters.find(key); it != setters.end()) {
        it->second(v);
        return;
    }
    // rate_limit_<group> = requests per minute per client IP.
    if (key.rfind("rate_limit_", 0) == 0 && key.size() > 11) {
        c.rate_limits[key.substr(11)] = static_cast<int>(to_integer(key, v, 0, 1000000000));
        return;
    }
    throw std::invalid_argument(key + ": unknown setting");
}
}  // namespace

Config parse_config(const std::string& text, const std::map<std::string, std::string>& env) {
    Config c;
    std::stringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string t = trim(line.substr(0, line.find('#')));
        if (t.empty()) continue;
        std::size_t eq = t.find('=');
        if (eq == std::string::npos)
            throw std::invalid_argument("line " + std::to_string(number) +
                                        ": expected key = value");
        try {
            apply(c, trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("line " + std::to_string(number) + ": " + e.what());
        }
    }
    for (const auto& [name, value] : env) {
        if (name.rfind("ABX_HTTP_", 0) != 0) continue;
        std::string key = name.substr(9);
        for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (key == "config") continue;  // the file's own path
        apply(c, key, value);
    }
    if (c.deliver_timeout_ms >= c.deliver_lease_seconds * 1000)
        throw std::invalid_argument(
            "deliver_timeout_ms: must be shorter than deliver_lease_seconds (an attempt must end "
            "before its claim expires)");
    if (!c.superadmin_user.empty() && c.superadmin_password_hash.empty())
        throw std::invalid_argument("superadmin_user: set superadmin_password_hash as well");
    return c;
}

std::map<std::string, std::string> abx_environment() {
    std::map<std::string, std::string> out;
    for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        std::size_t eq = kv.find('=');
        if (eq != std::string::npos && kv.rfind("ABX_HTTP_", 0) == 0)
            out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return out;
}

}  // namespace abx::http
