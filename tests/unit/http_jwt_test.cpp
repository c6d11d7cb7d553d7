// Tests of the abx-http JWT module (src/http/jwt.hpp). Keys are generated here with OpenSSL, and
// crafted tokens and JWKS documents are built with OpenSSL directly (EVP_EncodeBlock, EVP_Q_mac,
// EVP_PKEY_get_bn_param), not with the code under test.
#include "jwt.hpp"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace jwt = abx::http::jwt;
using jwt::Algorithm;
using jwt::Failure;
using jwt::Key;
using jwt::KeySet;
using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";  // exactly 32 bytes

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Reference base64url: OpenSSL's standard base64, translated and unpadded.
std::string ref_b64url(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

std::string ref_hmac(std::string_view secret, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                        reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                        sizeof mac, &len),
              nullptr);
    return std::string(reinterpret_cast<char*>(mac), len);
}

// A token with arbitrary header and payload text, HS256-signed independently of jwt::sign.
std::string hs_token(std::string_view header, std::string_view payload,
                     std::string_view secret = kSecret) {
    std::string input = ref_b64url(header) + "." + ref_b64url(payload);
    return input + "." + ref_b64url(ref_hmac(secret, input));
}

// PEM text of a key: SubjectPublicKeyInfo, or PKCS#8 (encrypted when a passphrase is given).
std::string to_pem(EVP_PKEY* pkey, bool private_key, std::string_view passphrase = {}) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
    int ok = private_key ? PEM_write_bio_PrivateKey(
                               bio.get(), pkey, cipher,
                               reinterpret_cast<const unsigned char*>(passphrase.data()),
                               static_cast<int>(passphrase.size()), nullptr, nullptr)
                         : PEM_write_bio_PUBKEY(bio.get(), pkey);
    EXPECT_EQ(ok, 1);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// Key generation is slow (RSA): once per process.
EVP_PKEY* rsa_key() {
    static Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
    return key.get();
}
EVP_PKEY* ec_key() {
    static Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    return key.get();
}

std::string bn_param(EVP_PKEY* pkey, const char* name, int pad = 0) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    std::string out(
        pad ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    EXPECT_GT(pad ? BN_bn2binpad(bn, p, pad) : BN_bn2bin(bn, p), 0);
    BN_free(bn);
    return out;
}

json rsa_jwk(EVP_PKEY* pkey, const std::string& kid) {
    return {{"kty", "RSA"},
            {"kid", kid},
            {"alg", "RS256"},
            {"use", "sig"},
            {"n", ref_b64url(bn_param(pkey, OSSL_PKEY_PARAM_RSA_N))},
            {"e", ref_b64url(bn_param(pkey, OSSL_PKEY_PARAM_RSA_E))}};
}

