// JSON Web Tokens (RFC 7519 / 7515 / 7518) on OpenSSL 3 EVP: see jwt.hpp.
#include "jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace abx::http::jwt {

namespace {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

}  // namespace

struct Key::State {
    Algorithm alg = Algorithm::HS256;
    std::string kid;
    std::string secret;  // HS256
    PkeyPtr pkey;        // RS256 / ES256
    bool has_private = false;
};

namespace {

constexpr std::size_t kHmacMinSecret = 32;  // RFC 7518 3.2: a key at least as long as the hash
constexpr int kRsaMinBits = 2048;           // RFC 7518 3.3
constexpr int kEcCoord = 32;                // P-256 coordinates, and R and S, are 32 bytes

// OpenSSL leaves errors on a per-thread queue; drop them so a failed parse or verification
// does not leak stale errors into later, unrelated OpenSSL calls on the same worker thread.
struct ErrGuard {
    ~ErrGuard() { ERR_clear_error(); }
};

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// Never prompts for a passphrase: an encrypted private key simply does not load.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

bool is_p256(const EVP_PKEY* pkey) {
    char group[64] = {};
    std::size_t len = 0;
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
        return false;
    }
    return std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0;
}

// Refuses keys that do not fit the algorithm; `what` prefixes the message.
void check_key_type(Algorithm alg, const EVP_PKEY* pkey, const std::string& what) {
    if (alg == Algorithm::RS256) {
        if (!EVP_PKEY_is_a(pkey, "RSA")) throw std::invalid_argument(what + ": not an RSA key");
        if (EVP_PKEY_get_bits(pkey) < kRsaMinBits) {
            throw std::invalid_argument(what + ": RSA key shorter than 2048 bits");
        }
    } else if (alg == Algorithm::ES256) {
        if (!is_p256(pkey)) throw std::invalid_argument(what + ": not an EC P-256 key");
    } else {
        throw std::invalid_argument(what + ": HS256 keys are secrets, not PEM");
    }
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
    if (name == "HS256") return Algorithm::HS256;
    if (name == "RS256") return Algorithm::RS256;
    if (name == "ES256") return Algorithm::ES256;
    return std::nullopt;
}

// Builds an RSA or EC public key from OSSL_PARAMs (the OpenSSL 3 replacement for RSA_set0_key).
PkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return PkeyPtr(raw);
}

std::string jwk_string(const nlohmann::json& entry, const char* name, const std::string& what) {
    auto it = entry.find(name);
    if (it == entry.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        throw std::invalid_argument(what + ": missing \"" + name + "\"");
    }
    return it->get<std::string>();
}

std::string jwk_bytes(const nlohmann::json& entry, const char* name, const std::string& what) {
    auto decoded = base64url_decode(jwk_string(entry, name, what));
    if (!decoded || decoded->empty()) {
        throw std::invalid_argument(what + ": \"" + name + "\" is not base64url");
    }
    return *decoded;
}

PkeyPtr rsa_from_jwk(const nlohmann::json& entry, const std::string& what) {
    std::string n = jwk_bytes(entry, "n", what), e = jwk_bytes(entry, "e", what);
    BnPtr bn_n(BN_bin2bn(bytes(n), static_cast<int>(n.size()), nullptr));
    BnPtr bn_e(BN_bin2bn(bytes(e), static_cast<int>(e.size()), nullptr));
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld || BN_is_zero(bn_e.get()) ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
        throw std::invalid_argument(what + ": bad RSA n/e");
    }
    PkeyPtr pkey = pkey_from_params("RSA", bld.get());
    if (!pkey) throw std::invalid_argument(what + ": bad RSA n/e");
    return pkey;
}

PkeyPtr ec_from_jwk(const nlohmann::json& entry, const std::string& what) {
    if (jwk_string(entry, "crv", what) != "P-256") {
        throw std::invalid_argument(what + ": only curve P-256 is supported");
    }
    std::string x = jwk_bytes(entry, "x", what), y = jwk_bytes(entry, "y", what);
    if (x.size() != std::size_t{kEcCoord} || y.size() != std::size_t{kEcCoord}) {
        throw std::invalid_argument(what + ": EC x and y must be 32 bytes each");
    }
    std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
        throw std::invalid_argument(what + ": bad EC x/y");
    }
    PkeyPtr pkey = pkey_from_params("EC", bld.get());
    // fromdata decodes the point; the explicit check makes "on the curve" not an assumption.
    PkeyCtxPtr check(pkey ? EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr) : nullptr);
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
        throw std::invalid_argument(what + ": EC point is not on P-256");
    }
    return pkey;
}

std::optional<std::string> hmac_sha256(std::string_view secret, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    std::size_t len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                   bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                   out.size(), &len)) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

