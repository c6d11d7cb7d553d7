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
// lower-case t/z and a space instead of T accepted), for any year 0000..9999. Throws Error 22007
// on anything else. The range events accept is checked by validate_event, not here.
std::int64_t parse_rfc3339_micros(std::string_view text);

// A subject id: 1 to 256 bytes (22023 naming `field` otherwise). Shared by every function that
// takes a subject, so that they all refuse the same ones.
void validate_subject(const std::string& subject, const std::string& field = "subject");

// Event values: exactly 0, or a finite magnitude in [kMinEventMagnitude, kMaxEventMagnitude].
// Squares, and sums of squares of up to 10^9 such values, stay far from double overflow (1e39 at
// most) and from underflow to subnormals (1e-30 at least), so aggregation cannot fail on a value
// that was accepted.
inline constexpr double kMinEventMagnitude = 1e-15;
inline constexpr double kMaxEventMagnitude = 1e15;
// Event timestamps start at 2000-01-01T00:00:00Z (microseconds since the Unix epoch).
inline constexpr std::int64_t kMinEventTsUs = 946'684'800'000'000;

struct EventLimits {
    std::int64_t now_us = 0;                   // abx.now()
    std::int64_t max_future_us = 300'000'000;  // events further ahead than this are refused
};

struct EventInput {
    std::string experiment;
    std::string subject;                // 1..256 bytes (validate_subject)
    std::string event_key;              // [A-Za-z0-9_.:-]{1,64}
    double value = 1.0;                 // 0, or magnitude in [1e-15, 1e15]
    std::optional<std::int64_t> ts_us;  // absent: now; else in [2000-01-01, now + max_future]
    // A JSON object of at most 65536 bytes of JSON text, nested at most 32 deep, without numbers
    // that did not fit a double (json_limits.hpp).
    nlohmann::json meta = nlohmann::json::object();
    std::optional<std::string> idempotency_key;  // 1..200 chars
    std::optional<std::string> organization;
};

// Checks fields common to single and batch events; throws Error naming the field:
//   22023 experiment / subject / event / idempotency_key / organization / meta size or depth
//   22003 value outside its range ("invalid value: must be 0 or have a magnitude between 1e-15 and
//         1e15"), or a number in meta that did not fit a double
//   22008 ts before 2000-01-01 or more than max_future ahead of now
//   22P02 meta not an object
void validate_event(const EventInput& event, const EventLimits& limits);

// One item of abx.track_batch: {"experiment", "subject", "event", "value", "ts", "meta",
// "idempotency_key", "organization"}. Throws Error naming the field ("invalid events[3].value:
// ..."), with the codes of validate_event plus: 22P02 a field of the wrong JSON type, 22003 a
// number anywhere in the item that did not fit a double (e.g. events[2].meta.price), 22004
// "value": null or "event": null (JSON null elsewhere means "not given"; an absent value is 1),
// 22007 a malformed ts.
EventInput parse_event_item(const nlohmann::json& item, std::size_t index,
                            const EventLimits& limits);

// The items of a batch document: a JSON array of items, or {"events": [...]}. Throws when the
// document itself has the wrong shape: 22P02 a document or "events" of the wrong JSON type, 22004
// a null document or "events": null, 22023 an object with other keys. Item-level problems are left
// to parse_event_item.
const nlohmann::json& batch_items(const nlohmann::json& document);

}  // namespace abx
