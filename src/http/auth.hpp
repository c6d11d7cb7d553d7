// Who is calling: the one authentication step of every request, before any database work. A
// JWT route needs a verified token whose role claim names a role the gateway may act as; the
// admin routes also take seed 004's Basic-auth superadmin; probes and internal-token routes run
// as abx_gateway (the database checks the internal token). Pure C++ (OpenSSL), unit-tested.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "config.hpp"
#include "jwt.hpp"
#include "routes.hpp"

namespace abx::http {

struct Caller {
    bool authenticated = false;  // a verified token or password (decides 401 vs 403 on 42501)
    std::string role;            // what the request's transaction runs as
    std::string claims;          // request.jwt.claims (JSON text; "" when none)
    std::string internal_token;  // the bearer of an internal-token route, checked by the database
};

struct AuthOutcome {
    int status = 0;  // 0: authenticated; else 401 (or 503 when no role list is known yet)
    std::string message;
    Caller caller;
};

struct AuthContext {
    const Config& config;
    const jwt::KeySet& keys;
    std::shared_ptr<const std::set<std::string>> allowed_roles;  // null: never reached the database
    std::int64_t now;
};

AuthOutcome authenticate(const Route& route, std::string_view authorization,
                         const AuthContext& ctx);

// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" (random 16-byte salt, 32-byte hash).
std::string hash_password(std::string_view password, int iterations = 210000);
// Constant-time comparison of the derived hash; false for a malformed encoding.
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace abx::http
