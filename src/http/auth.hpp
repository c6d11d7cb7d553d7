// Who is calling: the one authentication step of every request, before any database work. A
// JWT route needs a verified token whose role claim names a role the gateway may act as; the
// admin routes also take seed 004's Basic-auth superadmin; probes and internal-token routes run
// as abx_gateway (the database checks the internal token). Pure C++ (OpenSSL), unit-tested.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

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

// Tokens verified before, so a client sending the same token again costs a hash lookup instead of
// a signature check and two JSON parses (a tenth of the gateway's CPU per request, measured). An
// entry lives until its token's exp (at most kMaxAgeSeconds), so caching never lengthens a
// token's life; the role is still checked against the roles allowed now on every request.
// One per event loop: not thread-safe.
class TokenCache {
  public:
    static constexpr std::int64_t kMaxAgeSeconds = 300;
    static constexpr std::size_t kCapacity = 10000;
    struct Entry {
        std::string role;    // the role claim (or the default role)
        std::string claims;  // request.jwt.claims
        std::int64_t valid_until;
    };
    const Entry* find(std::string_view token, std::int64_t now) const;
    void put(std::string_view token, Entry entry);

  private:
    std::unordered_map<std::string, Entry> entries_;
};

struct AuthContext {
    const Config& config;
    const jwt::KeySet& keys;
    std::shared_ptr<const std::set<std::string>> allowed_roles;  // null: never reached the database
    std::int64_t now;
    TokenCache* cache = nullptr;
};

AuthOutcome authenticate(const Route& route, std::string_view authorization,
                         const AuthContext& ctx);

// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" (random 16-byte salt, 32-byte hash).
std::string hash_password(std::string_view password, int iterations = 210000);
// Constant-time comparison of the derived hash; false for a malformed encoding.
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace abx::http