json ec_jwk(EVP_PKEY* pkey, const std::string& kid) {
    return {{"kty", "EC"},
            {"kid", kid},
            {"alg", "ES256"},
            {"crv", "P-256"},
            {"x", ref_b64url(bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
            {"y", ref_b64url(bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}

jwt::VerifyOptions opts() {
    jwt::VerifyOptions o;
    o.now = kNow;
    return o;
}

KeySet set_of(std::initializer_list<Key> keys) {
    KeySet s;
    for (const Key& k : keys) s.add(k);
    return s;
}

Failure check(std::string_view token, const KeySet& keys, const jwt::VerifyOptions& o = opts()) {
    jwt::Verified v = jwt::verify(token, keys, o);
    EXPECT_EQ(v.ok(), v.message.empty()) << v.message;  // failures always explain themselves
    return v.failure;
}

const KeySet& hs_set() {
    static const KeySet s = set_of({Key::hmac(kSecret, "hs")});
    return s;
}

// ------------------------------------------------------------------------------------------
// base64url

TEST(JwtBase64url, Rfc4648Vectors) {
    // RFC 4648 section 10, with the padding removed (none of these use '+' or '/').
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        EXPECT_EQ(jwt::base64url_encode(plain), encoded);
        EXPECT_EQ(jwt::base64url_decode(encoded), plain);
    }
    // Standard "+/8=" in the url alphabet.
    EXPECT_EQ(jwt::base64url_encode("\xfb\xff"), "-_8");
    EXPECT_EQ(jwt::base64url_decode("-_8"), "\xfb\xff");
}

TEST(JwtBase64url, RejectsBadInput) {
    for (const char* bad : {"Zg==", "Zm9v=", "Z", "Zm9vY", "+/8", "Zm 9v", "Zm9v\n", "Zm.v"}) {
        EXPECT_EQ(jwt::base64url_decode(bad), std::nullopt) << bad;
    }
    // Non-zero leftover bits: "Zh" and "Zm9" would otherwise alias "Zg" and "Zm8".
    EXPECT_EQ(jwt::base64url_decode("Zh"), std::nullopt);
    EXPECT_EQ(jwt::base64url_decode("Zm9"), std::nullopt);
}

TEST(JwtBase64url, RandomRoundTripMatchesOpenSsl) {
    std::mt19937 rng(7);
    for (int len = 0; len < 200; ++len) {
        std::string bytes(static_cast<std::size_t>(len), '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        const std::string encoded = jwt::base64url_encode(bytes);
        EXPECT_EQ(encoded, ref_b64url(bytes));
        EXPECT_EQ(jwt::base64url_decode(encoded), bytes);
    }
}

// ------------------------------------------------------------------------------------------
// Keys

TEST(JwtKey, HmacSecretNeeds32Bytes) {
    EXPECT_THROW(Key::hmac(std::string(31, 'x')), std::invalid_argument);
    EXPECT_THROW(Key::hmac(""), std::invalid_argument);
    Key k = Key::hmac(std::string(32, 'x'), "k");
    EXPECT_EQ(k.algorithm(), Algorithm::HS256);
    EXPECT_EQ(k.kid(), "k");
    EXPECT_TRUE(k.can_sign());
}

TEST(JwtKey, PemMustParseAndFitTheAlgorithm) {
    const std::string rsa_pub = to_pem(rsa_key(), false), ec_pub = to_pem(ec_key(), false);
    EXPECT_THROW(Key::from_pem(Algorithm::RS256, "not a pem"), std::invalid_argument);
    EXPECT_THROW(Key::from_pem(Algorithm::RS256, ""), std::invalid_argument);
    EXPECT_THROW(Key::from_pem(Algorithm::ES256, rsa_pub), std::invalid_argument);
    EXPECT_THROW(Key::from_pem(Algorithm::RS256, ec_pub), std::invalid_argument);
    EXPECT_THROW(Key::from_pem(Algorithm::HS256, rsa_pub), std::invalid_argument);

    Pkey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
    EXPECT_THROW(Key::from_pem(Algorithm::ES256, to_pem(p384.get(), false)), std::invalid_argument);
    Pkey rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
    EXPECT_THROW(Key::from_pem(Algorithm::RS256, to_pem(rsa1024.get(), false)),
                 std::invalid_argument);

    // An encrypted private key is refused, without prompting for a passphrase.
    const std::string encrypted = to_pem(ec_key(), true, "passphrase");
    ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
    EXPECT_THROW(Key::from_pem(Algorithm::ES256, encrypted), std::invalid_argument);

    EXPECT_FALSE(Key::from_pem(Algorithm::RS256, rsa_pub).can_sign());
    EXPECT_TRUE(Key::from_pem(Algorithm::ES256, to_pem(ec_key(), true)).can_sign());
    EXPECT_THROW(jwt::sign({{"sub", "x"}}, Key::from_pem(Algorithm::ES256, ec_pub)),
                 std::invalid_argument);
}

TEST(JwtKey, KeySetRefusesDuplicateKidAndEmptyKey) {
    KeySet s;
    s.add(Key::hmac(kSecret, "a"));
    EXPECT_THROW(s.add(Key::hmac(kSecret + "x", "a")), std::invalid_argument);
    EXPECT_THROW(s.add(Key{}), std::invalid_argument);
    EXPECT_EQ(s.keys().size(), 1u);
}

// ------------------------------------------------------------------------------------------
// Round trips and the RFC 7515 known answer

void expect_round_trip(const Key& signer, const Key& verifier) {
    const json claims = {{"sub", "user-1"}, {"exp", kNow + 60}, {"aud", "abx"}, {"n", 3}};
    const std::string token = jwt::sign(claims, signer);
    jwt::VerifyOptions o = opts();
    o.audience = "abx";
    o.require_audience = true;
    jwt::Verified v = jwt::verify(token, set_of({verifier}), o);
    ASSERT_TRUE(v.ok()) << v.message;
    EXPECT_EQ(v.claims, claims);
    const json header = json::parse(*jwt::base64url_decode(token.substr(0, token.find('.'))));
    EXPECT_EQ(header, json({{"alg", jwt::algorithm_name(signer.algorithm())},
                            {"typ", "JWT"},
                            {"kid", signer.kid()}}));
}

TEST(JwtRoundTrip, HS256) {
    expect_round_trip(Key::hmac(kSecret, "h"), Key::hmac(kSecret, "h"));
}

TEST(JwtRoundTrip, RS256) {
    expect_round_trip(Key::from_pem(Algorithm::RS256, to_pem(rsa_key(), true), "r"),
                      Key::from_pem(Algorithm::RS256, to_pem(rsa_key(), false), "r"));
}

TEST(JwtRoundTrip, ES256RawSignature) {
    const Key priv = Key::from_pem(Algorithm::ES256, to_pem(ec_key(), true), "e");
    expect_round_trip(priv, Key::from_pem(Algorithm::ES256, to_pem(ec_key(), false), "e"));
    const std::string token = jwt::sign({{"sub", "x"}}, priv);
    EXPECT_EQ(jwt::base64url_decode(token.substr(token.rfind('.') + 1))->size(), 64u);  // R||S
    EXPECT_TRUE(jwt::verify(token, set_of({priv}), opts()).ok());  // a private key verifies too
}

TEST(JwtKnownAnswer, Rfc7515AppendixA1) {
    const std::string token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0c"
        "nVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char* k =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    // The same 64 key bytes, hex-decoded independently (python3 base64.urlsafe_b64decode).
    const char* hex =
        "0323354b2b0fa5bc837e0665777ba68f5ab328e6f054c928a90f84b2d2502ebf"
        "d3fb5a92d20647ef968ab4c377623d223d2e2172052e4f08c0cd9af567d080a3";
    std::string secret;
    for (const char* p = hex; *p; p += 2) {
        secret += static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16));
    }
    ASSERT_EQ(jwt::base64url_decode(k), secret);

    jwt::VerifyOptions o = opts();
    o.now = 1300819000;
    jwt::Verified v = jwt::verify(token, set_of({Key::hmac(secret)}), o);
    ASSERT_TRUE(v.ok()) << v.message;
    EXPECT_EQ(v.claims["iss"], "joe");
    EXPECT_EQ(v.claims["http://example.com/is_root"], true);
    o.now = 1300819380 + 30;  // exp + leeway
    EXPECT_EQ(check(token, set_of({Key::hmac(secret)}), o), Failure::Expired);
}

// ------------------------------------------------------------------------------------------
// Attacks

TEST(JwtAttack, AlgNoneOrMissingOrForeign) {
    const std::string payload = R"({"sub":"admin"})";
    for (const char* header :
         {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})", R"({"typ":"JWT"})",
          R"({"alg":null})", R"({"alg":"HS512"})", R"({"alg":"hs256"})"}) {
        const std::string unsigned_token = ref_b64url(header) + "." + ref_b64url(payload) + ".";
        EXPECT_EQ(check(unsigned_token, hs_set()), Failure::UnsupportedAlg) << header;
        EXPECT_EQ(check(hs_token(header, payload), hs_set()), Failure::UnsupportedAlg) << header;
    }
    EXPECT_EQ(jwt::verify(ref_b64url(R"({"alg":"none"})") + ".e30.", hs_set(), opts()).message,
              "JWT alg none is not accepted");
}

TEST(JwtAttack, EmptySignature) {
    const Key rs = Key::from_pem(Algorithm::RS256, to_pem(rsa_key(), true));
    const Key es = Key::from_pem(Algorithm::ES256, to_pem(ec_key(), true));
    for (const Key& key : {Key::hmac(kSecret), rs, es}) {
        std::string token = jwt::sign({{"sub", "x"}}, key);
        token.erase(token.rfind('.') + 1);
        const jwt::Verified v = jwt::verify(token, set_of({key}), opts());
        EXPECT_EQ(v.failure, Failure::BadSignature);
        EXPECT_EQ(v.message, "JWT signature is empty");
    }
}

TEST(JwtAttack, HmacSignedWithRsaPublicPemAgainstRs256Key) {
    const std::string pem = to_pem(rsa_key(), false);
    const KeySet keys = set_of({Key::from_pem(Algorithm::RS256, pem, "r")});
    EXPECT_EQ(check(jwt::sign({{"sub", "admin"}}, Key::hmac(pem, "r")), keys),
              Failure::AlgorithmMismatch);
    // Without a kid the only key is chosen, and it still pins RS256.
    EXPECT_EQ(check(jwt::sign({{"sub", "admin"}}, Key::hmac(pem)),
                    set_of({Key::from_pem(Algorithm::RS256, pem)})),
              Failure::AlgorithmMismatch);
}

TEST(JwtAttack, KeySelection) {
    const KeySet two = set_of({Key::hmac(kSecret, "a"), Key::hmac(kSecret + "b", "b")});
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret, "c")), two), Failure::UnknownKey);
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret)), two), Failure::UnknownKey);
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret)), KeySet{}), Failure::UnknownKey);
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret + "b", "b")), two), Failure::None);
    // A key with the right kid but another secret.
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret + "z", "a")), two),
              Failure::BadSignature);
    // Without a kid, a lone key is used whatever its kid.
    EXPECT_EQ(check(jwt::sign({{"sub", "x"}}, Key::hmac(kSecret)), hs_set()), Failure::None);
    EXPECT_EQ(check(hs_token(R"({"alg":"HS256","kid":7})", "{}"), hs_set()), Failure::Malformed);
}

