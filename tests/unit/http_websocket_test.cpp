// The pure parts of abx-http's WebSocket feed: client messages, upgrade credentials, the bounded
// send queue, the subscriptions (organization isolation) and the outbox cursor (ids that commit
// out of order are neither lost nor delivered twice).
#include <gtest/gtest.h>

#include "config.hpp"
#include "routes.hpp"
#include "websocket_protocol.hpp"

using namespace abx::http;
using namespace abx::http::ws;

TEST(WebSocketMessages, SubscribeAndUnsubscribe) {
    ClientMessage m = parse_client_message(R"({"type": "subscribe", "experimentCode": "chk"})");
    EXPECT_EQ(m.kind, ClientMessage::Kind::Subscribe);
    EXPECT_EQ(m.experiment_code, "chk");
    EXPECT_EQ(m.document["type"], "subscribe");

    m = parse_client_message(R"({"type": "unsubscribe", "experimentCode": "chk"})");
    EXPECT_EQ(m.kind, ClientMessage::Kind::Unsubscribe);
    EXPECT_EQ(m.experiment_code, "chk");
}

TEST(WebSocketMessages, BadMessagesAreErrorsNamingWhatIsWrong) {
    ClientMessage m = parse_client_message("{not json");
    EXPECT_EQ(m.kind, ClientMessage::Kind::Invalid);
    EXPECT_EQ(m.error, "invalid message: not JSON");
    m = parse_client_message(R"(["subscribe"])");
    EXPECT_EQ(m.error, "invalid message: must be a JSON object");
    m = parse_client_message(R"({"type": "publish", "experimentCode": "x"})");
    EXPECT_EQ(m.kind, ClientMessage::Kind::Invalid);
    EXPECT_NE(m.error.find("message.type"), std::string::npos);
    EXPECT_EQ(m.experiment_code, "x");  // so the error can name the experiment
    m = parse_client_message(R"({"type": 1})");
    EXPECT_NE(m.error.find("message.type"), std::string::npos);
    m = parse_client_message(R"({"type": "unsubscribe"})");
    EXPECT_NE(m.error.find("message.experimentCode"), std::string::npos);
    // A subscribe is the database's to check (fields, lengths, the experiment).
    m = parse_client_message(R"({"type": "subscribe", "experimentCode": 7})");
    EXPECT_EQ(m.kind, ClientMessage::Kind::Subscribe);
}

TEST(WebSocketMessages, ErrorMessageShape) {
    nlohmann::json e = nlohmann::json::parse(error_message("P0002", "no \"x\"", "x"));
    EXPECT_EQ(e, (nlohmann::json{{"type", "error"},
                                 {"code", "P0002"},
                                 {"message", "no \"x\""},
                                 {"experimentCode", "x"}}));
    e = nlohmann::json::parse(error_message("ABX400", "bad"));
    EXPECT_FALSE(e.contains("experimentCode"));
    // Bytes that are not UTF-8 are replaced, not thrown on.
    e = nlohmann::json::parse(error_message("ABX400", "bad \xff"));
    EXPECT_EQ(e["message"], "bad \xEF\xBF\xBD");
}

TEST(WebSocketUpgrade, TokenFromHeaderOrSubprotocolNeverBoth) {
    UpgradeCredentials c = upgrade_credentials("Bearer abc.def.ghi", "bearer, other");
    EXPECT_EQ(c.authorization, "Bearer abc.def.ghi");
    EXPECT_FALSE(c.via_subprotocol);
    c = upgrade_credentials("", "bearer, abc.def.ghi");
    EXPECT_EQ(c.authorization, "Bearer abc.def.ghi");
    EXPECT_TRUE(c.via_subprotocol);
    c = upgrade_credentials("", "chat, Bearer ,  abc.def.ghi ");
    EXPECT_EQ(c.authorization, "Bearer abc.def.ghi");
    c = upgrade_credentials("", "abc.def.ghi");  // a token without the "bearer" marker
    EXPECT_EQ(c.authorization, "");
    c = upgrade_credentials("", "bearer");
    EXPECT_EQ(c.authorization, "");
    c = upgrade_credentials("", "");
    EXPECT_EQ(c.authorization, "");
}

TEST(WebSocketUpgrade, RouteIsLiteralAndNotAnExperimentId) {
    Match m = match_route(Method::GET, "/api/experiments/ws");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->builtin, Builtin::WebSocket);
    EXPECT_EQ(m.route->function, "abx.http_ws_subscribe");
    EXPECT_EQ(m.route->auth, Auth::Jwt);
}

