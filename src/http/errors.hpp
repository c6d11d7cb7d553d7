// SQLSTATE → HTTP status, by one ordered table (PostgREST's mapping is the model), and the JSON
// error body {code, message, details, hint}. A client's mistake is never a 5xx.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace abx::http {

struct ErrorMapping {
    int status;
    bool retry_after;  // 503s tell the client when to come back
};

// `authenticated` decides 42501: 403 for a verified caller, 401 for an anonymous one.
ErrorMapping map_sqlstate(std::string_view sqlstate, bool authenticated);

// {code, message, details, hint}; details and hint are null when empty.
nlohmann::json error_body(std::string_view code, std::string_view message,
                          std::string_view details = {}, std::string_view hint = {});

}  // namespace abx::http