TEST(JwtAttack, TamperedPayloadOrSignature) {
    const std::string token = jwt::sign({{"sub", "user"}}, Key::hmac(kSecret, "hs"));
    const std::size_t d1 = token.find('.'), d2 = token.rfind('.');
    const std::string forged =
        token.substr(0, d1 + 1) + ref_b64url(R"({"sub":"admin"})") + token.substr(d2);
    EXPECT_EQ(check(forged, hs_set()), Failure::BadSignature);

    const Key es = Key::from_pem(Algorithm::ES256, to_pem(ec_key(), true));
    const std::string es_token = jwt::sign({{"sub", "x"}}, es);
    const std::string es_head = es_token.substr(0, es_token.rfind('.') + 1);
    EXPECT_EQ(check(es_head + ref_b64url(std::string(63, '\1')), set_of({es})),
              Failure::BadSignature);
    EXPECT_EQ(check(es_head + ref_b64url(std::string(64, '\0')), set_of({es})),
              Failure::BadSignature);
    const Key rs = Key::from_pem(Algorithm::RS256, to_pem(rsa_key(), true));
    const std::string rs_token = jwt::sign({{"sub", "x"}}, rs);
    EXPECT_EQ(check(rs_token.substr(0, rs_token.rfind('.') + 1) + "AAAA", set_of({rs})),
              Failure::BadSignature);
}

