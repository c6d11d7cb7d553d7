#include "routes.hpp"

#include <array>

namespace abx::http {

namespace {
using M = Method;
using A = Auth;
constexpr bool RO = true, RW = false;
constexpr bool ENVELOPE = true, PLAIN = false;

// Paths exactly as the seeds document them (seed 001's {name} is written :name here).
const std::vector<Route> kRoutes = {
    // Seed 003: probes and observability.
    {M::GET, "/health", "", "", A::None, RO, 200, "public", PLAIN, "Liveness: the process answers",
     Builtin::Health},
    {M::GET, "/version", "", "", A::None, RO, 200, "public", PLAIN, "Gateway and API version",
     Builtin::Version},
    {M::GET, "/readiness", "abx.http_readiness", "", A::None, RO, 200, "public", PLAIN,
     "Readiness probes db, queue, outbound: ready | degraded | not_ready", Builtin::Readiness},
    {M::GET, "/openapi.json", "", "", A::None, RO, 200, "public", PLAIN,
     "This API as an OpenAPI 3.1 document", Builtin::OpenApi},
    {M::GET, "/metrics", "abx.http_metrics", "meta:read", A::Jwt, RO, 200, "meta", PLAIN,
     "Prometheus metrics (same as /api/meta/metrics)", Builtin::Metrics},
    {M::GET, "/api/meta/metrics", "abx.http_metrics", "meta:read", A::Jwt, RO, 200, "meta", PLAIN,
     "Prometheus metrics in the text exposition format", Builtin::Metrics},
    {M::GET, "/api/meta/audit-stats", "abx.http_audit_stats", "meta:read", A::Jwt, RO, 200, "meta",
     PLAIN, "Audit failure statistics with top_errors"},

    // Seed 000: META experiments, refused with a policy denial when autonomy is off.
    {M::POST, "/api/meta/experiments/start", "abx.http_meta_start", "experiments:lifecycle", A::Jwt,
     RW, 201, "meta", PLAIN, "Create and start an experiment with SLO targets"},
    {M::POST, "/api/meta/experiments/stop", "abx.http_meta_stop", "experiments:lifecycle", A::Jwt,
     RW, 200, "meta", PLAIN, "Stop an experiment"},
    {M::GET, "/api/meta/experiments/:id/metrics", "abx.http_meta_metrics", "experiments:read",
     A::Jwt, RO, 200, "meta", PLAIN, "Metrics of an experiment"},

    // Seed 004: public API. The assignment is a GET that writes (the sticky assignment).
    {M::GET, "/api/experiments/:code/assignment", "abx.http_assignment", "experiments:assign",
     A::Jwt, RW, 200, "api", PLAIN, "A subject's variant, its config and the winner snapshot"},
    {M::POST, "/api/experiments/:code/events", "abx.http_events", "experiments:events:write",
     A::Jwt, RW, 200, "api", PLAIN, "Record one event or {events: [...]}, per-item results"},
    {M::GET, "/api/experiments/ws", "abx.http_ws_subscribe", "experiments:read", A::Jwt, RO, 101,
     "api", PLAIN,
     "WebSocket upgrade: winner, status and results messages of subscribed experiments",
     Builtin::WebSocket},
    {M::GET, "/api/experiments/:code/winner", "abx.http_winner", "experiments:winner:read", A::Jwt,
     RO, 200, "api", PLAIN, "The winner snapshot"},

    // Seed 004: admin API.
    {M::GET, "/api/admin/experiments", "abx.http_admin_list", "experiments:admin", A::JwtOrBasic,
     RO, 200, "admin", PLAIN, "List experiments"},
    {M::POST, "/api/admin/experiments", "abx.http_admin_create", "experiments:admin", A::JwtOrBasic,
     RW, 201, "admin", PLAIN, "Create an experiment (abx document)"},
    {M::GET, "/api/admin/experiments/:id", "abx.http_admin_get", "experiments:admin", A::JwtOrBasic,
     RO, 200, "admin", PLAIN, "One experiment"},
    {M::PATCH, "/api/admin/experiments/:id", "abx.http_admin_update", "experiments:admin",
     A::JwtOrBasic, RW, 200, "admin", PLAIN, "Update an experiment"},
    {M::DELETE, "/api/admin/experiments/:id", "abx.http_admin_delete", "experiments:admin",
     A::JwtOrBasic, RW, 200, "admin", PLAIN, "Delete a draft, archive anything else"},
    {M::GET, "/api/admin/experiments/:id/metrics", "abx.http_admin_metrics", "experiments:admin",
     A::JwtOrBasic, RO, 200, "admin", PLAIN, "Metric buckets and results"},

    // Delivery of the outbox: webhook subscriptions, notification channels, dead letters.
    {M::GET, "/api/admin/delivery-targets", "abx.http_delivery_targets", "experiments:admin",
     A::JwtOrBasic, RO, 200, "admin", PLAIN, "Webhook subscriptions and notification channels"},
    {M::POST, "/api/admin/delivery-targets", "abx.http_delivery_target_create", "experiments:admin",
     A::JwtOrBasic, RW, 201, "admin", PLAIN,
     "Create a webhook, Slack, PagerDuty or email target (a webhook's secret is shown once)"},
    {M::PATCH, "/api/admin/delivery-targets/:name", "abx.http_delivery_target_update",
     "experiments:admin", A::JwtOrBasic, RW, 200, "admin", PLAIN, "Update a delivery target"},
    {M::DELETE, "/api/admin/delivery-targets/:name", "abx.http_delivery_target_delete",
     "experiments:admin", A::JwtOrBasic, RW, 200, "admin", PLAIN,
     "Delete a delivery target and its deliveries"},
    {M::GET, "/api/admin/deliveries", "abx.http_deliveries", "experiments:admin", A::JwtOrBasic, RO,
     200, "admin", PLAIN, "Deliveries, newest first (status=dead: the dead letters)"},
    {M::POST, "/api/admin/deliveries/:id/retry", "abx.http_delivery_retry", "experiments:admin",
     A::JwtOrBasic, RW, 200, "admin", PLAIN, "Send a dead letter again (24 h of retries anew)"},
    {M::POST, "/api/admin/deliveries/:id/discard", "abx.http_delivery_discard", "experiments:admin",
     A::JwtOrBasic, RW, 200, "admin", PLAIN, "Give a dead letter up"},

    // Seed 004: internal cron routes, protected by the internal bearer token.
    {M::POST, "/api/internal/experiments/aggregate/run", "abx.http_internal_aggregate", "",
     A::InternalToken, RW, 200, "internal", PLAIN, "Run the aggregation now"},
    {M::POST, "/api/internal/experiments/retention/run", "abx.http_internal_retention", "",
     A::InternalToken, RW, 200, "internal", PLAIN, "Run the retention now"},

    // Seed 002: experiments by numeric id or code.
    {M::POST, "/api/experiments", "abx.http_create_experiment", "experiments:write", A::Jwt, RW,
     201, "api", PLAIN, "Create an experiment (seed 002 payload)"},
    {M::GET, "/api/experiments", "abx.http_list_experiments", "experiments:read", A::Jwt, RO, 200,
     "api", PLAIN, "List experiments"},
    {M::GET, "/api/experiments/:id", "abx.http_get_experiment", "experiments:read", A::Jwt, RO, 200,
     "api", PLAIN, "Experiment details"},
    {M::PATCH, "/api/experiments/:id", "abx.http_update_experiment", "experiments:write", A::Jwt,
     RW, 200, "api", PLAIN, "Update an experiment"},
    {M::POST, "/api/experiments/:id/start", "abx.http_start", "experiments:lifecycle", A::Jwt, RW,
     200, "api", PLAIN, "Start (or resume) an experiment"},
    {M::POST, "/api/experiments/:id/stop", "abx.http_stop", "experiments:lifecycle", A::Jwt, RW,
     200, "api", PLAIN, "Stop (pause) an experiment"},
    {M::POST, "/api/experiments/:id/assign", "abx.http_assign", "experiments:assign", A::Jwt, RW,
     200, "api", PLAIN, "Assign a subject (molam_id)"},
    {M::GET, "/api/experiments/:id/assignment/:molam_id", "abx.http_get_assignment",
     "experiments:assign", A::Jwt, RO, 200, "api", PLAIN, "A subject's stored assignment"},
    {M::POST, "/api/experiments/:id/track", "abx.http_track", "experiments:events:write", A::Jwt,
     RW, 200, "api", PLAIN, "Track an event (variant_id checked against the assignment)"},
    {M::GET, "/api/experiments/:id/results", "abx.http_results", "experiments:read", A::Jwt, RO,
     200, "api", PLAIN, "Results per variant"},
    {M::GET, "/api/experiments/:id/insights", "abx.http_insights", "experiments:read", A::Jwt, RO,
     200, "api", PLAIN, "Insights: intervals, bandit state, recommendation"},
    {M::GET, "/api/experiments/:id/timeline", "abx.http_timeline", "experiments:read", A::Jwt, RO,
     200, "api", PLAIN, "Results over time: each aggregation run's look, bandit state"},

    // The ops page (/ui/): who the caller is, the other lifecycle transitions, the audit log, jobs.
    {M::GET, "/api/me", "abx.http_me", "", A::Jwt, RO, 200, "api", PLAIN,
     "The caller: role, JWT subject, organization, organizations it may act for, rights"},
    {M::POST, "/api/experiments/:id/pause", "abx.http_pause", "experiments:lifecycle", A::Jwt, RW,
     200, "api", PLAIN, "Pause a running experiment"},
    {M::POST, "/api/experiments/:id/resume", "abx.http_resume", "experiments:lifecycle", A::Jwt, RW,
     200, "api", PLAIN, "Resume a paused experiment"},
    {M::POST, "/api/experiments/:id/complete", "abx.http_complete", "experiments:lifecycle", A::Jwt,
     RW, 200, "api", PLAIN, "Complete a running or paused experiment"},
    {M::POST, "/api/experiments/:id/archive", "abx.http_archive", "experiments:admin", A::Jwt, RW,
     200, "api", PLAIN, "Archive an experiment"},
    {M::GET, "/api/audit", "abx.http_audit", "audit:read", A::Jwt, RO, 200, "api", PLAIN,
     "The audit log, newest first, filtered and paged by seq"},
    {M::GET, "/api/audit/verify", "abx.http_audit_verify", "audit:read", A::Jwt, RO, 200, "api",
     PLAIN, "Verify the audit chain"},
    {M::GET, "/api/jobs", "abx.http_jobs", "meta:read", A::Jwt, RO, 200, "api", PLAIN,
     "Scheduler jobs and their runs, newest first"},

    // Seed 001: promotion, with its {success, data, message} envelope.
    {M::GET, "/api/monitoring/experiments/:name/promote", "abx.http_promotion_eligibility",
     "experiments:read", A::Jwt, RO, 200, "api", ENVELOPE, "Promotion eligibility"},
    {M::POST, "/api/monitoring/experiments/:name/promote", "abx.http_promote",
     "experiments:lifecycle", A::Jwt, RW, 200, "api", ENVELOPE, "Promote the winner"},
    {M::DELETE, "/api/monitoring/experiments/:name/promote", "abx.http_rollback",
     "experiments:lifecycle", A::Jwt, RW, 200, "api", ENVELOPE, "Roll the promotion back"},
    {M::POST, "/api/monitoring/experiments/:name/approve", "abx.http_approve",
     "experiments:lifecycle", A::Jwt, RW, 200, "api", ENVELOPE,
     "Approve the pending promotion request (reason optional)"},
    {M::POST, "/api/monitoring/experiments/:name/reject", "abx.http_reject",
     "experiments:lifecycle", A::Jwt, RW, 200, "api", ENVELOPE,
     "Reject the pending promotion request (reason required)"},
    {M::GET, "/api/monitoring/experiments/:name/history", "abx.http_promotion_history",
     "experiments:read", A::Jwt, RO, 200, "api", ENVELOPE, "Promotion history, newest first"},
    {M::POST, "/api/monitoring/auto-promotion/check", "abx.http_auto_promotion_check", "",
     A::InternalToken, RW, 200, "internal", ENVELOPE, "Run the auto-promotion check now"},
};

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 1;  // after the leading '/'
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// The table's patterns, split once.
const std::vector<std::vector<std::string_view>>& split_patterns() {
    static const std::vector<std::vector<std::string_view>> patterns = [] {
        std::vector<std::vector<std::string_view>> out;
        for (const Route& r : kRoutes) out.push_back(split_path(r.pattern));
        return out;
    }();
    return patterns;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

Method parse_method(std::string_view t) {
    static constexpr std::array<std::pair<std::string_view, Method>, 7> names{{
        {"GET", M::GET},
        {"POST", M::POST},
        {"PUT", M::PUT},
        {"PATCH", M::PATCH},
        {"DELETE", M::DELETE},
        {"HEAD", M::HEAD},
        {"OPTIONS", M::OPTIONS},
    }};
    for (const auto& [name, m] : names)
        if (name == t) return m;
    return M::Other;
}

std::string_view method_name(Method m) {
    switch (m) {
        case M::GET:
            return "GET";
        case M::POST:
            return "POST";
        case M::PUT:
            return "PUT";
        case M::PATCH:
            return "PATCH";
        case M::DELETE:
            return "DELETE";
        case M::HEAD:
            return "HEAD";
        case M::OPTIONS:
            return "OPTIONS";
        case M::Other:
            break;
    }
    return "OTHER";
}

const std::vector<Route>& route_table() {
    return kRoutes;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        char32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            n = 3, cp = c & 0x07;
        else
            return false;
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += n + 1;
    }
    return true;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    if (out.find('\0') != std::string::npos || !valid_utf8(out)) return std::nullopt;
    return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t i = 0;
    while (i < q.size()) {
        std::size_t amp = q.find('&', i);
        if (amp == std::string_view::npos) amp = q.size();
        std::string_view part = q.substr(i, amp - i);
        i = amp + 1;
        if (part.empty()) continue;
        std::size_t eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq), true);
        auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                  : percent_decode(part.substr(eq + 1), true);
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

Match match_route(Method method, std::string_view path) {
    Match result;
    if (path.empty() || path[0] != '/') {
        result.error = "the path must start with /";
        return result;
    }
    std::vector<std::string_view> segments = split_path(path);
    std::vector<std::string> decoded;
    decoded.reserve(segments.size());
    for (std::string_view s : segments) {
        auto d = percent_decode(s, false);
        if (!d) {
            result.error = "the path has a bad percent escape, a NUL byte or invalid UTF-8";
            return result;
        }
        decoded.push_back(std::move(*d));
    }
    // Best match: most literal segments first (literals beat parameters), then table order.
    // Every route of the same shape lends its method to the Allow header of a 405.
    const auto& patterns = split_patterns();
    int best_literals = -1;
    std::size_t best = 0;
    for (std::size_t i = 0; i < kRoutes.size(); ++i) {
        const std::vector<std::string_view>& pattern = patterns[i];
        if (pattern.size() != decoded.size()) continue;
        int literals = 0;
        bool ok = true;
        for (std::size_t k = 0; k < pattern.size() && ok; ++k) {
            bool parameter = !pattern[k].empty() && pattern[k][0] == ':';
            ok = parameter ? !decoded[k].empty() : pattern[k] == segments[k];
            literals += parameter ? 0 : 1;
        }
        if (!ok) continue;
        result.path_known = true;
        std::string_view name = method_name(kRoutes[i].method);
        if (result.allow.find(name) == std::string::npos)
            result.allow += (result.allow.empty() ? "" : ", ") + std::string(name);
        if (kRoutes[i].method == method && literals > best_literals) {
            best_literals = literals;
            best = i;
        }
    }
    if (best_literals >= 0) {
        result.route = &kRoutes[best];
        const std::vector<std::string_view>& pattern = patterns[best];
        for (std::size_t k = 0; k < pattern.size(); ++k)
            if (!pattern[k].empty() && pattern[k][0] == ':')
                result.params.emplace_back(std::string(pattern[k].substr(1)), decoded[k]);
    }
    return result;
}

}  // namespace abx::http
