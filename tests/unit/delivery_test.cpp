#include "abx/delivery.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

using namespace abx::delivery;

namespace {
std::vector<std::string> kinds(std::string_view type, std::string_view level) {
    return route(type, level).kinds;
}
using K = std::vector<std::string>;
constexpr std::int64_t kSecond = 1'000'000, kHour = 3600 * kSecond;
}  // namespace

// Seed 001's table, row by row.
TEST(DeliveryRouting, Seed001NotificationTable) {
    EXPECT_EQ(kinds("experiment.promoted", "info"), (K{"webhook", "slack", "email"}));
    EXPECT_EQ(route("experiment.promoted", "info").level, "info");
    EXPECT_EQ(kinds("experiment.approval_requested", "warning"), (K{"webhook", "slack"}));
    EXPECT_EQ(route("experiment.approval_requested", "warning").level, "info");
    EXPECT_EQ(kinds("experiment.promoted", "warning"), (K{"webhook", "slack", "pagerduty"}));
    EXPECT_EQ(route("experiment.promoted", "warning").level, "warning");
    EXPECT_EQ(kinds("experiment.rolled_back", "warning"),
              (K{"webhook", "slack", "pagerduty", "email"}));
    EXPECT_EQ(route("experiment.rolled_back", "warning").level, "critical");
}

TEST(DeliveryRouting, OtherEventsGoByLevel) {
    EXPECT_EQ(kinds("experiment.variant_stopped", "critical"),
              (K{"webhook", "slack", "pagerduty", "email"}));
    EXPECT_EQ(kinds("experiment.slo_breached", "warning"), (K{"webhook", "slack", "pagerduty"}));
    EXPECT_EQ(kinds("experiment.status_changed", "info"), (K{"webhook"}));
    EXPECT_EQ(kinds("experiment.winner_changed", "info"), (K{"webhook"}));
    expect_invalid([] { route("experiment.promoted", "fatal"); }, "level");
}

TEST(DeliveryRetry, BackoffDoublesUpToTheCapWithFullJitter) {
    RetryPolicy p;
    std::int64_t t0 = 1'700'000'000 * kSecond;
    // unit just below 1: the ceiling itself, doubling from base.
    double top = 0.999999999;
    EXPECT_NEAR(*next_attempt(p, 1, t0, t0, top) - t0, 10 * kSecond, 1000);
    EXPECT_NEAR(*next_attempt(p, 2, t0, t0, top) - t0, 20 * kSecond, 1000);
    EXPECT_NEAR(*next_attempt(p, 5, t0, t0, top) - t0, 160 * kSecond, 1000);
    EXPECT_NEAR(*next_attempt(p, 12, t0, t0, top) - t0, kHour, 10000);      // capped
    EXPECT_NEAR(*next_attempt(p, 100000, t0, t0, top) - t0, kHour, 10000);  // no overflow
    // Full jitter: anywhere from the floor to the ceiling.
    EXPECT_EQ(*next_attempt(p, 5, t0, t0, 0.0) - t0, kSecond);
    EXPECT_EQ(*next_attempt(p, 5, t0, t0, 0.5) - t0, 80 * kSecond);
    // A non-finite or out-of-range draw cannot push the retry past the ceiling or before now.
    EXPECT_EQ(*next_attempt(p, 1, t0, t0, 7.0) - t0, 10 * kSecond);
    EXPECT_EQ(*next_attempt(p, 1, t0, t0, std::nan("")) - t0, kSecond);
}

TEST(DeliveryRetry, RetriedForTwentyFourHoursThenDead) {
    RetryPolicy p;
    std::int64_t t0 = 1'700'000'000 * kSecond;
    EXPECT_TRUE(next_attempt(p, 30, t0, t0 + 24 * kHour - 1, 0.5).has_value());
    EXPECT_FALSE(next_attempt(p, 30, t0, t0 + 24 * kHour, 0.5).has_value());
    // Simulated worst case (every draw at the ceiling): attempts keep coming for 24 h.
    std::int64_t t = t0;
    int attempts = 1;
    while (auto next = next_attempt(p, attempts, t0, t, 0.999999)) {
        EXPECT_LE(*next - t, kHour + 1);
        t = *next;
        ++attempts;
    }
    EXPECT_GE(t - t0, 24 * kHour);
    EXPECT_LT(t - t0, 25 * kHour + 1);
    EXPECT_GT(attempts, 30);
}

