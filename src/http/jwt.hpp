// JSON Web Tokens for abx-http: verification of HS256, RS256 and ES256 tokens against configured
// keys, and signing (tests, the demo and `abx-http token`). No PostgreSQL, no Beast: pure C++ on
// OpenSSL, unit-tested. The algorithm is pinned by the key, never taken from the token: a token
// whose header names another algorithm than the key that matches its `kid` is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace abx::http::jwt {

enum class Algorithm { HS256, RS256, ES256 };

std::string_view algorithm_name(Algorithm a);

// One verification (or signing) key. Opaque: holds either an HMAC secret or an OpenSSL EVP_PKEY.
class Key {
  public:
    // HS256: the secret must have at least 32 bytes (std::invalid_argument otherwise).
    static Key hmac(std::string secret, std::string kid = {});
    // RS256 / ES256 (P-256) from PEM text: a public key (SubjectPublicKeyInfo) for verifying, or a
    // private key (PKCS#8 or traditional) for signing and verifying. std::invalid_argument when
    // the PEM does not parse or its type does not fit the algorithm.
    static Key from_pem(Algorithm alg, std::string_view pem, std::string kid = {});

    Algorithm algorithm() const;
    const std::string& kid() const;
    bool can_sign() const;

    struct State;
    std::shared_ptr<const State> state;  // shared: keys are copied into every worker thread
};

// The keys a gateway trusts. A token with a `kid` header uses the key with that kid (unknown kid:
// refused); a token without one uses the only key when there is exactly one, and is refused
// when there are several.
class KeySet {
  public:
    void add(Key key);
    // A JWKS document ({"keys": [...]}) with RSA ("kty": "RSA", n, e) and EC P-256 ("kty": "EC",
    // "crv": "P-256", x, y) public keys; each needs "kid" and "alg" (RS256 / ES256), entries with
    // "use" other than "sig" are skipped. std::invalid_argument naming the entry on a bad one.
    void add_jwks(const nlohmann::json& jwks);
    bool empty() const { return keys_.empty(); }
    const std::vector<Key>& keys() const { return keys_; }

  private:
    std::vector<Key> keys_;
};

struct VerifyOptions {
    std::int64_t now = 0;                 // seconds since the epoch
    std::int64_t leeway_seconds = 30;     // clock skew allowed on exp, nbf and iat
    std::optional<std::string> audience;  // when set, `aud` (string or array) must contain it
    bool require_audience = false;        // when set, a token without `aud` is refused
    std::size_t max_token_bytes = 8192;   // longer tokens are refused as TooLarge
};

enum class Failure {
    None,
    Malformed,          // not three base64url segments, bad JSON, header not an object
    TooLarge,           // longer than max_token_bytes (the gateway answers 431)
    UnsupportedAlg,     // alg missing, "none"/"None", or not one of ours
    UnknownKey,         // kid not configured, or no kid and not exactly one key
    AlgorithmMismatch,  // the header's alg differs from the key's algorithm
    BadSignature,       // empty or wrong signature
    Expired,            // exp + leeway <= now
    NotYetValid,        // nbf - leeway > now, or iat - leeway > now
    BadClaim,           // exp/nbf/iat not a number, claims not an object
    BadAudience,        // aud missing (when required) or not matching
};

struct Verified {
    Failure failure = Failure::None;
    std::string message;    // for the 401 body: "JWT expired", "JWT signature does not verify"
    nlohmann::json claims;  // the payload object when failure == None
    bool ok() const { return failure == Failure::None; }
};

Verified verify(std::string_view token, const KeySet& keys, const VerifyOptions& options);

// Signs claims with the key's algorithm (header {"alg", "typ": "JWT", "kid" when set}).
// std::invalid_argument for a key without a private part.
std::string sign(const nlohmann::json& claims, const Key& key);

// base64url without padding, as JWT uses it; decode returns nullopt on characters outside the
// alphabet or an impossible length.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace abx::http::jwt
