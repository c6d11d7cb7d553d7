#include "errors.hpp"

#include <array>

namespace abx::http {

namespace {
struct Rule {
    std::string_view prefix;  // a whole SQLSTATE, or its class (two characters)
    int status;
    bool retry_after = false;
};

// First match wins: whole codes before their class, classes before the fallback.
constexpr std::array kRules{
    // Authorization: 42501 is decided by `authenticated` (status 0 here).
    Rule{"42501", 0},
    Rule{"28000", 403},  // invalid authorization specification (no such role to SET)
    Rule{"28P01", 403},
    // Not found, conflicts, state.
    Rule{"P0002", 404},
    Rule{"42883", 404},  // undefined function: a route whose SQL is missing (older extension)
    Rule{"42P01", 404},
    Rule{"23505", 409},
    Rule{"23503", 409},
    Rule{"55000", 409},
    Rule{"40001", 409},  // serialization failure: the client may retry
    Rule{"40P01", 409},
    Rule{"55P03", 409},  // lock not available
    Rule{"25006", 405},  // read-only transaction: a writing call on a GET route
    // Caller data.
    Rule{"22", 400},  // data exception: 22P02, 22023, 22004, 22007, 22003, 22P05, ...
    Rule{"23", 400},  // other integrity violations (not-null, check)
    Rule{"2201B", 400},
    Rule{"42", 400},     // syntax error or access rule violation (other than 42501 and 404s)
    Rule{"P0001", 400},  // RAISE EXCEPTION without a code: the function refused the input
    // Limits and the server's state.
    Rule{"54", 413},     // program limit exceeded (too large)
    Rule{"57014", 504},  // statement timeout / cancelled
    Rule{"08", 503, true},
    Rule{"53", 503, true},   // insufficient resources
    Rule{"57P", 503, true},  // shutdown, crash of another backend, cannot connect now
    Rule{"58", 503, true},
    Rule{"0A", 501},
};
}  // namespace

ErrorMapping map_sqlstate(std::string_view sqlstate, bool authenticated) {
    for (const Rule& r : kRules) {
        if (sqlstate.substr(0, r.prefix.size()) != r.prefix) continue;
        if (r.status == 0) return {authenticated ? 403 : 401, false};
        return {r.status, r.retry_after};
    }
    return {500, false};
}

nlohmann::json error_body(std::string_view code, std::string_view message, std::string_view details,
                          std::string_view hint) {
    auto text_or_null = [](std::string_view s) {
        return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(s));
    };
    return {{"code", std::string(code)},
            {"message", std::string(message)},
            {"details", text_or_null(details)},
            {"hint", text_or_null(hint)}};
}

}  // namespace abx::http
