// What leaves abx (docs/integrations.md): which delivery targets an outbox event goes to (seed
// 001's notification table), when a failed delivery is tried again or dead-lettered, which
// addresses an outbound request may reach (SSRF), the webhook signature, and the messages each
// channel receives. Times are microseconds since the Unix epoch, in UTC.
#pragma once
#include "abx/core_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace abx::delivery {

// ---- Routing ---------------------------------------------------------------------------------
// Target kinds: webhook (every event its subscription asks for), and the notification channels
// slack, pagerduty, email (by seed 001's table).
inline constexpr std::string_view kKinds[] = {"webhook", "slack", "pagerduty", "email"};

struct Routing {
    std::string level;               // the notification's level: info | warning | critical
    std::vector<std::string> kinds;  // the target kinds the event goes to, webhook first
};

// Seed 001: a successful promotion is info (Slack, email); an approval request is info (Slack,
// with the approval link); a promotion with warnings is warning (Slack, PagerDuty); a rollback is
// critical (all). Events the table does not name go by their level: critical to all channels,
// warning to Slack and PagerDuty, info to webhooks only (status and winner changes would drown
// the channels people read). 22023 for a level that is not info, warning or critical.
Routing route(std::string_view type, std::string_view level);

// ---- Retries ---------------------------------------------------------------------------------
struct RetryPolicy {
    std::int64_t base_us = 10'000'000;             // the first retry waits up to 10 s
    std::int64_t cap_us = 3'600'000'000;           // never more than 1 h between attempts
    std::int64_t min_us = 1'000'000;               // nor less than 1 s
    std::int64_t horizon_us = 24 * 3'600'000'000;  // retried for 24 h after the first attempt
};

// After failed attempt number `attempts` (1 = the first) at `failed_at_us`, of a delivery first
// tried at `first_attempt_us`: the time of the next attempt, or nullopt to dead-letter it (the
// horizon has passed). Exponential backoff with full jitter: a delay drawn uniformly (unit in
// [0, 1)) up to min(cap, base * 2^(attempts-1)), at least min_us.
std::optional<std::int64_t> next_attempt(const RetryPolicy& policy, int attempts,
                                         std::int64_t first_attempt_us, std::int64_t failed_at_us,
                                         double unit);

// ---- Outbound addresses (SSRF) ------------------------------------------------------------------
enum class AddressClass {
    Public,
    Loopback,
    Private,      // RFC 1918, carrier-grade NAT, IPv6 unique local
    LinkLocal,    // 169.254/16 (cloud metadata), fe80::/10
    Unspecified,  // 0.0.0.0/8, ::
    Multicast,
    Reserved,  // 240/4, broadcast, documentation and benchmark ranges
    Invalid,   // not an IPv4 or IPv6 address text
};

// The class of a numeric address (IPv4 dotted quad or IPv6 text; v4-mapped and v4-compatible
// IPv6 addresses are classed as their IPv4 address).
AddressClass classify_address(std::string_view address);
std::string_view address_class_name(AddressClass c);

// Targets' URLs: http or https with a host, no user name or password in it, at most 2048
// characters. nullopt when acceptable, else why not.
std::optional<std::string> url_problem(std::string_view url);

// ---- Webhook signature -------------------------------------------------------------------------
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" (the header abx-signature).
std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// ---- Messages ----------------------------------------------------------------------------------
struct Event {
    std::int64_t id = 0;  // the outbox id: the event id receivers deduplicate by
    std::string type;
    std::string level;
    std::string created_at;                   // RFC 3339
    std::optional<std::string> organization;  // key
    std::optional<std::string> experiment;    // code
    nlohmann::json data = nlohmann::json::object();
};

// The webhook body: {id, type, level, created_at, organization, experiment, data}.
std::string webhook_body(const Event& e);

// A one-line summary for people: "[critical] checkout-button rolled back: <reason>".
std::string summary(const Event& e, std::string_view level);

// Slack incoming-webhook JSON (text and blocks); the approval request carries the link
// "<approval_base_url>/ui/#/experiments/<code>" (the ops page, where approve and reject are) when a
// base URL is set.
nlohmann::json slack_message(const Event& e, std::string_view level,
                             std::string_view approval_base_url);

// PagerDuty Events API v2: trigger, dedup_key "abx-<event id>", severity from the level.
nlohmann::json pagerduty_event(const Event& e, std::string_view level,
                               std::string_view routing_key);

// An RFC 5322 message (CRLF line ends, headers then a text body) for SMTP.
std::string email_message(const Event& e, std::string_view level, std::string_view from,
                          const std::vector<std::string>& to, std::int64_t unix_seconds);

}  // namespace abx::delivery
