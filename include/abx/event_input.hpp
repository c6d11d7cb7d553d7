// Validation of tracked events, single or batch. Pure: timestamps are microseconds since the Unix
// epoch (UTC); the glue converts to and from PostgreSQL timestamptz.
#pragma once
#include "abx/core_only.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abx {

// Parses an RFC 3339 timestamp ("2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456+02:00",
// lower-case t/z and a space instead of T accepted). Throws Error 22007 on anything else.
std::int64_t parse_rfc3339_micros(std::string_view text);

struct EventLimits {
    std::int64_t now_us = 0;                   // abx.now()
    std::int64_t max_future_us = 300'000'000;  // events further ahead than this are refused
};

struct EventInput {
    std::string experiment;
    std::string subject;
    std::string event_key;              // [A-Za-z0-9_.:-]{1,64}
    double value = 1.0;                 // finite
    std::optional<std::int64_t> ts_us;  // absent: now
    nlohmann::json meta = nlohmann::json::object();
    std::optional<std::string> idempotency_key;  // 1..200 chars
    std::optional<std::string> organization;
};

// A subject id: 1 to 256 bytes (22023 naming `field`).
void validate_subject(const std::string& subject, const std::string& field = "subject");

// Checks fields common to single and batch events; throws Error naming the field.
void validate_event(const EventInput& event, const EventLimits& limits);

// One item of abx.track_batch: {"experiment", "subject", "event", "value", "ts", "meta",
// "idempotency_key", "organization"}. Throws Error naming the field ("events[3].value: ...").
EventInput parse_event_item(const nlohmann::json& item, std::size_t index,
                            const EventLimits& limits);

// The items of a batch document: a JSON array of items, or {"events": [...]}. Throws Error 22023
// when the document itself has the wrong shape; item-level problems are left to parse_event_item.
const nlohmann::json& batch_items(const nlohmann::json& document);

}  // namespace abx
