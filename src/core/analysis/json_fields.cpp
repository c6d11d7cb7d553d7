// Internal JSON helpers of the analysis documents: see json_fields.hpp.
#include "json_fields.hpp"

#include "abx/json_limits.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace abx::analysis::detail {

const json* field(const json& obj, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

void reject_unknown(const json& obj, std::initializer_list<std::string_view> allowed,
                    const std::string& prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
        std::string list;
        for (auto k : allowed) {
            if (!list.empty()) list += ", ";
            list += k;
        }
        invalid_field(prefix + it.key(), "unknown field (allowed: " + list + ")");
    }
}

const std::string& string_value(const json& v, const std::string& path) {
    if (!v.is_string()) wrong_type(path, "must be a string");
    return v.get_ref<const std::string&>();
}

double number_value(const json& v, const std::string& path) {
    return json_double(v, path);
}

std::int64_t integer_value(const json& v, const std::string& path, std::int64_t min) {
    const std::string why = "must be an integer >= " + std::to_string(min);
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() &&
            v.get<std::uint64_t>() >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            out_of_range(path, why);
        const std::int64_t i = v.get<std::int64_t>();
        if (i < min) out_of_range(path, why);
        return i;
    }
    const double d = json_double(v, path);  // 22P02 for a non-number, 22003 for the marker
    // 1000.0 is accepted as 1000; 2^63 and beyond are out of range.
    if (d != std::floor(d)) wrong_type(path, why);
    if (d < static_cast<double>(min) || d >= 9223372036854775808.0) out_of_range(path, why);
    return static_cast<std::int64_t>(d);
}

bool bool_value(const json& v, const std::string& path) {
    if (!v.is_boolean()) wrong_type(path, "must be true or false");
    return v.get<bool>();
}

double open_unit_value(const json& v, const std::string& path) {
    const double d = json_double(v, path);
    if (!(d > 0 && d < 1)) out_of_range(path, "must be a number between 0 and 1 (exclusive)");
    return d;
}

const json& object_value(const json& v, const std::string& path) {
    if (!v.is_object()) wrong_type(path, "must be a JSON object");
    return v;
}

namespace {
bool key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}
}  // namespace

bool is_metric_key(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), key_char);
}

bool is_event_key(std::string_view s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return key_char(c) || c == ':'; });
}

json number_or_null(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string format_percent(double share, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f%%", decimals, share * 100.0);
    return buf;
}

std::string format_probability(double p) {
    if (p >= 0.9995) return "> 99.9%";
    if (p <= 0.0005) return "< 0.1%";
    return format_percent(p, 1);
}

std::string format_value(double v) {
    char buf[64];
    const double a = std::fabs(v);
    if (a >= 1000)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (a >= 1 || a == 0)
        std::snprintf(buf, sizeof buf, "%.2f", v);
    else
        std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string format_level(double confidence) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", std::round(confidence * 1e6) / 1e4);
    return buf;
}

}  // namespace abx::analysis::detail
