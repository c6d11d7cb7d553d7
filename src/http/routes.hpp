// The one route table of abx-http and its matcher. A route names the SQL function that answers
// it; the gateway's only handler is the generic one (verify, route, call, map errors), so
// everything a route does is in that function. Pure C++: no sockets, no libpq.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace abx::http {

enum class Method { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, Other };
Method parse_method(std::string_view text);
std::string_view method_name(Method m);

// How a route authenticates its caller.
enum class Auth {
    None,           // public probes: no token; the call runs as abx_gateway
    Jwt,            // Authorization: Bearer <JWT>; the call runs as the token's role
    JwtOrBasic,     // as Jwt, or the configured Basic-auth superadmin (runs as abx_admin)
    InternalToken,  // Authorization: Bearer <the internal cron token>, checked by the database
};

// What the gateway answers itself (Health, Version, OpenApi: no SQL), or from the route's
// function with its own handling of the result (Metrics: rendered as Prometheus text; Readiness:
// counted, 503 when not_ready, answered by the gateway when the database is unreachable), or
// Sql: the function's JSON as it is.
// WebSocket: the upgrade of GET /api/experiments/ws (the function checks each subscription).
enum class Builtin { Sql, Health, Version, Metrics, OpenApi, Readiness, WebSocket };

struct Route {
    Method method;
    std::string_view pattern;   // "/api/experiments/:code/assignment"; ":name" matches one segment
    std::string_view function;  // "abx.http_assignment", called as f(path, query, body)
    std::string_view right;     // the abx right the function checks (documentation, OpenAPI)
    Auth auth;
    bool read_only;            // BEGIN READ ONLY (a GET that writes, such as assignment, is not)
    int status;                // the status of a success (200, 201)
    std::string_view group;    // rate-limit group: "public", "api", "admin", "internal", "meta"
    bool envelope;             // seed 001's {success, data, message} envelope (errors too)
    std::string_view summary;  // one line for OpenAPI
    Builtin builtin = Builtin::Sql;
};

const std::vector<Route>& route_table();

struct Match {
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;  // decoded path parameters
    bool path_known = false;  // some route has this path (so a method mismatch is 405, not 404)
    std::string allow;        // the methods of that path, for the Allow header of a 405
    std::string error;        // a path that cannot be decoded (400): bad escape, NUL, bad UTF-8
};

// Matches a request target's path (no query string). Literal segments win over parameters, so
// /api/experiments/ws is never taken as an experiment id. Segments are percent-decoded after
// splitting, so an encoded '/' stays inside its segment.
Match match_route(Method method, std::string_view path);

// Percent-decoding of a path segment or query component ('+' is a space only in queries).
// nullopt on a bad escape, a NUL byte or invalid UTF-8.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Query string to (name, value) pairs, decoded; nullopt as in percent_decode.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q);

bool valid_utf8(std::string_view text);

}  // namespace abx::http
