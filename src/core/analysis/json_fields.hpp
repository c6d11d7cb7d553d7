// Internal helpers of src/core/analysis: reading and validating fields of the JSON documents
// (metrics, analysis, winner_policy) and writing numbers back (NaN and infinities as null).
#pragma once
#include "abx/core_only.hpp"
#include "abx/error.hpp"

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace abx::analysis::detail {

using nlohmann::json;

// The value of an optional field, or nullptr when it is absent or JSON null.
const json* field(const json& obj, std::string_view key);

// Throws 22023 "invalid <prefix><key>: unknown field (allowed: ...)" for the first unknown key.
void reject_unknown(const json& obj, std::initializer_list<std::string_view> allowed,
                    const std::string& prefix);

// Typed reads naming `path` (error.hpp's rule): a value of the wrong type is 22P02, a number out of
// range (or that did not fit a double: the NaN marker) is 22003.
const std::string& string_value(const json& v, const std::string& path);
double number_value(const json& v, const std::string& path);  // finite number
// An integer >= min and < 2^63; 1000.0 counts as 1000, 10.5 is the wrong type.
std::int64_t integer_value(const json& v, const std::string& path, std::int64_t min);
bool bool_value(const json& v, const std::string& path);
// A number strictly between 0 and 1.
double open_unit_value(const json& v, const std::string& path);
// Refuses a value that is not a JSON object (22P02 "must be a JSON object").
const json& object_value(const json& v, const std::string& path);

// [A-Za-z0-9_.-]{1,64}: metric and variant keys.
bool is_metric_key(std::string_view s);
// [A-Za-z0-9_.:-]{1,64}: event keys (as accepted by abx.track).
bool is_event_key(std::string_view s);

// A finite number as a JSON number; NaN and infinities as null.
json number_or_null(double v);

// 0.0847 -> "8.47%" (decimals after the point).
std::string format_percent(double share, int decimals = 2);
// A probability for text: "97.3%", "> 99.9%", "< 0.1%".
std::string format_probability(double p);
// A metric value for text: 4 significant digits, at least 2 decimals below 1000 (12.30, 0.1234).
std::string format_value(double v);
// 0.95 -> "95", 0.975 -> "97.5" (for "95% CI").
std::string format_level(double confidence);

}  // namespace abx::analysis::detail