// Raw R||S (JWS) <-> DER ECDSA-Sig-Value (OpenSSL).
std::optional<std::string> ecdsa_der_to_raw(std::string_view der) {
    const unsigned char* p = bytes(der);
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) return std::nullopt;
    std::string raw(2 * std::size_t{kEcCoord}, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kEcCoord) != kEcCoord ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kEcCoord, kEcCoord) != kEcCoord) {
        return std::nullopt;
    }
    return raw;
}

std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
    if (raw.size() != 2 * std::size_t{kEcCoord}) return std::nullopt;
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BnPtr r(BN_bin2bn(bytes(raw), kEcCoord, nullptr));
    BnPtr s(BN_bin2bn(bytes(raw) + kEcCoord, kEcCoord, nullptr));
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
    r.release();  // now owned by sig
    s.release();
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return std::nullopt;
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
    return der;
}

std::optional<std::string> digest_sign(EVP_PKEY* pkey, std::string_view data) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, bytes(data), data.size()) != 1) {
        return std::nullopt;
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(data),
                       data.size()) != 1) {
        return std::nullopt;
    }
    sig.resize(len);
    return sig;
}

bool digest_verify(EVP_PKEY* pkey, std::string_view data, std::string_view sig) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
           EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(data), data.size()) == 1;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

Verified fail(Failure f, std::string message) {
    return {f, std::move(message), nullptr};
}

// A NumericDate claim (RFC 7519 2): absent is fine, present must be a JSON number. Compared as
// double so that huge values cannot overflow the int64 arithmetic of now +/- leeway.
enum class DateClaim { Absent, Present, NotNumber };
DateClaim numeric_date(const nlohmann::json& claims, const char* name, double& value) {
    auto it = claims.find(name);
    if (it == claims.end()) return DateClaim::Absent;
    if (!it->is_number()) return DateClaim::NotNumber;
    value = it->get<double>();
    return DateClaim::Present;
}

Verified check_claims(const nlohmann::json& claims, const VerifyOptions& options) {
    const double now = static_cast<double>(options.now);
    const double leeway = static_cast<double>(options.leeway_seconds);
    double exp = 0, nbf = 0, iat = 0;
    switch (numeric_date(claims, "exp", exp)) {
        case DateClaim::NotNumber:
            return fail(Failure::BadClaim, "JWT exp is not a number");
        case DateClaim::Present:
            if (exp + leeway <= now) return fail(Failure::Expired, "JWT expired");
            break;
        case DateClaim::Absent:
            break;
    }
    switch (numeric_date(claims, "nbf", nbf)) {
        case DateClaim::NotNumber:
            return fail(Failure::BadClaim, "JWT nbf is not a number");
        case DateClaim::Present:
            if (nbf - leeway > now) return fail(Failure::NotYetValid, "JWT not yet valid (nbf)");
            break;
        case DateClaim::Absent:
            break;
    }
    switch (numeric_date(claims, "iat", iat)) {
        case DateClaim::NotNumber:
            return fail(Failure::BadClaim, "JWT iat is not a number");
        case DateClaim::Present:
            if (iat - leeway > now) return fail(Failure::NotYetValid, "JWT issued in the future");
            break;
        case DateClaim::Absent:
            break;
    }

    // aud: a string or an array of strings (RFC 7519 4.1.3); an empty array counts as absent.
    std::vector<std::string> audiences;
    if (auto it = claims.find("aud"); it != claims.end()) {
        if (it->is_string()) {
            audiences.push_back(it->get<std::string>());
        } else if (it->is_array() && std::all_of(it->begin(), it->end(),
                                                 [](const auto& a) { return a.is_string(); })) {
            for (const auto& a : *it) audiences.push_back(a.get<std::string>());
        } else {
            return fail(Failure::BadClaim, "JWT aud is not a string or an array of strings");
        }
    }
    if (audiences.empty()) {
        if (options.require_audience) return fail(Failure::BadAudience, "JWT has no audience");
    } else if (options.audience && std::find(audiences.begin(), audiences.end(),
                                             *options.audience) == audiences.end()) {
        return fail(Failure::BadAudience, "JWT audience does not match");
    }
    return {};
}

