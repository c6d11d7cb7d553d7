// abx-http's deliverer: the outbound address check (SSRF) on literal addresses and localhost (no
// network needed), and its configuration keys.
#include <gtest/gtest.h>

#include "config.hpp"
#include "deliverer.hpp"

using namespace abx::http;

TEST(DelivererOutbound, LoopbackRefusedUnlessAllowed) {
    OutboundCheck c = check_outbound("http://127.0.0.1:8080/hook", false);
    EXPECT_FALSE(c.allowed);
    EXPECT_EQ(
        c.reason,
        "refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address (outbound_allow_private "
        "is off)");
    c = check_outbound("http://127.0.0.1:8080/hook", true);
    EXPECT_TRUE(c.allowed) << c.reason;
    EXPECT_EQ(c.resolve, "");  // an address literal is connected to as it is
}

TEST(DelivererOutbound, NamesArePinnedToTheCheckedAddresses) {
    EXPECT_FALSE(check_outbound("http://localhost:9/x", false).allowed);
    OutboundCheck c = check_outbound("http://localhost:9/x", true);
    ASSERT_TRUE(c.allowed) << c.reason;
    EXPECT_EQ(c.resolve.rfind("localhost:9:", 0), 0u) << c.resolve;
    EXPECT_NE(c.resolve.find("127.0.0.1"), std::string::npos) << c.resolve;
}

TEST(DelivererOutbound, EveryKindOfPrivateAddressAndScheme) {
    for (const char* url : {"http://10.0.0.1/", "https://192.168.1.1/", "http://169.254.169.254/",
                            "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/",
                            "http://0.0.0.0/", "smtp://127.0.0.1:25"})
        EXPECT_FALSE(check_outbound(url, false).allowed) << url;
    EXPECT_TRUE(check_outbound("http://[::1]:8080/", true).allowed);
    EXPECT_FALSE(check_outbound("ftp://127.0.0.1/", true).allowed);
    EXPECT_FALSE(check_outbound("file:///etc/passwd", true).allowed);
    EXPECT_FALSE(check_outbound("http://user@127.0.0.1/", true).allowed);
    // A public address literal passes without a lookup of anything.
    OutboundCheck pub = check_outbound("https://93.184.216.34/hook", false);
    EXPECT_TRUE(pub.allowed) << pub.reason;
}

TEST(DelivererConfig, KeysAndTheirChecks) {
    Config c = parse_config(
        "deliver = on\noutbound_allow_private = true\ndeliver_batch = 4\n"
        "deliver_poll_ms = 250\napproval_base_url = https://abx.example.com\n",
        {});
    EXPECT_TRUE(c.deliver);
    EXPECT_TRUE(c.outbound_allow_private);
    EXPECT_EQ(c.deliver_batch, 4);
    EXPECT_EQ(c.deliver_poll_ms, 250);
    EXPECT_EQ(c.approval_base_url, "https://abx.example.com");
    Config d = parse_config("", {});
    EXPECT_FALSE(d.deliver);
    EXPECT_FALSE(d.outbound_allow_private);
    EXPECT_THROW(parse_config("deliver = maybe\n", {}), std::invalid_argument);
    EXPECT_THROW(parse_config("deliver_batch = 0\n", {}), std::invalid_argument);
    // An attempt must end before its claim expires, or a second deliverer sends it meanwhile.
    EXPECT_THROW(parse_config("deliver_timeout_ms = 60000\ndeliver_lease_seconds = 60\n", {}),
                 std::invalid_argument);
}