// ------------------------------------------------------------------------------------------
// Structure

TEST(JwtStructure, SegmentsAndSize) {
    const std::string token = jwt::sign({{"sub", "x"}}, Key::hmac(kSecret, "hs"));
    EXPECT_EQ(check("", hs_set()), Failure::Malformed);
    EXPECT_EQ(check(token.substr(0, token.rfind('.')), hs_set()), Failure::Malformed);
    EXPECT_EQ(check(token + ".e30", hs_set()), Failure::Malformed);
    EXPECT_EQ(check("..", hs_set()), Failure::Malformed);

    jwt::VerifyOptions o = opts();
    o.max_token_bytes = token.size();
    EXPECT_EQ(check(token, hs_set(), o), Failure::None);
    o.max_token_bytes = token.size() - 1;
    EXPECT_EQ(check(token, hs_set(), o), Failure::TooLarge);
    // Size is checked before anything else: garbage that is too long is TooLarge, not Malformed.
    EXPECT_EQ(check(std::string(8193, '!'), hs_set()), Failure::TooLarge);
}

TEST(JwtStructure, HeaderMustBeBase64urlJsonObject) {
    const std::string rest = "." + ref_b64url("{}") + ".c2ln";
    EXPECT_EQ(check("!!!!" + rest, hs_set()), Failure::Malformed);
    EXPECT_EQ(check("eyJhbGciOiJIUzI1NiJ9=" + rest, hs_set()), Failure::Malformed);  // padding
    EXPECT_EQ(check(ref_b64url("not json") + rest, hs_set()), Failure::Malformed);
    EXPECT_EQ(check(ref_b64url(R"(["HS256"])") + rest, hs_set()), Failure::Malformed);
    EXPECT_EQ(check(ref_b64url(R"("HS256")") + rest, hs_set()), Failure::Malformed);
    EXPECT_EQ(check(rest, hs_set()), Failure::Malformed);
    EXPECT_EQ(check(hs_token(R"({"alg":"HS256","crit":["b64"],"b64":false})", "{}"), hs_set()),
              Failure::Malformed);
    EXPECT_EQ(check(ref_b64url(R"({"alg":"HS256"})") + ".e30.!!", hs_set()), Failure::Malformed);
}

