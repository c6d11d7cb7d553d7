// Validation of tracked events and the strict RFC 3339 timestamp parser.
//
// Decisions not spelled out in the header:
// - Fractional seconds may have any number of digits (Go's RFC3339Nano writes 9); digits beyond
//   the sixth are truncated (never rounded), so a timestamp never moves into the next microsecond.
// - Years 0000..9999 are accepted (RFC 3339 full-date is 4 digits); "-00:00" is read as UTC.
// - Codes: a field of the wrong JSON type is 22P02, a number out of range 22003, JSON null where a
//   value is required 22004, a malformed timestamp 22007, one outside the accepted range 22008,
//   any other bad value 22023.
// - parse_event_item leaves experiment / subject empty when the item does not give them (a batch
//   may take them from the call); when given they must be valid. validate_event, which the glue
//   calls once the defaults are filled in, requires both to be non-empty.
// - "subject" may be a JSON integer (converted to its decimal string); other numbers are refused.
// - A JSON null for an optional item field means "not given".
// - idempotency_key length is counted in characters (UTF-8 code points), like varchar(200).
#include "abx/event_input.hpp"

#include "abx/error.hpp"
#include "abx/json_limits.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <initializer_list>

namespace abx {

namespace {

using nlohmann::json;

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

[[noreturn]] void bad_timestamp(std::string_view text, const std::string& field,
                                const std::string& why) {
    std::string shown(text.substr(0, 64));
    if (text.size() > 64) shown += "...";
    throw Error(sqlstate::kInvalidDatetimeFormat,
                "invalid " + field + ": not an RFC 3339 timestamp: " +
                    json(shown).dump(-1, ' ', false, json::error_handler_t::replace) + " (" + why +
                    ")");
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Reads exactly n digits at pos; false if any is not a digit.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_digit(s[pos + i])) return false;
        out = out * 10 + (s[pos + i] - '0');
    }
    return true;
}

std::int64_t parse_timestamp(std::string_view s, const std::string& field) {
    // YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(s, 0, 4, year) || s.size() < 5 || s[4] != '-' || !digits(s, 5, 2, month) ||
        s.size() < 8 || s[7] != '-' || !digits(s, 8, 2, day))
        bad_timestamp(s, field, "expected a date YYYY-MM-DD");
    if (s.size() < 11 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        bad_timestamp(s, field, "expected 'T' or a space after the date");
    if (!digits(s, 11, 2, hour) || s.size() < 14 || s[13] != ':' || !digits(s, 14, 2, minute) ||
        s.size() < 17 || s[16] != ':' || !digits(s, 17, 2, second))
        bad_timestamp(s, field, "expected a time HH:MM:SS");
    std::size_t pos = 19;
    std::int64_t fraction_us = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && is_digit(s[pos])) {
            if (pos - start < 6) fraction_us = fraction_us * 10 + (s[pos] - '0');
            ++pos;
        }
        if (pos == start) bad_timestamp(s, field, "expected digits after '.'");
        for (std::size_t n = pos - start; n < 6; ++n) fraction_us *= 10;
    }
    std::int64_t offset_s = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh = 0, om = 0;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !digits(s, pos + 4, 2, om))
            bad_timestamp(s, field, "expected a UTC offset +HH:MM or -HH:MM");
        if (oh > 23 || om > 59) bad_timestamp(s, field, "UTC offset out of range");
        offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        pos += 6;
    } else {
        bad_timestamp(s, field, "expected 'Z' or a UTC offset after the time");
    }
    if (pos != s.size()) bad_timestamp(s, field, "unexpected text after the UTC offset");

    if (month < 1 || month > 12) bad_timestamp(s, field, "month out of range");
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                             std::chrono::day{unsigned(day)}};
    if (!ymd.ok()) bad_timestamp(s, field, "day out of range for the month");
    if (hour > 23) bad_timestamp(s, field, "hour out of range");
    if (minute > 59) bad_timestamp(s, field, "minute out of range");
    if (second > 59) bad_timestamp(s, field, "second out of range (leap seconds are not accepted)");

    const std::int64_t days = sys_days{ymd}.time_since_epoch().count();
    const std::int64_t secs = days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_s;
    return secs * kMicrosPerSecond + fraction_us;
}

bool is_event_key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