TEST(DeliveryAddress, ClassifiesIPv4) {
    EXPECT_EQ(classify_address("93.184.216.34"), AddressClass::Public);
    EXPECT_EQ(classify_address("8.8.8.8"), AddressClass::Public);
    EXPECT_EQ(classify_address("127.0.0.1"), AddressClass::Loopback);
    EXPECT_EQ(classify_address("127.255.1.2"), AddressClass::Loopback);
    EXPECT_EQ(classify_address("10.1.2.3"), AddressClass::Private);
    EXPECT_EQ(classify_address("172.16.0.1"), AddressClass::Private);
    EXPECT_EQ(classify_address("172.31.255.255"), AddressClass::Private);
    EXPECT_EQ(classify_address("172.32.0.1"), AddressClass::Public);
    EXPECT_EQ(classify_address("192.168.1.1"), AddressClass::Private);
    EXPECT_EQ(classify_address("100.64.0.1"), AddressClass::Private);
    EXPECT_EQ(classify_address("169.254.169.254"), AddressClass::LinkLocal);
    EXPECT_EQ(classify_address("0.0.0.0"), AddressClass::Unspecified);
    EXPECT_EQ(classify_address("224.0.0.1"), AddressClass::Multicast);
    EXPECT_EQ(classify_address("255.255.255.255"), AddressClass::Reserved);
    EXPECT_EQ(classify_address("192.0.2.7"), AddressClass::Reserved);
    EXPECT_EQ(classify_address("example.com"), AddressClass::Invalid);
    EXPECT_EQ(classify_address("127.1"), AddressClass::Invalid);  // inet_pton: dotted quads only
}

TEST(DeliveryAddress, ClassifiesIPv6AndMappedIPv4) {
    EXPECT_EQ(classify_address("2606:4700:4700::1111"), AddressClass::Public);
    EXPECT_EQ(classify_address("::1"), AddressClass::Loopback);
    EXPECT_EQ(classify_address("::"), AddressClass::Unspecified);
    EXPECT_EQ(classify_address("fe80::1"), AddressClass::LinkLocal);
    EXPECT_EQ(classify_address("fd00::1"), AddressClass::Private);
    EXPECT_EQ(classify_address("fc12::1"), AddressClass::Private);
    EXPECT_EQ(classify_address("ff02::1"), AddressClass::Multicast);
    EXPECT_EQ(classify_address("2001:db8::1"), AddressClass::Reserved);
    EXPECT_EQ(classify_address("::ffff:127.0.0.1"), AddressClass::Loopback);
    EXPECT_EQ(classify_address("::ffff:7f00:1"), AddressClass::Loopback);
    EXPECT_EQ(classify_address("::ffff:169.254.169.254"), AddressClass::LinkLocal);
    EXPECT_EQ(classify_address("::ffff:8.8.8.8"), AddressClass::Public);
    EXPECT_EQ(classify_address("::10.0.0.1"), AddressClass::Private);
    EXPECT_EQ(classify_address("64:ff9b::a9fe:a9fe"), AddressClass::LinkLocal);
    EXPECT_EQ(address_class_name(AddressClass::LinkLocal), "link-local");
}

TEST(DeliveryUrl, OnlyHttpAndHttpsWithAHost) {
    EXPECT_FALSE(url_problem("https://hooks.example.com/abx?x=1"));
    EXPECT_FALSE(url_problem("http://127.0.0.1:8080/hook"));
    EXPECT_FALSE(url_problem("http://[::1]:8080/hook"));
    EXPECT_TRUE(url_problem("ftp://example.com/"));
    EXPECT_TRUE(url_problem("file:///etc/passwd"));
    EXPECT_TRUE(url_problem("gopher://example.com/"));
    EXPECT_TRUE(url_problem("HTTPS//example.com"));
    EXPECT_TRUE(url_problem("https:///path"));
    EXPECT_TRUE(url_problem("https://:80/"));
    EXPECT_TRUE(url_problem("https://user:pw@example.com/"));
    EXPECT_TRUE(url_problem("https://exa mple.com/"));
    EXPECT_TRUE(url_problem("https://example.com/\r\nX: y"));
    EXPECT_TRUE(url_problem("https://" + std::string(2050, 'a')));
}

