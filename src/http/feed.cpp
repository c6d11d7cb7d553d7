#include "feed.hpp"

#include <iostream>

namespace abx::http {

using namespace std::chrono_literals;
using error_code = boost::system::error_code;

namespace {
constexpr int kMaxRows = 1000;
// Without notifications the feed still looks every so often: pending ids are settled, and a
// notification lost in a broken connection costs at most this delay.
constexpr auto kPollInterval = 5s;
constexpr auto kStatementTimeout = "10000";

std::vector<Statement> transaction(const std::string& role, const std::string& claims,
                                   Statement call) {
    std::vector<Statement> s(4);
    s[0].sql = "BEGIN READ ONLY";
    s[0].name = "abx_begin_ro";
    s[1] = {kRequestSettingsSql,
            "abx_settings",
            {role, claims, "", "abx-http-feed", "", kStatementTimeout}};
    s[2] = std::move(call);
    s[3].sql = "COMMIT";
    s[3].name = "abx_commit";
    return s;
}
}  // namespace

Feed::Feed(const Config& config, std::shared_ptr<SharedPgState> shared, Metrics& metrics,
           Deliver deliver)
    : config_(config),
      metrics_(metrics),
      deliver_(std::move(deliver)),
      connection_(io_, config.db_uri, std::move(shared)) {}

Feed::~Feed() {
    stop();
}

void Feed::start() {
    asio::co_spawn(io_, run(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

void Feed::stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

void Feed::subscribed(std::int64_t experiment, std::optional<std::int64_t> organization_id,
                      std::optional<std::string> organization_key) {
    std::lock_guard lock(mutex_);
    Interest& i = interest_[experiment];
    ++i.count;
    i.organization_id = organization_id;
    i.organization_key = std::move(organization_key);
}

void Feed::unsubscribed(std::int64_t experiment) {
    std::lock_guard lock(mutex_);
    auto it = interest_.find(experiment);
    if (it != interest_.end() && --it->second.count <= 0) interest_.erase(it);
}

asio::awaitable<bool> Feed::connect() {
    if (!co_await connection_.connect()) co_return false;
    // LISTEN first, then read: a row committed in between is both notified and read, never lost.
    std::vector<Statement> listen(2);
    listen[0].sql = "LISTEN abx_outbox";
    listen[1].sql = "LISTEN abx_results";
    PipelineResult r = co_await connection_.run(listen, 10s);
    if (r.connection_lost || r.error) {
        if (r.error) std::cerr << "abx-http feed: LISTEN failed: " << r.error->message << "\n";
        connection_.close();
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> Feed::catch_up() {
    for (;;) {
        Statement call;
        if (cursor_.started()) {
            call = {"SELECT abx.feed_since($1::bigint, $2::integer, $3::bigint[])",
                    "abx_feed_since",
                    {std::to_string(cursor_.last()), std::to_string(kMaxRows),
                     cursor_.pending_array()}};
        } else {
            call.sql = "SELECT abx.feed_since()";  // where a new feed starts: the newest row
        }
        PipelineResult r =
            co_await connection_.run(transaction("abx_gateway", "", std::move(call)), 15s);
        if (r.connection_lost) co_return false;
        if (r.error) {
            std::cerr << "abx-http feed: abx.feed_since failed: " << r.error->message << "\n";
            co_return false;
        }
        ws::OutboxCursor::Batch batch;
        try {
            if (r.first_column[2].empty()) throw std::runtime_error("no result");
            batch = ws::OutboxCursor::parse(nlohmann::json::parse(r.first_column[2][0]));
        } catch (const std::exception& e) {
            std::cerr << "abx-http feed: unreadable abx.feed_since result: " << e.what() << "\n";
            co_return false;
        }
        if (!cursor_.started()) {
            cursor_.start(batch.head);
            co_return true;
        }
        std::size_t rows = batch.events.size();
        for (const ws::OutboxCursor::Event& e : cursor_.take(batch)) {
            if (e.message.is_null() || !e.experiment_id) continue;
            deliver_({*e.experiment_id, e.organization_id,
                      std::make_shared<const std::string>(e.message.dump(
                          -1, ' ', false, nlohmann::json::error_handler_t::replace))});
        }
        if (rows < static_cast<std::size_t>(kMaxRows)) co_return true;
    }
}

asio::awaitable<bool> Feed::send_results(const std::set<std::int64_t>& experiments) {
    for (std::int64_t id : experiments) {
        std::optional<Interest> interest;
        {
            std::lock_guard lock(mutex_);
            if (auto it = interest_.find(id); it != interest_.end()) interest = it->second;
        }
        if (!interest) continue;  // nobody listens: nothing to read
        // Read as a reader of the experiment's organization (no organization: a global one), the
        // rights and the organization checked by the database like any request's.
        nlohmann::json claims = {{"sub", "abx-http websocket feed"}};
        if (interest->organization_key) claims["org"] = *interest->organization_key;
        Statement call{"SELECT abx.http_ws_results($1::jsonb, $2::jsonb, $3::jsonb)",
                       "abx_ws_results",
                       {nlohmann::json{{"id", std::to_string(id)}}.dump(), "{}", "null"}};
        PipelineResult r = co_await connection_.run(
            transaction(config_.websocket_results_role, claims.dump(), std::move(call)), 15s);
        if (r.connection_lost) co_return false;
        if (r.error) {
            // An experiment deleted meanwhile, or a results role without the right: the others
            // are still sent.
            std::cerr << "abx-http feed: results of experiment " << id << ": " << r.error->message
                      << "\n";
            continue;
        }
        if (r.first_column[2].empty()) continue;
        deliver_({id, interest->organization_id,
                  std::make_shared<const std::string>(std::move(r.first_column[2][0]))});
    }
    co_return true;
}

asio::awaitable<void> Feed::run() {
    auto backoff = 250ms;
    for (;;) {
        if (!connection_.healthy()) {
            metrics_.feed_connected(false);
            if (!co_await connect() || !co_await catch_up()) {
                connection_.close();
                asio::steady_timer pause(io_, backoff);
                error_code ec;
                co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
                continue;
            }
            backoff = 250ms;
            metrics_.feed_connected(true);
        }
        auto notes = connection_.notifications();
        if (!notes) continue;  // lost: reconnect and catch up
        if (notes->empty()) {
            co_await connection_.wait_input(kPollInterval);
            notes = connection_.notifications();
            if (!notes) continue;
        }
        // Everything that arrived is handled in one go: one read for a burst of rows.
        std::set<std::int64_t> results;
        for (const auto& [channel, payload] : *notes) {
            if (channel != "abx_results") continue;
            nlohmann::json p = nlohmann::json::parse(payload, nullptr, false);
            if (p.is_object() && p.contains("experiment") && p["experiment"].is_number_integer())
                results.insert(p["experiment"].get<std::int64_t>());
        }
        // The outbox first (the winner events are what must be prompt), then the results.
        if (!co_await catch_up() || !co_await send_results(results)) connection_.close();
    }
}

}  // namespace abx::http
