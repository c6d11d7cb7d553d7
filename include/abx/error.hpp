// The one exception type of the core: it carries a PostgreSQL SQLSTATE so that the glue can raise
// it as a proper SQL error and the gateway can map it to an HTTP status.
#pragma once
#include "abx/core_only.hpp"

#include <stdexcept>
#include <string>

namespace abx {

namespace sqlstate {
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kInvalidDatetimeFormat = "22007";
inline constexpr const char* kDatetimeFieldOverflow = "22008";
inline constexpr const char* kNumericValueOutOfRange = "22003";
inline constexpr const char* kNullValueNotAllowed = "22004";
inline constexpr const char* kObjectNotInPrerequisiteState = "55000";
inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kNoDataFound = "P0002";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kInternalError = "XX000";
inline constexpr const char* kOutOfMemory = "53200";
}  // namespace sqlstate

struct Error : std::runtime_error {
    std::string sqlstate;
    std::string detail;
    std::string hint;

    Error(std::string code, const std::string& message, std::string detail_text = {},
          std::string hint_text = {})
        : std::runtime_error(message),
          sqlstate(std::move(code)),
          detail(std::move(detail_text)),
          hint(std::move(hint_text)) {}
};

// Shorthand for the most common failure: a caller-supplied field has a bad value.
[[noreturn]] inline void invalid_field(const std::string& field, const std::string& why) {
    throw Error(sqlstate::kInvalidParameterValue, "invalid " + field + ": " + why);
}

}  // namespace abx