Verified verify_unchecked(std::string_view token, const KeySet& keys,
                          const VerifyOptions& options) {
    // 1. Size, before anything else looks at the bytes.
    if (token.size() > options.max_token_bytes) return fail(Failure::TooLarge, "JWT too large");

    // 2. Structure: three base64url segments and a JSON object header.
    if (std::count(token.begin(), token.end(), '.') != 2) {
        return fail(Failure::Malformed, "JWT must have three dot-separated segments");
    }
    const std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
    const std::string_view header_b64 = token.substr(0, dot1);
    const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signing_input = token.substr(0, dot2);
    auto header_text = base64url_decode(header_b64);
    auto payload_text = base64url_decode(payload_b64);
    auto signature = base64url_decode(token.substr(dot2 + 1));
    if (header_b64.empty() || !header_text) {
        return fail(Failure::Malformed, "JWT header is not base64url");
    }
    if (payload_b64.empty() || !payload_text) {
        return fail(Failure::Malformed, "JWT payload is not base64url");
    }
    if (!signature) return fail(Failure::Malformed, "JWT signature is not base64url");
    const auto header = nlohmann::json::parse(*header_text, nullptr, false);
    if (!header.is_object()) return fail(Failure::Malformed, "JWT header is not a JSON object");
    // We implement no JWS extensions, so any critical one (e.g. RFC 7797 "b64") must be refused.
    if (header.contains("crit")) return fail(Failure::Malformed, "JWT crit header not supported");

    // 3. Algorithm and key. The key pins the algorithm; the header only has to agree.
    auto alg_it = header.find("alg");
    if (alg_it == header.end() || !alg_it->is_string()) {
        return fail(Failure::UnsupportedAlg, "JWT header has no alg");
    }
    const auto& alg_name = alg_it->get_ref<const std::string&>();
    auto alg = parse_algorithm(alg_name);
    if (!alg) {
        std::string lower = alg_name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return fail(Failure::UnsupportedAlg,
                    lower == "none" ? "JWT alg none is not accepted" : "JWT alg is not supported");
    }
    const Key* key = nullptr;
    if (auto kid_it = header.find("kid"); kid_it != header.end()) {
        if (!kid_it->is_string()) return fail(Failure::Malformed, "JWT kid is not a string");
        const auto& kid = kid_it->get_ref<const std::string&>();
        for (const Key& k : keys.keys()) {
            if (k.kid() == kid) key = &k;
        }
        if (!key) return fail(Failure::UnknownKey, "JWT kid is not a known key");
    } else if (keys.keys().size() == 1) {
        key = &keys.keys().front();
    } else {
        return fail(Failure::UnknownKey, "JWT has no kid and several keys are configured");
    }
    if (*alg != key->algorithm()) {
        return fail(Failure::AlgorithmMismatch, "JWT alg does not match the key's algorithm");
    }

    // 4. Signature.
    if (signature->empty()) return fail(Failure::BadSignature, "JWT signature is empty");
    const Key::State& state = *key->state;
    bool good = false;
    switch (*alg) {
        case Algorithm::HS256: {
            auto mac = hmac_sha256(state.secret, signing_input);
            good = mac && mac->size() == signature->size() &&
                   CRYPTO_memcmp(mac->data(), signature->data(), mac->size()) == 0;
            break;
        }
        case Algorithm::RS256:
            good = digest_verify(state.pkey.get(), signing_input, *signature);
            break;
        case Algorithm::ES256: {
            auto der = ecdsa_raw_to_der(*signature);
            good = der && digest_verify(state.pkey.get(), signing_input, *der);
            break;
        }
    }
    if (!good) return fail(Failure::BadSignature, "JWT signature does not verify");

    // 5. Claims, now that they are authentic.
    auto claims = nlohmann::json::parse(*payload_text, nullptr, false);
    if (claims.is_discarded()) return fail(Failure::Malformed, "JWT payload is not JSON");
    if (!claims.is_object()) return fail(Failure::BadClaim, "JWT claims are not a JSON object");
    Verified result = check_claims(claims, options);
    if (result.ok()) result.claims = std::move(claims);
    return result;
}

}  // namespace

std::string_view algorithm_name(Algorithm a) {
    switch (a) {
        case Algorithm::HS256:
            return "HS256";
        case Algorithm::RS256:
            return "RS256";
        case Algorithm::ES256:
            return "ES256";
    }
    return "?";
}

Key Key::hmac(std::string secret, std::string kid) {
    if (secret.size() < kHmacMinSecret) {
        throw std::invalid_argument("HS256 secret must have at least 32 bytes");
    }
    auto state = std::make_shared<State>();
    state->alg = Algorithm::HS256;
    state->kid = std::move(kid);
    state->secret = std::move(secret);
    state->has_private = true;
    Key key;
    key.state = std::move(state);
    return key;
}

Key Key::from_pem(Algorithm alg, std::string_view pem, std::string kid) {
    ErrGuard clear_errors;
    const std::string what = std::string(algorithm_name(alg)) + " PEM key";
    if (alg == Algorithm::HS256) throw std::invalid_argument(what + ": HS256 keys are secrets");
    auto state = std::make_shared<State>();
    // Private first (it carries the public half too), then SubjectPublicKeyInfo.
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (bio) state->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    state->has_private = state->pkey != nullptr;
    if (!state->pkey) {
        bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        if (bio) state->pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    }
    if (!state->pkey) throw std::invalid_argument(what + ": does not parse");
    check_key_type(alg, state->pkey.get(), what);
    state->alg = alg;
    state->kid = std::move(kid);
    Key key;
    key.state = std::move(state);
    return key;
}

