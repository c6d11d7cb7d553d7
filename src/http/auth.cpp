#include "auth.hpp"

#include "encoding.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace abx::http {

namespace {
constexpr std::string_view kGatewayRole = "abx_gateway";
constexpr std::string_view kSuperadminRole = "abx_admin";

bool pbkdf2(std::string_view password, const std::vector<unsigned char>& salt, int iterations,
            unsigned char* out, std::size_t out_len) {
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), iterations, EVP_sha256(),
                             static_cast<int>(out_len), out) == 1;
}

// "Scheme rest" with a case-insensitive scheme; empty when the header has another scheme.
std::optional<std::string_view> credentials(std::string_view header, std::string_view scheme) {
    if (header.size() < scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), header.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return std::nullopt;
    std::string_view rest = header.substr(scheme.size());
    if (!rest.empty() && rest[0] != ' ') return std::nullopt;
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    return rest;
}

std::optional<std::string> base64_decode(std::string_view in) {
    if (in.empty() || in.size() % 4) return std::nullopt;
    std::string out(in.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    if (n < 0) return std::nullopt;
    std::size_t pad =
        in.size() >= 2 && in[in.size() - 1] == '=' ? (in[in.size() - 2] == '=' ? 2 : 1) : 0;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

AuthOutcome refuse(std::string message) {
    return {401, std::move(message), {}};
}

AuthOutcome act_as(const std::string& role, std::string claims, const AuthContext& ctx) {
    if (!ctx.allowed_roles) return {503, "the database has not been reached yet", {}};
    // Never a superuser, the gateway's login or abx_gateway itself: only abx's working roles and
    // their members (the list comes from the database when a connection is made).
    if (role == kGatewayRole || !ctx.allowed_roles->count(role))
        return refuse("JWT role \"" + role + "\" is not a role abx-http may act as");
    return {0, {}, Caller{true, role, std::move(claims), {}}};
}

AuthOutcome bearer_jwt(std::string_view token, const AuthContext& ctx) {
    if (ctx.cache) {
        if (const TokenCache::Entry* hit = ctx.cache->find(token, ctx.now))
            return act_as(hit->role, hit->claims, ctx);
    }
    jwt::VerifyOptions options;
    options.now = ctx.now;
    options.leeway_seconds = ctx.config.jwt_leeway_seconds;
    options.audience = ctx.config.jwt_audience;
    options.require_audience = ctx.config.jwt_require_audience;
    options.max_token_bytes = ctx.config.max_token_bytes;
    jwt::Verified v = jwt::verify(token, ctx.keys, options);
    if (!v.ok()) return refuse(v.message);
    std::string role = ctx.config.jwt_default_role;
    if (auto it = v.claims.find(ctx.config.jwt_role_claim); it != v.claims.end()) {
        if (!it->is_string())
            return refuse("JWT claim \"" + ctx.config.jwt_role_claim + "\" is not a string");
        role = it->get<std::string>();
    }
    if (role.empty()) return refuse("JWT has no \"" + ctx.config.jwt_role_claim + "\" claim");
    std::string claims = v.claims.dump();
    if (ctx.cache) {
        std::int64_t until = ctx.now + TokenCache::kMaxAgeSeconds;
        if (auto exp = v.claims.find("exp"); exp != v.claims.end() && exp->is_number())
            until = std::min(until, static_cast<std::int64_t>(exp->get<double>()) +
                                        ctx.config.jwt_leeway_seconds);
        ctx.cache->put(token, {role, claims, until});
    }
    return act_as(role, std::move(claims), ctx);
}
}  // namespace

AuthOutcome authenticate(const Route& route, std::string_view authorization,
                         const AuthContext& ctx) {
    switch (route.auth) {
        case Auth::None:
            return {0, {}, Caller{false, std::string(kGatewayRole), {}, {}}};
        case Auth::InternalToken: {
            auto token = credentials(authorization, "Bearer");
            return {0,
                    {},
                    Caller{false, std::string(kGatewayRole), {}, std::string(token.value_or(""))}};
        }
        case Auth::JwtOrBasic:
            if (auto basic = credentials(authorization, "Basic")) {
                if (ctx.config.superadmin_user.empty())
                    return refuse("Basic authentication is not enabled");
                auto decoded = base64_decode(*basic);
                std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
                if (colon == std::string::npos) return refuse("malformed Basic credentials");
                std::string user = decoded->substr(0, colon);
                bool user_ok =
                    user.size() == ctx.config.superadmin_user.size() &&
                    CRYPTO_memcmp(user.data(), ctx.config.superadmin_user.data(), user.size()) == 0;
                bool password_ok = verify_password(decoded->substr(colon + 1),
                                                   ctx.config.superadmin_password_hash);
                if (!user_ok || !password_ok) return refuse("wrong superadmin user or password");
                nlohmann::json claims = {{"sub", user}, {"auth", "basic"}};
                return {0, {}, Caller{true, std::string(kSuperadminRole), claims.dump(), {}}};
            }
            [[fallthrough]];
        case Auth::Jwt: {
            if (authorization.empty()) return refuse("a bearer token is required");
            auto token = credentials(authorization, "Bearer");
            if (!token) return refuse("the Authorization header must be \"Bearer <JWT>\"");
            if (token->empty()) return refuse("the bearer token is empty");
            return bearer_jwt(*token, ctx);
        }
    }
    return refuse("unsupported authentication");
}

const TokenCache::Entry* TokenCache::find(std::string_view token, std::int64_t now) const {
    auto it = entries_.find(std::string(token));
    // Expired as verify() would say: exp + leeway <= now.
    return it == entries_.end() || it->second.valid_until <= now ? nullptr : &it->second;
}

void TokenCache::put(std::string_view token, Entry entry) {
    if (entries_.size() >= kCapacity) entries_.clear();  // simple and bounded
    entries_.insert_or_assign(std::string(token), std::move(entry));
}

std::string hash_password(std::string_view password, int iterations) {
    std::vector<unsigned char> salt(16);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
        throw std::runtime_error("no random bytes for the salt");
    unsigned char hash[32];
    if (!pbkdf2(password, salt, iterations, hash, sizeof hash))
        throw std::runtime_error("PBKDF2 failed");
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + to_hex(salt.data(), salt.size()) +
           "$" + to_hex(hash, sizeof hash);
}

bool verify_password(std::string_view password, std::string_view encoded) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= encoded.size(); ++i)
        if (i == encoded.size() || encoded[i] == '$') {
            parts.push_back(encoded.substr(start, i - start));
            start = i + 1;
        }
    if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return false;
    int iterations = 0;
    auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
    auto salt = from_hex(parts[2]), expected = from_hex(parts[3]);
    if (ec != std::errc() || iterations < 1 || !salt || !expected || expected->empty())
        return false;
    std::vector<unsigned char> actual(expected->size());
    if (!pbkdf2(password, *salt, iterations, actual.data(), actual.size())) return false;
    return CRYPTO_memcmp(actual.data(), expected->data(), expected->size()) == 0;
}

}  // namespace abx::http
