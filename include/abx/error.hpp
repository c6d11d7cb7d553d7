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

// The one rule for caller mistakes (docs/sql-api.md, "Errors"), applied by every function:
//   22004 a required value is NULL (SQL NULL argument, or JSON null where a value is required)
//   22P02 a JSON value of the wrong type (a string where a number belongs, an array for an object)
//   22003 a number outside the accepted range, or one that does not fit a double at all
//   22023 any other bad value (pattern, length, unknown field, inconsistent settings)
// Each message names the field: "invalid variants[1].weight: must be a number".

// A caller-supplied field has a bad value (22023).
[[noreturn]] inline void invalid_field(const std::string& field, const std::string& why) {
    throw Error(sqlstate::kInvalidParameterValue, "invalid " + field + ": " + why);
}

// A caller-supplied JSON field has the wrong type (22P02).
[[noreturn]] inline void wrong_type(const std::string& field, const std::string& why) {
    throw Error(sqlstate::kInvalidTextRepresentation, "invalid " + field + ": " + why);
}

// A caller-supplied number lies outside the accepted range (22003).
[[noreturn]] inline void out_of_range(const std::string& field, const std::string& why) {
    throw Error(sqlstate::kNumericValueOutOfRange, "invalid " + field + ": " + why);
}

// A required value is missing: SQL NULL or JSON null (22004).
[[noreturn]] inline void null_field(const std::string& field) {
    throw Error(sqlstate::kNullValueNotAllowed, field + " must not be null");
}

}  // namespace abx