TEST(WebSocketUpgrade, ConfigurationKeys) {
    Config c = parse_config(
        "websocket_queue_messages = 8\nwebsocket_ping_seconds = 2\nwebsocket_max_clients = 5\n",
        {{"ABX_HTTP_WEBSOCKET_SEND_BUFFER_BYTES", "4096"}});
    EXPECT_EQ(c.websocket_queue_messages, 8);
    EXPECT_EQ(c.websocket_ping_seconds, 2);
    EXPECT_EQ(c.websocket_max_clients, 5);
    EXPECT_EQ(c.websocket_send_buffer_bytes, 4096);
    EXPECT_EQ(Config{}.websocket_queue_messages, 256);
    EXPECT_THROW(parse_config("websocket_queue_messages = 0\n", {}), std::invalid_argument);
    EXPECT_THROW(parse_config("websocket_ping_seconds = -1\n", {}), std::invalid_argument);
}

TEST(WebSocketQueue, RefusesPastItsBoundAndKeepsOrder) {
    SendQueue q(3);
    auto msg = [](const char* s) { return std::make_shared<const std::string>(s); };
    EXPECT_TRUE(q.push(msg("1")));
    EXPECT_TRUE(q.push(msg("2")));
    EXPECT_TRUE(q.push(msg("3")));
    EXPECT_FALSE(q.push(msg("4")));  // the slow client is dropped by its session
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(*q.pop(), "1");
    EXPECT_TRUE(q.push(msg("5")));
    EXPECT_EQ(*q.pop(), "2");
    EXPECT_EQ(*q.pop(), "3");
    EXPECT_EQ(*q.pop(), "5");
    EXPECT_EQ(q.pop(), nullptr);
    EXPECT_TRUE(q.empty());
}

TEST(WebSocketSubscriptions, EventsReachOnlyTheirOrganization) {
    Subscriptions s;
    EXPECT_TRUE(s.add(1, 10, 100));  // session 1: experiment 10 of organization 100
    EXPECT_FALSE(s.add(1, 10, 100));
    EXPECT_TRUE(s.add(2, 10, 100));
    EXPECT_TRUE(s.add(3, 20, std::nullopt));  // a global experiment
    EXPECT_TRUE(s.add(4, 20, std::nullopt));
    EXPECT_EQ(s.targets(10, 100), (std::vector<Subscriptions::SessionId>{1, 2}));
    // An event of experiment 10 claiming another organization reaches nobody.
    EXPECT_TRUE(s.targets(10, 200).empty());
    EXPECT_TRUE(s.targets(10, std::nullopt).empty());
    EXPECT_EQ(s.targets(20, std::nullopt), (std::vector<Subscriptions::SessionId>{3, 4}));
    EXPECT_TRUE(s.targets(20, 100).empty());
    EXPECT_TRUE(s.targets(30, 100).empty());

    EXPECT_TRUE(s.remove(1, 10));
    EXPECT_FALSE(s.remove(1, 10));
    EXPECT_EQ(s.targets(10, 100), (std::vector<Subscriptions::SessionId>{2}));
    s.add(2, 20, std::nullopt);
    EXPECT_EQ(s.count(2), 2u);
    s.remove_session(2);
    EXPECT_EQ(s.count(2), 0u);
    EXPECT_FALSE(s.has_experiment(10));
    EXPECT_EQ(s.targets(20, std::nullopt), (std::vector<Subscriptions::SessionId>{3, 4}));
}

namespace {
OutboxCursor::Event event(std::int64_t id) {
    return {id, 1, 2, nlohmann::json{{"type", "status"}, {"n", id}}};
}
std::vector<std::int64_t> ids(const std::vector<OutboxCursor::Event>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
}
}  // namespace

TEST(WebSocketOutboxCursor, StartsAtTheHeadAndDeliversEachRowOnce) {
    OutboxCursor c;
    EXPECT_FALSE(c.started());
    c.start(5);
    EXPECT_EQ(c.last(), 5);
    OutboxCursor::Batch b{{event(6), event(7)}, 7, 100, 101};
    EXPECT_EQ(ids(c.take(b)), (std::vector<std::int64_t>{6, 7}));
    EXPECT_EQ(c.last(), 7);
    EXPECT_TRUE(c.take(b).empty());  // the same rows again (a poll): nothing new
    EXPECT_EQ(c.pending_array(), "{}");
}

