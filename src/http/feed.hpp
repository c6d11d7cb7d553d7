// The WebSocket feed's one database connection (not one per client): it LISTENs on abx_outbox
// and abx_results, reads the new outbox rows with abx.feed_since and the results of experiments
// someone subscribed to with abx.http_ws_results, and hands each message to every event loop.
// After a reconnect it LISTENs again, then catches up from the last id it saw, so a change made
// while it was away is still delivered. It runs on a thread and event loop of its own.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "config.hpp"
#include "metrics.hpp"
#include "pg_pool.hpp"
#include "websocket_protocol.hpp"

namespace abx::http {

// One message for the subscribers of an experiment of an organization (null: a global one).
struct FeedMessage {
    std::int64_t experiment_id;
    std::optional<std::int64_t> organization_id;
    std::shared_ptr<const std::string> text;
};

class Feed {
  public:
    // `deliver` runs on the feed's thread: it must hand the message over (asio::post).
    using Deliver = std::function<void(const FeedMessage&)>;
    Feed(const Config& config, std::shared_ptr<SharedPgState> shared, Metrics& metrics,
         Deliver deliver);
    ~Feed();
    void start();
    void stop();

    // Subscriptions count per experiment, kept by the event loops (any thread): results are read
    // only for experiments someone listens to, as a reader of the experiment's organization.
    void subscribed(std::int64_t experiment, std::optional<std::int64_t> organization_id,
                    std::optional<std::string> organization_key);
    void unsubscribed(std::int64_t experiment);

  private:
    struct Interest {
        int count = 0;
        std::optional<std::int64_t> organization_id;
        std::optional<std::string> organization_key;
    };
    asio::awaitable<void> run();
    asio::awaitable<bool> connect();
    asio::awaitable<bool> catch_up();
    asio::awaitable<bool> send_results(const std::set<std::int64_t>& experiments);

    const Config& config_;
    Metrics& metrics_;
    Deliver deliver_;
    asio::io_context io_{1};
    PgConnection connection_;
    ws::OutboxCursor cursor_;
    std::thread thread_;
    std::mutex mutex_;
    std::map<std::int64_t, Interest> interest_;
};

}  // namespace abx::http
