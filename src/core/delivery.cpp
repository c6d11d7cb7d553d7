#include "abx/delivery.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "abx/error.hpp"

namespace abx::delivery {

Routing route(std::string_view type, std::string_view level) {
    if (level != "info" && level != "warning" && level != "critical")
        invalid_field("level", "must be info, warning or critical");
    Routing r{std::string(level), {"webhook"}};
    auto to = [&r](std::initializer_list<const char*> kinds) {
        for (const char* k : kinds) r.kinds.emplace_back(k);
    };
    if (type == "experiment.rolled_back") {
        r.level = "critical";
        to({"slack", "pagerduty", "email"});
    } else if (type == "experiment.approval_requested") {
        r.level = "info";
        to({"slack"});
    } else if (type == "experiment.promoted" && level == "info") {
        to({"slack", "email"});
    } else if (level == "critical") {
        to({"slack", "pagerduty", "email"});
    } else if (level == "warning") {
        to({"slack", "pagerduty"});
    }
    return r;
}

std::optional<std::int64_t> next_attempt(const RetryPolicy& p, int attempts,
                                         std::int64_t first_attempt_us, std::int64_t failed_at_us,
                                         double unit) {
    if (failed_at_us - first_attempt_us >= p.horizon_us) return std::nullopt;
    // base * 2^(attempts-1), computed without overflow: past the cap the exponent stops mattering.
    double ceiling = static_cast<double>(p.cap_us);
    if (attempts - 1 < 40)
        ceiling = std::min(
            ceiling, static_cast<double>(p.base_us) * std::ldexp(1.0, std::max(0, attempts - 1)));
    unit = std::clamp(std::isfinite(unit) ? unit : 0.0, 0.0, 1.0);
    auto delay = static_cast<std::int64_t>(unit * ceiling);
    return failed_at_us + std::max(p.min_us, delay);
}

namespace {
using V4 = std::uint32_t;

constexpr bool in(V4 a, V4 net, int bits) {
    V4 mask = bits == 0 ? 0 : ~V4{0} << (32 - bits);
    return (a & mask) == (net & mask);
}
constexpr V4 ip(int a, int b, int c, int d) {
    return (V4(a) << 24) | (V4(b) << 16) | (V4(c) << 8) | V4(d);
}

AddressClass classify_v4(V4 a) {
    if (in(a, ip(0, 0, 0, 0), 8)) return AddressClass::Unspecified;
    if (in(a, ip(127, 0, 0, 0), 8)) return AddressClass::Loopback;
    if (in(a, ip(10, 0, 0, 0), 8) || in(a, ip(172, 16, 0, 0), 12) ||
        in(a, ip(192, 168, 0, 0), 16) || in(a, ip(100, 64, 0, 0), 10))
        return AddressClass::Private;
    if (in(a, ip(169, 254, 0, 0), 16)) return AddressClass::LinkLocal;
    if (in(a, ip(224, 0, 0, 0), 4)) return AddressClass::Multicast;
    if (in(a, ip(240, 0, 0, 0), 4) || in(a, ip(192, 0, 0, 0), 24) || in(a, ip(192, 0, 2, 0), 24) ||
        in(a, ip(198, 18, 0, 0), 15) || in(a, ip(198, 51, 100, 0), 24) ||
        in(a, ip(203, 0, 113, 0), 24))
        return AddressClass::Reserved;
    return AddressClass::Public;
}
}  // namespace

AddressClass classify_address(std::string_view address) {
    std::string text(address);
    in_addr v4{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return classify_v4(ntohl(v4.s_addr));
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return AddressClass::Invalid;
    const unsigned char* b = v6.s6_addr;
    auto zero = [b](int from, int to) {
        return std::all_of(b + from, b + to, [](unsigned char c) { return c == 0; });
    };
    V4 last = (V4(b[12]) << 24) | (V4(b[13]) << 16) | (V4(b[14]) << 8) | V4(b[15]);
    if (zero(0, 16)) return AddressClass::Unspecified;
    if (zero(0, 15) && b[15] == 1) return AddressClass::Loopback;
    // v4-mapped ::ffff:a.b.c.d and the deprecated v4-compatible ::a.b.c.d reach IPv4 hosts.
    if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return classify_v4(last);
    if (zero(0, 12)) return classify_v4(last);
    // NAT64 64:ff9b::/96 translates to the embedded IPv4 address.
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12))
        return classify_v4(last);
    if (b[0] == 0xff) return AddressClass::Multicast;
    if ((b[0] & 0xfe) == 0xfc) return AddressClass::Private;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::LinkLocal;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::Private;  // site-local
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return AddressClass::Reserved;
    return AddressClass::Public;
}

std::string_view address_class_name(AddressClass c) {
    switch (c) {
        case AddressClass::Public:
            return "public";
        case AddressClass::Loopback:
            return "loopback";
        case AddressClass::Private:
            return "private";
        case AddressClass::LinkLocal:
            return "link-local";
        case AddressClass::Unspecified:
            return "unspecified";
        case AddressClass::Multicast:
            return "multicast";
        case AddressClass::Reserved:
            return "reserved";
        case AddressClass::Invalid:
            break;
    }
    return "invalid";
}

std::optional<std::string> url_problem(std::string_view url) {
    if (url.size() > 2048) return "must be at most 2048 characters";
    std::string_view rest;
    if (url.starts_with("https://"))
        rest = url.substr(8);
    else if (url.starts_with("http://"))
        rest = url.substr(7);
    else
        return "must be an http:// or https:// URL";
    for (char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return "must not contain spaces or control characters";
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos)
        return "must not carry a user name or password (put secrets in the target's settings)";
    std::string_view host = authority;
    if (host.starts_with('[')) {
        std::size_t close = host.find(']');
        if (close == std::string_view::npos) return "has an unterminated [IPv6] host";
        host = host.substr(0, close + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    if (host.empty() || host == "[]") return "must name a host";
    return std::nullopt;
}

std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
    std::string signed_text = std::to_string(unix_seconds) + "." + std::string(body);
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac.data(),
         &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "t=" + std::to_string(unix_seconds) + ",v1=";
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 15];
    }
    return out;
}

}  // namespace abx::delivery
