// Reading JSON documents handed to abx: numbers that did not fit, required fields, size limits.
//
// PostgreSQL's jsonb keeps numbers as arbitrary-precision numerics (1e999 is a valid jsonb). The
// glue reads a jsonb into nlohmann::json and stores every number that does not fit a finite double
// (overflow, or a non-zero value that would underflow to zero) as NaN: JSON has no NaN, so a NaN in
// a document always means "this number was out of range". The checks below find such numbers and
// report them by path, so that every function can name the field ("invalid context.age: ...").
#pragma once
#include "abx/core_only.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace abx {

// Path of a child: json_path("", "a") == "a", json_path("a", "b") == "a.b",
// json_path("events", 3) == "events[3]".
std::string json_path(const std::string& parent, const std::string& key);
std::string json_path(const std::string& parent, std::size_t index);

// The path of the first number (document order) that did not fit a double, or nullopt. `root` is
// the path of `value` itself: "" for a document whose fields are named from the top ("variants[1]
// .weight"), or a name ("context" gives "context.age").
std::optional<std::string> find_unrepresentable_number(const nlohmann::json& value,
                                                       const std::string& root);

// Throws Error 22003 "invalid <path>: number is out of range for double precision" for the first
// such number.
void require_representable_numbers(const nlohmann::json& value, const std::string& root);

// A number read from a caller's document: 22P02 "invalid <path>: must be a number" when `value` is
// not a number, 22003 "invalid <path>: number is out of range for double precision" for the NaN
// marker (and for an infinity, which no JSON text can hold either).
double json_double(const nlohmann::json& value, const std::string& path);

// A required field: 22023 "invalid <path>: is required" when absent, 22004 "<path> must not be
// null" when JSON null (null means "not given" only where a default exists).
const nlohmann::json& required_field(const nlohmann::json& object, const std::string& key,
                                     const std::string& path);

// Nesting depth: a scalar is 0, {} and [] are 1, {"a": {}} is 2.
std::size_t json_depth(const nlohmann::json& value);

// Length in bytes of the compact JSON text of `value` (value.dump(), invalid UTF-8 replaced),
// counted without building the text. Counting stops as soon as the length exceeds `limit`; the
// result is then some number > limit.
std::size_t json_text_size(const nlohmann::json& value, std::size_t limit);

// Limits of the free-form documents abx stores or scans per call (event meta, assignment context):
// they bound the work and the storage one call can cause.
inline constexpr std::size_t kMaxDocumentBytes = 65536;  // compact JSON text
inline constexpr std::size_t kMaxDocumentDepth = 32;     // json_depth

// 22023 naming `path` when `value` is nested deeper than kMaxDocumentDepth or its compact JSON text
// is longer than kMaxDocumentBytes.
void require_document_limits(const nlohmann::json& value, const std::string& path);

}  // namespace abx