// Reference: Python's hmac.new(b"whsec_test", b'1700000000.{"id":"1"}', hashlib.sha256).
TEST(DeliverySignature, MatchesAnIndependentHmac) {
    EXPECT_EQ(signature("whsec_test", 1700000000, R"({"id":"1"})"),
              "t=1700000000,v1=11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5");
    EXPECT_NE(signature("whsec_test", 1700000001, R"({"id":"1"})"),
              signature("whsec_test", 1700000000, R"({"id":"1"})"));
}

TEST(DeliveryMessages, ShapesOfEachChannel) {
    Event e{42,
            "experiment.rolled_back",
            "warning",
            "2026-01-15T12:00:00Z",
            "acme",
            "checkout",
            {{"winner", "b"}, {"reason", "errors up"}}};
    auto body = nlohmann::json::parse(webhook_body(e));
    EXPECT_EQ(body["id"], "42");
    EXPECT_EQ(body["type"], "experiment.rolled_back");
    EXPECT_EQ(body["organization"], "acme");
    EXPECT_EQ(body["experiment"], "checkout");
    EXPECT_EQ(body["data"]["reason"], "errors up");

    auto pd = pagerduty_event(e, "critical", "R0UTING");
    EXPECT_EQ(pd["routing_key"], "R0UTING");
    EXPECT_EQ(pd["event_action"], "trigger");
    EXPECT_EQ(pd["dedup_key"], "abx-42");
    EXPECT_EQ(pd["payload"]["severity"], "critical");
    EXPECT_EQ(pd["payload"]["source"], "abx/acme");
    EXPECT_EQ(pd["payload"]["summary"],
              "[critical] acme/checkout rolled back the promotion of b: errors up");

    Event ask{7,
              "experiment.approval_requested",
              "warning",
              "2026-01-15T12:00:00Z",
              "acme",
              "checkout",
              {{"winner", "b"}}};
    auto slack = slack_message(ask, "info", "https://abx.example.com/");
    std::string text = slack["text"];
    EXPECT_NE(text.find("https://abx.example.com/ui/#/experiments/checkout"), std::string::npos)
        << text;
    EXPECT_EQ(slack["blocks"][2]["elements"][0]["url"],
              "https://abx.example.com/ui/#/experiments/checkout");
    // No base URL: no button, and the SQL that approves instead.
    auto plain = slack_message(ask, "info", "");
    EXPECT_EQ(plain["blocks"].size(), 2u);
    EXPECT_NE(plain["text"].get<std::string>().find("SELECT abx.approve('checkout')"),
              std::string::npos);

    std::string mail =
        email_message(e, "critical", "abx@example.com", {"a@x.org", "b@x.org"}, 1768478400);
    EXPECT_NE(mail.find("Date: Thu, 15 Jan 2026 12:00:00 +0000\r\n"), std::string::npos);
    EXPECT_NE(mail.find("To: a@x.org, b@x.org\r\n"), std::string::npos);
    EXPECT_NE(mail.find("Subject: [critical] acme/checkout rolled back"), std::string::npos);
    EXPECT_NE(mail.find("\r\n\r\n"), std::string::npos);
    // A non-ASCII subject is an RFC 2047 encoded word (reference: Python's base64 of the UTF-8).
    Event accented{9,
                   "experiment.rolled_back",
                   "critical",
                   "2026-01-15T12:00:00Z",
                   "acme",
                   "caf\xc3\xa9",
                   {{"winner", "b"}}};
    std::string mail2 = email_message(accented, "critical", "a@x.org", {"b@x.org"}, 1768478400);
    EXPECT_NE(mail2.find(
                  "Subject: "
                  "=?UTF-8?B?"
                  "W2NyaXRpY2FsXSBhY21lL2NhZsOpIHJvbGxlZCBiYWNrIHRoZSBwcm9tb3Rpb24gb2YgYg==?=\r\n"),
              std::string::npos)
        << mail2;
    for (std::size_t i = 0; i < mail.size(); ++i)
        if (mail[i] == '\n') {
            ASSERT_TRUE(i > 0 && mail[i - 1] == '\r') << "bare LF at " << i;
        }
}
