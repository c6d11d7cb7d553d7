// abx-http's configuration: one file of `key = value` lines ('#' starts a comment), each key
// overridable by an environment variable ABX_HTTP_<KEY> (upper case). Unknown keys and bad values
// are refused with a message naming the key, so a typo never starts a gateway with a default.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace abx::http {

struct Config {
    std::string listen_host = "127.0.0.1";
    int listen_port = 8080;
    int threads = 2;     // one event loop each, with its own share of the pool
    std::string db_uri;  // libpq conninfo of the gateway's login role (member of abx_gateway)
    int pool_size = 8;
    int pool_timeout_ms = 2000;      // waiting for a free connection longer than this is a 503
    int retry_after_seconds = 5;     // Retry-After of a 503
    int request_timeout_ms = 30000;  // statement_timeout of each call
    std::size_t max_body_bytes = 1 << 20;
    std::size_t max_header_bytes = 16 << 10;
    int idle_timeout_seconds = 60;

    // JWT: an HS256 secret (≥ 32 bytes) and/or public keys; the algorithm is pinned by the key.
    std::string jwt_secret;
    std::string jwt_secret_kid;  // needed when several keys are configured (tokens name their kid)
    std::vector<std::string> jwt_public_keys;  // "RS256:kid:/path/key.pem" or "ES256:kid:/path"
    std::string jwks_file;
    std::optional<std::string> jwt_audience;
    bool jwt_require_audience = false;
    int jwt_leeway_seconds = 30;
    std::size_t max_token_bytes = 8192;
    std::string jwt_role_claim = "role";
    std::string jwt_default_role;  // for tokens without the role claim; empty: refused

    // Seed 004's Basic-auth superadmin (off unless both are set); the hash is
    // "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>", made by `abx-http hash-password`.
    std::string superadmin_user;
    std::string superadmin_password_hash;

    // WebSocket feed (GET /api/experiments/ws).
    int websocket_max_clients = 10000;   // per gateway; more are refused with 503
    int websocket_queue_messages = 256;  // a client with more waiting is dropped (too slow)
    int websocket_ping_seconds = 30;     // ping after this much silence; no answer: closed
    std::size_t websocket_max_message_bytes = 4096;     // a client's message
    int websocket_max_subscriptions = 100;              // per connection
    int websocket_send_buffer_bytes = 0;                // SO_SNDBUF per client; 0: the system's
    std::string websocket_results_role = "abx_reader";  // the feed reads results as this role

    // Requests per minute per client IP and route group; 0 = unlimited.
    std::map<std::string, int> rate_limits = {
        {"public", 60}, {"api", 0}, {"admin", 0}, {"internal", 60}, {"meta", 600}};

    // The deliverer (docs/integrations.md): sends the outbox's deliveries (webhooks, Slack,
    // PagerDuty, email). Off unless `deliver = on`; any number of gateways may deliver at once.
    bool deliver = false;
    // Outbound requests to loopback, private, link-local, ... addresses are refused (SSRF) unless
    // this is on (tests with a local receiver; an operator whose receivers are internal).
    bool outbound_allow_private = false;
    int deliver_batch = 16;          // deliveries claimed and sent concurrently
    int deliver_poll_ms = 1000;      // how often due retries are looked for without a NOTIFY
    int deliver_timeout_ms = 10000;  // per attempt, connection included
    int deliver_lease_seconds = 60;  // a claim a crashed deliverer left is taken after this
    std::string approval_base_url;   // Slack's approval link: <base>/ui/#/experiments/<code>

    // The ops page (/ui/): its files, read at start; empty: <abx-http's directory>/../share/abx/ui,
    // where `make install` puts them. Chart.js is Debian's libjs-chart.js, served as
    // /ui/vendor/chart.min.js.
    std::string ui_dir;
    std::string ui_chart_js = "/usr/share/javascript/chart.js/chart.min.js";
    std::string version = "0.6.0";
};

// Parses the file's text, then applies the environment (name → value). Throws
// std::invalid_argument naming the key (and line) on anything it does not accept.
Config parse_config(const std::string& text, const std::map<std::string, std::string>& env);

// The environment variables of this process that start with ABX_HTTP_.
std::map<std::string, std::string> abx_environment();

}  // namespace abx::http
