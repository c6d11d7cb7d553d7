// Numbers that did not fit, and other limits of JSON documents handed to abx.
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

// Nesting depth: a scalar is 0, {} and [] are 1, {"a": {}} is 2.
std::size_t json_depth(const nlohmann::json& value);

}  // namespace abx
