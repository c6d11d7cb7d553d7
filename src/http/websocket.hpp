// WebSocket sessions of one gateway event loop (GET /api/experiments/ws): the upgrade, the
// client's subscribe and unsubscribe messages (a subscribe is checked by the database with the
// client's role and claims, as a request would be), and the delivery of the feed's messages
// through a bounded send queue per connection. Everything here runs on its loop's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "auth.hpp"
#include "config.hpp"
#include "feed.hpp"
#include "metrics.hpp"
#include "pg_pool.hpp"
#include "websocket_protocol.hpp"

namespace abx::http {

class WsSession;

// Who the upgraded connection is, decided before the upgrade.
struct WsClient {
    Caller caller;
    std::string organization;     // x-org-id or ?orgId= of the upgrade request
    std::string query_json;       // the upgrade's query, as the subscribe function's query
    std::int64_t expires_at = 0;  // exp + leeway (unix seconds); 0: no exp claim
    bool bearer_subprotocol = false;
};

class WsHub {
  public:
    WsHub(asio::io_context& io, const Config& config, PgPool& pool, Metrics& metrics, Feed& feed);
    ~WsHub();
    // Serves an upgrade request on `stream` until the connection ends.
    asio::awaitable<void> serve(boost::beast::tcp_stream stream,
                                boost::beast::http::request<boost::beast::http::string_body> req,
                                WsClient client);
    // A feed message, on this loop's thread.
    void deliver(const FeedMessage& message);
    // Closes every connection with 1001 (the gateway stops).
    void close_all();

  private:
    friend class WsSession;
    asio::io_context& io_;
    const Config& config_;
    PgPool& pool_;
    Metrics& metrics_;
    Feed& feed_;
    ws::Subscriptions subscriptions_;
    ws::RecentMessages recent_{4096};  // replayed to subscribers whose answer was in flight
    std::unordered_map<ws::Subscriptions::SessionId, std::weak_ptr<WsSession>> sessions_;
    ws::Subscriptions::SessionId next_id_ = 1;
};

}  // namespace abx::http