TEST(JwtStructure, PayloadIsOnlyTrustedAfterTheSignature) {
    const std::string header = R"({"alg":"HS256"})";
    EXPECT_EQ(check(ref_b64url(header) + ".!!!.c2ln", hs_set()), Failure::Malformed);
    // Properly signed, but not JSON / not an object.
    EXPECT_EQ(check(hs_token(header, "not json"), hs_set()), Failure::Malformed);
    EXPECT_EQ(check(hs_token(header, "[1,2]"), hs_set()), Failure::BadClaim);
    EXPECT_EQ(check(hs_token(header, "42"), hs_set()), Failure::BadClaim);
    // The same payloads under a wrong signature are never parsed.
    EXPECT_EQ(check(hs_token(header, "not json", kSecret + "x"), hs_set()), Failure::BadSignature);
    EXPECT_EQ(check(hs_token(header, R"({"exp":"soon"})", kSecret + "x"), hs_set()),
              Failure::BadSignature);
    EXPECT_EQ(check(hs_token(header, "{}"), hs_set()), Failure::None);
    // Deep nesting parses without recursion trouble (claims are returned as they are).
    const std::string deep = R"({"a":)" + std::string(2500, '[') + std::string(2500, ']') + "}";
    EXPECT_EQ(check(hs_token(header, deep), hs_set()), Failure::None);
}

// ------------------------------------------------------------------------------------------
// Claims

Failure claims_check(const json& claims, const jwt::VerifyOptions& o = opts()) {
    return check(jwt::sign(claims, Key::hmac(kSecret)), hs_set(), o);
}

TEST(JwtClaims, ExpiryWithLeeway) {
    EXPECT_EQ(claims_check({{"exp", kNow - 31}}), Failure::Expired);
    EXPECT_EQ(claims_check({{"exp", kNow - 30}}), Failure::Expired);  // exp + leeway <= now
    EXPECT_EQ(claims_check({{"exp", kNow - 29}}), Failure::None);
    EXPECT_EQ(claims_check({{"exp", kNow - 29.5}}), Failure::None);
    jwt::VerifyOptions strict = opts();
    strict.leeway_seconds = 0;
    EXPECT_EQ(claims_check({{"exp", kNow}}, strict), Failure::Expired);
    EXPECT_EQ(claims_check({{"exp", kNow + 1}}, strict), Failure::None);
    EXPECT_EQ(claims_check({{"exp", std::numeric_limits<std::int64_t>::max()}}), Failure::None);
    EXPECT_EQ(claims_check({{"exp", std::numeric_limits<std::int64_t>::min()}}), Failure::Expired);
}