Algorithm Key::algorithm() const {
    return state->alg;
}
const std::string& Key::kid() const {
    return state->kid;
}
bool Key::can_sign() const {
    return state && state->has_private;
}

void KeySet::add(Key key) {
    if (!key.state) throw std::invalid_argument("JWT key is empty");
    // Two keys with one kid would make the lookup ambiguous.
    if (!key.kid().empty()) {
        for (const Key& k : keys_) {
            if (k.kid() == key.kid()) {
                throw std::invalid_argument("JWT key id \"" + key.kid() + "\" is configured twice");
            }
        }
    }
    keys_.push_back(std::move(key));
}

void KeySet::add_jwks(const nlohmann::json& jwks) {
    ErrGuard clear_errors;
    auto list = jwks.is_object() ? jwks.find("keys") : jwks.end();
    if (list == jwks.end() || !list->is_array()) {
        throw std::invalid_argument("JWKS: expected an object with a \"keys\" array");
    }
    std::vector<Key> parsed;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& entry = (*list)[i];
        std::string what = "JWKS key " + std::to_string(i);
        if (!entry.is_object()) throw std::invalid_argument(what + ": not an object");
        if (auto kid = entry.find("kid"); kid != entry.end() && kid->is_string()) {
            what += " (kid \"" + kid->get<std::string>() + "\")";
        }
        if (auto use = entry.find("use"); use != entry.end() && *use != "sig") continue;
        const std::string kid = jwk_string(entry, "kid", what);
        const std::string kty = jwk_string(entry, "kty", what);
        auto alg = parse_algorithm(jwk_string(entry, "alg", what));
        if (!alg || *alg == Algorithm::HS256) {
            throw std::invalid_argument(what + ": alg must be RS256 or ES256");
        }
        if (kty != (*alg == Algorithm::RS256 ? "RSA" : "EC")) {
            throw std::invalid_argument(what + ": kty \"" + kty + "\" does not fit its alg");
        }
        auto state = std::make_shared<Key::State>();
        state->alg = *alg;
        state->kid = kid;
        state->pkey =
            *alg == Algorithm::RS256 ? rsa_from_jwk(entry, what) : ec_from_jwk(entry, what);
        check_key_type(*alg, state->pkey.get(), what);
        Key key;
        key.state = std::move(state);
        parsed.push_back(std::move(key));
    }
    // All or nothing: a bad entry leaves the set as it was (duplicates are checked by add).
    KeySet merged = *this;
    for (Key& key : parsed) merged.add(std::move(key));
    *this = std::move(merged);
}

Verified verify(std::string_view token, const KeySet& keys, const VerifyOptions& options) {
    ErrGuard clear_errors;
    try {
        return verify_unchecked(token, keys, options);
    } catch (const std::exception&) {
        // Only allocation failure can get here; the caller still gets an answer, not a throw.
        return fail(Failure::Malformed, "JWT could not be processed");
    }
}

std::string sign(const nlohmann::json& claims, const Key& key) {
    ErrGuard clear_errors;
    if (!key.can_sign()) throw std::invalid_argument("JWT key has no private part to sign with");
    const Key::State& state = *key.state;
    nlohmann::json header = {{"alg", algorithm_name(state.alg)}, {"typ", "JWT"}};
    if (!state.kid.empty()) header["kid"] = state.kid;
    std::string input;
    try {
        input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("JWT claims do not serialize: ") + e.what());
    }
    std::optional<std::string> sig;
    switch (state.alg) {
        case Algorithm::HS256:
            sig = hmac_sha256(state.secret, input);
            break;
        case Algorithm::RS256:
            sig = digest_sign(state.pkey.get(), input);
            break;
        case Algorithm::ES256:
            if (auto der = digest_sign(state.pkey.get(), input)) sig = ecdsa_der_to_raw(*der);
            break;
    }
    if (!sig) throw std::invalid_argument("JWT signing failed in OpenSSL");
    return input + "." + base64url_encode(*sig);
}

std::string base64url_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return unsigned{static_cast<unsigned char>(in[k])}; };
    for (; i + 3 <= in.size(); i += 3) {
        const unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        const unsigned v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        if (rest == 2) out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to 4k+1 characters
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = b64_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // Leftover bits must be zero: otherwise several texts would decode to the same bytes, and a
    // signature could be re-encoded without breaking it.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace abx::http::jwt
