// The pure parts of abx-http's WebSocket feed (docs/integrations.md, "WebSocket"): reading a
// client's message, the bearer token of an upgrade request, the bounded send queue, the
// subscriptions of one event loop, and the feed's cursor over the outbox. No sockets, no libpq.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace abx::http::ws {

// Close codes (RFC 6455 section 7.4.1).
inline constexpr std::uint16_t kCloseGoingAway = 1001;      // the gateway stops
inline constexpr std::uint16_t kCloseUnsupported = 1003;    // a binary message
inline constexpr std::uint16_t kClosePolicy = 1008;         // the token expired
inline constexpr std::uint16_t kCloseTooBig = 1009;         // larger than the message limit
inline constexpr std::uint16_t kCloseTryAgainLater = 1013;  // too many clients

// A client's message: {"type": "subscribe" | "unsubscribe", "experimentCode": "..."}. Anything
// else is an error answered on the socket; the connection stays open.
struct ClientMessage {
    enum class Kind { Subscribe, Unsubscribe, Invalid } kind = Kind::Invalid;
    std::string experiment_code;  // when given as a string
    std::string error;            // Invalid: what is wrong, naming the field
    nlohmann::json document;      // the parsed message (the database validates a subscribe)
};
ClientMessage parse_client_message(std::string_view text);

// {"type": "error", "code", "message"[, "experimentCode"]}: code is a SQLSTATE from the database
// or ABX400/ABX409/ABX503 from the gateway.
std::string error_message(std::string_view code, std::string_view message,
                          std::string_view experiment_code = {});

// The token of an upgrade request, from `Authorization: Bearer <JWT>` or, for browsers (which
// cannot set headers on a WebSocket), the subprotocol pair `Sec-WebSocket-Protocol: bearer, <JWT>`;
// the server then selects the subprotocol "bearer". Tokens in the URL are not taken (URLs end
// up in logs).
struct UpgradeCredentials {
    std::string authorization;  // what authenticate() reads: "Bearer <JWT>" or empty
    bool via_subprotocol = false;
};
UpgradeCredentials upgrade_credentials(std::string_view authorization_header,
                                       std::string_view subprotocol_header);

// A connection's queue of messages waiting for the socket. Messages are shared between the
// clients they go to. push() refuses a message when `limit` are waiting: that client is too
// slow and is dropped, so it never holds back the others or grows without bound.
class SendQueue {
  public:
    explicit SendQueue(std::size_t limit) : limit_(limit) {}
    bool push(std::shared_ptr<const std::string> message);
    std::shared_ptr<const std::string> pop();  // null when empty
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }

  private:
    std::size_t limit_;
    std::deque<std::shared_ptr<const std::string>> items_;
};

// Who listens to which experiment on one event loop. A subscription is to an experiment id the
// database resolved for the client, with that experiment's organization (null: global); an event
// reaches a subscriber only when its organization is the subscription's, so even a wrong id
// could not cross organizations.
class Subscriptions {
  public:
    using SessionId = std::uint64_t;
    // False when the session already has it.
    bool add(SessionId session, std::int64_t experiment, std::optional<std::int64_t> organization);
    bool remove(SessionId session, std::int64_t experiment);
    void remove_session(SessionId session);
    std::vector<SessionId> targets(std::int64_t experiment,
                                   std::optional<std::int64_t> organization) const;
    std::size_t count(SessionId session) const;
    bool has_experiment(std::int64_t experiment) const { return by_experiment_.count(experiment); }

  private:
    std::unordered_map<std::int64_t, std::map<SessionId, std::optional<std::int64_t>>>
        by_experiment_;
    std::unordered_map<SessionId, std::set<std::int64_t>> by_session_;
};

// The messages an event loop delivered last, numbered. A subscribe is answered from a snapshot
// taken while the feed goes on: what was delivered between the start of the subscribe's call and
// its answer is replayed to the new subscriber after the answer. Nothing is lost; a message
// committed before the snapshot may come twice (winner and status messages are states, so a
// repeat is harmless).
class RecentMessages {
  public:
    explicit RecentMessages(std::size_t capacity) : capacity_(capacity) {}
    std::uint64_t last() const { return last_; }
    void add(std::int64_t experiment, std::optional<std::int64_t> organization,
             std::shared_ptr<const std::string> text);
    // The messages of this experiment and organization added after `after`, oldest first.
    std::vector<std::shared_ptr<const std::string>> since(
        std::uint64_t after, std::int64_t experiment,
        std::optional<std::int64_t> organization) const;

  private:
    struct Item {
        std::uint64_t number;
        std::int64_t experiment;
        std::optional<std::int64_t> organization;
        std::shared_ptr<const std::string> text;
    };
    std::size_t capacity_;
    std::uint64_t last_ = 0;
    std::deque<Item> items_;
};

// The feed's position in the outbox. Ids are taken before commit, so a row may become visible
// after a higher one: an id skipped over stays pending, and is asked for again, until every
// transaction running when the skip was seen has ended (a later read's xmin has reached that
// read's fence, which is above every transaction id then running): then it cannot appear.
class OutboxCursor {
  public:
    struct Event {
        std::int64_t id;
        std::optional<std::int64_t> organization_id, experiment_id;
        nlohmann::json message;  // null: a type the feed does not push
    };
    struct Batch {
        std::vector<Event> events;
        std::int64_t head = 0;
        std::uint64_t xmin = 0, fence = 0;
    };
    static constexpr std::size_t kMaxPending = 10000;

    bool started() const { return started_; }
    void start(std::int64_t head);  // a new feed begins after the newest row
    std::int64_t last() const { return last_; }
    // Ids to ask for again, as a PostgreSQL array literal ("{3,7}").
    std::string pending_array() const;
    std::size_t pending_count() const { return pending_.size(); }
    // The events not seen before, in id order; updates the position and the pending ids.
    std::vector<Event> take(const Batch& batch);
    // Parses feed_since's document; throws std::runtime_error on a malformed one.
    static Batch parse(const nlohmann::json& document);

  private:
    bool started_ = false;
    std::int64_t last_ = 0;
    std::map<std::int64_t, std::uint64_t> pending_;  // id -> fence of the read that skipped it
};

}  // namespace abx::http::ws