TEST(JwtClaims, NotBeforeAndIssuedAt) {
    EXPECT_EQ(claims_check({{"nbf", kNow + 31}}), Failure::NotYetValid);
    EXPECT_EQ(claims_check({{"nbf", kNow + 29}}), Failure::None);
    EXPECT_EQ(claims_check({{"iat", kNow + 31}}), Failure::NotYetValid);
    EXPECT_EQ(claims_check({{"iat", kNow + 30}}), Failure::None);
    EXPECT_EQ(claims_check({{"iat", kNow - 3600}, {"nbf", kNow - 3600}, {"exp", kNow + 60}}),
              Failure::None);
}

TEST(JwtClaims, DatesMustBeNumbers) {
    EXPECT_EQ(claims_check({{"exp", std::to_string(kNow + 60)}}), Failure::BadClaim);
    EXPECT_EQ(claims_check({{"exp", true}}), Failure::BadClaim);
    EXPECT_EQ(claims_check({{"nbf", nullptr}}), Failure::BadClaim);
    EXPECT_EQ(claims_check({{"iat", json::array({kNow})}}), Failure::BadClaim);
}

TEST(JwtClaims, Audience) {
    jwt::VerifyOptions o = opts();
    o.audience = "abx";
    EXPECT_EQ(claims_check({{"aud", "abx"}}, o), Failure::None);
    EXPECT_EQ(claims_check({{"aud", json::array({"other", "abx"})}}, o), Failure::None);
    EXPECT_EQ(claims_check({{"aud", "other"}}, o), Failure::BadAudience);
    EXPECT_EQ(claims_check({{"aud", json::array({"other", "ABX"})}}, o), Failure::BadAudience);
    EXPECT_EQ(claims_check({{"sub", "x"}}, o), Failure::None);  // not required
    EXPECT_EQ(claims_check({{"aud", 1}}, o), Failure::BadClaim);
    EXPECT_EQ(claims_check({{"aud", json::array({"abx", 1})}}, o), Failure::BadClaim);
    o.require_audience = true;
    EXPECT_EQ(claims_check({{"sub", "x"}}, o), Failure::BadAudience);
    EXPECT_EQ(claims_check({{"aud", json::array()}}, o), Failure::BadAudience);
    EXPECT_EQ(claims_check({{"aud", "abx"}}, o), Failure::None);
    o.audience.reset();  // any audience, but one is required
    EXPECT_EQ(claims_check({{"aud", "anything"}}, o), Failure::None);
    EXPECT_EQ(claims_check({{"sub", "x"}}, o), Failure::BadAudience);
}

// ------------------------------------------------------------------------------------------
// JWKS

TEST(JwtJwks, RsaAndEcPublicKeys) {
    json enc = rsa_jwk(rsa_key(), "enc-key");
    enc["use"] = "enc";
    const json jwks = {
        {"keys", json::array({rsa_jwk(rsa_key(), "r1"), ec_jwk(ec_key(), "e1"), enc})}};
    KeySet keys;
    keys.add_jwks(jwks);
    ASSERT_EQ(keys.keys().size(), 2u);  // the "enc" entry is skipped
    EXPECT_EQ(keys.keys()[0].algorithm(), Algorithm::RS256);
    EXPECT_EQ(keys.keys()[1].algorithm(), Algorithm::ES256);
    EXPECT_FALSE(keys.keys()[0].can_sign());

    const std::string rsa_priv = to_pem(rsa_key(), true), ec_priv = to_pem(ec_key(), true);
    const json claims = {{"sub", "u"}};
    EXPECT_EQ(check(jwt::sign(claims, Key::from_pem(Algorithm::RS256, rsa_priv, "r1")), keys),
              Failure::None);
    EXPECT_EQ(check(jwt::sign(claims, Key::from_pem(Algorithm::ES256, ec_priv, "e1")), keys),
              Failure::None);
    EXPECT_EQ(check(jwt::sign(claims, Key::from_pem(Algorithm::RS256, rsa_priv, "enc-key")), keys),
              Failure::UnknownKey);
    // kid r1 pins RS256: an ES256 token naming it is refused.
    EXPECT_EQ(check(jwt::sign(claims, Key::from_pem(Algorithm::ES256, ec_priv, "r1")), keys),
              Failure::AlgorithmMismatch);
}