std::size_t utf8_length(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

[[noreturn]] void ts_out_of_range(const std::string& field, const std::string& why) {
    throw Error(sqlstate::kDatetimeFieldOverflow, "invalid " + field + ": " + why);
}

bool value_in_range(double v) {
    const double a = std::fabs(v);
    return v == 0 || (a >= kMinEventMagnitude && a <= kMaxEventMagnitude);  // false for NaN
}

// prefix is "" for a single event or "events[3]." for a batch item. When require_ids is false,
// empty experiment / subject are left for the caller to fill in.
void validate(const EventInput& e, const EventLimits& limits, const std::string& prefix,
              bool require_ids) {
    if (require_ids && e.experiment.empty())
        invalid_field(prefix + "experiment", "must not be empty");
    if (require_ids || !e.subject.empty()) validate_subject(e.subject, prefix + "subject");
    if (e.event_key.empty() || e.event_key.size() > 64 ||
        !std::all_of(e.event_key.begin(), e.event_key.end(), is_event_key_char))
        invalid_field(prefix + "event", "must match [A-Za-z0-9_.:-]{1,64}");
    if (!value_in_range(e.value))
        out_of_range(prefix + "value", "must be 0 or have a magnitude between 1e-15 and 1e15");
    if (e.ts_us && *e.ts_us < kMinEventTsUs)
        ts_out_of_range(prefix + "ts", "must not be before 2000-01-01");
    if (e.ts_us && *e.ts_us > limits.now_us &&
        static_cast<std::uint64_t>(*e.ts_us) - static_cast<std::uint64_t>(limits.now_us) >
            static_cast<std::uint64_t>(std::max<std::int64_t>(limits.max_future_us, 0)))
        ts_out_of_range(prefix + "ts", "is more than " +
                                           std::to_string(limits.max_future_us / kMicrosPerSecond) +
                                           " s in the future");
    if (e.idempotency_key) {
        std::size_t n = utf8_length(*e.idempotency_key);
        if (n < 1 || n > 200)
            invalid_field(prefix + "idempotency_key", "must be 1 to 200 characters");
    }
    if (!e.meta.is_object()) wrong_type(prefix + "meta", "must be a JSON object");
    require_document_limits(e.meta, prefix + "meta");
    require_representable_numbers(e.meta, prefix + "meta");
    if (e.organization && e.organization->empty())
        invalid_field(prefix + "organization", "must not be empty");
}

const json* get(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string string_field(const json& v, const std::string& field) {
    if (!v.is_string()) wrong_type(field, "must be a string");
    return v.get<std::string>();
}

const std::initializer_list<std::string_view> kItemKeys = {
    "experiment", "subject", "event", "value", "ts", "meta", "idempotency_key", "organization"};

}  // namespace

std::int64_t parse_rfc3339_micros(std::string_view text) {
    return parse_timestamp(text, "timestamp");
}

void validate_subject(const std::string& subject, const std::string& field) {
    if (subject.empty()) invalid_field(field, "must not be empty");
    if (subject.size() > 256) invalid_field(field, "must be at most 256 bytes");
}

void validate_event(const EventInput& event, const EventLimits& limits) {
    validate(event, limits, "", true);
}

EventInput parse_event_item(const nlohmann::json& item, std::size_t index,
                            const EventLimits& limits) {
    const std::string base = "events[" + std::to_string(index) + "]";
    const std::string prefix = base + ".";
    if (!item.is_object()) wrong_type(base, "must be a JSON object");
    // Anywhere in the item, meta included: a stored NaN would come back as null.
    require_representable_numbers(item, base);
    for (auto it = item.begin(); it != item.end(); ++it) {
        if (std::find(kItemKeys.begin(), kItemKeys.end(), it.key()) == kItemKeys.end())
            invalid_field(prefix + it.key(),
                          "unknown field (allowed: experiment, subject, event, value, ts, meta, "
                          "idempotency_key, organization)");
    }
    EventInput e;
    if (const json* v = get(item, "experiment")) {
        e.experiment = string_field(*v, prefix + "experiment");
        if (e.experiment.empty()) invalid_field(prefix + "experiment", "must not be empty");
    }
    if (const json* v = get(item, "subject")) {
        if (v->is_number_integer())
            e.subject = v->dump();
        else if (v->is_string())
            e.subject = v->get<std::string>();
        else
            wrong_type(prefix + "subject", "must be a string or an integer");
        if (e.subject.empty()) invalid_field(prefix + "subject", "must not be empty");
    }
    e.event_key = string_field(required_field(item, "event", prefix + "event"), prefix + "event");
    // An absent value is 1; an explicit null is refused, like abx.track(..., value => NULL).
    if (auto v = item.find("value"); v != item.end()) {
        if (v->is_null()) null_field(prefix + "value");
        e.value = json_double(*v, prefix + "value");
    }
    if (const json* v = get(item, "ts"))
        e.ts_us = parse_timestamp(string_field(*v, prefix + "ts"), prefix + "ts");
    if (const json* v = get(item, "meta")) {
        if (!v->is_object()) wrong_type(prefix + "meta", "must be a JSON object");
        e.meta = *v;
    }
    if (const json* v = get(item, "idempotency_key"))
        e.idempotency_key = string_field(*v, prefix + "idempotency_key");
    if (const json* v = get(item, "organization"))
        e.organization = string_field(*v, prefix + "organization");
    validate(e, limits, prefix, false);
    return e;
}

const nlohmann::json& batch_items(const nlohmann::json& document) {
    const std::string why =
        "a batch must be a JSON array of events or an object {\"events\": [...]}";
    if (document.is_array()) return document;
    if (document.is_null()) null_field("events");
    if (!document.is_object()) wrong_type("events", why);
    auto it = document.find("events");
    if (it == document.end() || document.size() != 1) invalid_field("events", why);
    if (it->is_null()) null_field("events");
    if (!it->is_array()) wrong_type("events", why);
    return *it;
}

}  // namespace abx