TEST(WebSocketOutboxCursor, AnIdCommittedAfterAHigherOneIsStillDelivered) {
    OutboxCursor c;
    c.start(5);
    // Row 6's transaction is still running (ids 100..109 may be) when 7 is read.
    EXPECT_EQ(ids(c.take({{event(7)}, 7, 100, 110})), (std::vector<std::int64_t>{7}));
    EXPECT_EQ(c.pending_array(), "{6}");
    // A later snapshot where that transaction still runs: 6 stays pending.
    EXPECT_TRUE(c.take({{}, 7, 105, 112}).empty());
    EXPECT_EQ(c.pending_count(), 1u);
    // It commits: asked for as pending, it is delivered once.
    EXPECT_EQ(ids(c.take({{event(6), event(8)}, 8, 111, 113})), (std::vector<std::int64_t>{6, 8}));
    EXPECT_EQ(c.pending_array(), "{}");
    EXPECT_TRUE(c.take({{event(6)}, 8, 111, 113}).empty());
}

TEST(WebSocketOutboxCursor, ASkippedIdIsGivenUpOnceEveryTransactionOfItsSnapshotEnded) {
    OutboxCursor c;
    c.start(0);
    c.take({{event(3)}, 3, 50, 60});  // 1 and 2 skipped under fence 60
    EXPECT_EQ(c.pending_array(), "{1,2}");
    c.take({{}, 3, 59, 61});  // xid 59 may still hold one of them
    EXPECT_EQ(c.pending_array(), "{1,2}");
    c.take({{event(2)}, 3, 60, 61});     // 2 committed; every transaction below 60 has ended
    EXPECT_EQ(c.pending_array(), "{}");  // 1 was rolled back (or a sequence gap): given up
}

TEST(WebSocketOutboxCursor, PendingIdsAreBounded) {
    OutboxCursor c;
    c.start(0);
    c.take({{event(1'000'000)}, 1'000'000, 1, 2});
    EXPECT_EQ(c.pending_count(), OutboxCursor::kMaxPending);
    EXPECT_EQ(c.last(), 1'000'000);
}

TEST(WebSocketOutboxCursor, ParsesFeedSince) {
    nlohmann::json d = {
        {"events",
         {{{"id", 4}, {"organizationId", nullptr}, {"experimentId", 9}, {"message", nullptr}},
          {{"id", 5},
           {"organizationId", 2},
           {"experimentId", 9},
           {"message", {{"type", "winner"}, {"experimentCode", "x"}, {"winnerVariantKey", "b"}}}}}},
        {"head", 5},
        {"xmin", 700},
        {"fence", 702}};
    OutboxCursor::Batch b = OutboxCursor::parse(d);
    ASSERT_EQ(b.events.size(), 2u);
    EXPECT_EQ(b.events[0].organization_id, std::nullopt);
    EXPECT_TRUE(b.events[0].message.is_null());
    EXPECT_EQ(b.events[1].organization_id, 2);
    EXPECT_EQ(b.events[1].experiment_id, 9);
    EXPECT_EQ(b.events[1].message["winnerVariantKey"], "b");
    EXPECT_EQ(b.head, 5);
    EXPECT_EQ(b.xmin, 700u);
    EXPECT_EQ(b.fence, 702u);
    EXPECT_THROW(OutboxCursor::parse(nlohmann::json::object()), std::runtime_error);
    d["events"][0]["id"] = "4";
    EXPECT_THROW(OutboxCursor::parse(d), std::runtime_error);
}

TEST(WebSocketRecentMessages, ReplaysWhatCameAfterAPointForOneExperimentAndOrganization) {
    RecentMessages r(3);
    auto msg = [](const char* s) { return std::make_shared<const std::string>(s); };
    EXPECT_EQ(r.last(), 0u);
    r.add(10, 1, msg("a"));
    std::uint64_t before = r.last();  // a subscribe's call starts here
    r.add(10, 1, msg("b"));
    r.add(10, 2, msg("other organization"));
    r.add(11, 1, msg("other experiment"));
    auto got = r.since(before, 10, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(*got[0], "b");
    EXPECT_TRUE(r.since(r.last(), 10, 1).empty());
    // Bounded: the oldest go first.
    r.add(10, 1, msg("c"));
    got = r.since(0, 10, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(*got[0], "c");
}