json with(json entry, const char* name, const json& value) {
    entry[name] = value;
    return entry;
}

TEST(JwtJwks, BadEntriesAreNamedAndChangeNothing) {
    auto expect_refused = [](json entry, const std::string& needle) {
        KeySet keys;
        keys.add(Key::hmac(kSecret, "existing"));
        try {
            keys.add_jwks({{"keys", json::array({ec_jwk(ec_key(), "fine"), entry})}});
            ADD_FAILURE() << "accepted " << entry.dump();
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
        EXPECT_EQ(keys.keys().size(), 1u);  // all or nothing
    };
    json rsa = rsa_jwk(rsa_key(), "bad");
    json ec = ec_jwk(ec_key(), "bad");
    json no_kid = rsa;
    no_kid.erase("kid");
    expect_refused(no_kid, "key 1");
    expect_refused(rsa_jwk(rsa_key(), ""), "key 1");
    json no_alg = rsa;
    no_alg.erase("alg");
    expect_refused(no_alg, "\"bad\"");
    expect_refused(with(rsa, "alg", "RS512"), "\"bad\"");
    expect_refused(with(rsa, "kty", "EC"), "\"bad\"");
    expect_refused(with(rsa, "n", "!!"), "\"bad\"");
    expect_refused(json({{"kty", "oct"}, {"kid", "bad"}, {"alg", "HS256"}, {"k", "AAAA"}}),
                   "\"bad\"");
    expect_refused(with(ec, "crv", "P-384"), "\"bad\"");
    expect_refused(with(ec, "x", ref_b64url(std::string(31, '\1'))), "\"bad\"");
    std::string y = *jwt::base64url_decode(ec["y"].get<std::string>());
    y.back() = static_cast<char>(y.back() ^ 1);  // (x, y') is not on the curve
    expect_refused(with(ec, "y", ref_b64url(y)), "\"bad\"");
    expect_refused(json("string"), "key 1");
    expect_refused(ec_jwk(ec_key(), "existing"), "existing");  // duplicate kid

    KeySet keys;
    EXPECT_THROW(keys.add_jwks(json::array()), std::invalid_argument);
    EXPECT_THROW(keys.add_jwks({{"keys", "nope"}}), std::invalid_argument);
}

// ------------------------------------------------------------------------------------------
// Fuzz-ish: random mutations of valid tokens never crash and never verify.

TEST(JwtFuzz, MutationsNeverVerify) {
    const Key hs = Key::hmac(kSecret, "hs");
    const Key rs = Key::from_pem(Algorithm::RS256, to_pem(rsa_key(), true), "hs");
    const Key es = Key::from_pem(Algorithm::ES256, to_pem(ec_key(), true), "hs");
    std::mt19937 rng(20240611);
    std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
    alphabet += {'\0', '\xff'};
    int verified = 0, tried = 0;
    for (const Key& key : {hs, rs, es}) {
        const std::string token = jwt::sign({{"sub", "u"}, {"exp", kNow + 60}}, key);
        const KeySet keys = set_of({key});
        ASSERT_TRUE(jwt::verify(token, keys, opts()).ok());
        for (int i = 0; i < 1500; ++i) {
            std::string t = token;
            for (int ops = 1 + static_cast<int>(rng() % 3); ops > 0 && !t.empty(); --ops) {
                const std::size_t pos = rng() % t.size();
                switch (rng() % 4) {
                    case 0:  // flip bits
                        t[pos] = static_cast<char>(t[pos] ^ static_cast<char>(1 + rng() % 255));
                        break;
                    case 1:  // truncate
                        t.resize(pos);
                        break;
                    case 2:  // insert a dot
                        t.insert(pos, 1, '.');
                        break;
                    default:  // replace with a plausible character
                        t[pos] = alphabet[rng() % alphabet.size()];
                }
            }
            if (t == token) continue;
            ++tried;
            if (jwt::verify(t, keys, opts()).ok()) ++verified;
        }
    }
    EXPECT_GT(tried, 4000);
    EXPECT_EQ(verified, 0);
}

}  // namespace
