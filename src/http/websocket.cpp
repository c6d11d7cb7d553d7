#include "websocket.hpp"

#include <map>

#include <boost/beast/websocket.hpp>

namespace abx::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

class WsSession : public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(WsHub& hub, beast::tcp_stream stream, WsClient client,
              ws::Subscriptions::SessionId id)
        : hub_(hub),
          ws_(std::move(stream)),
          client_(std::move(client)),
          id_(id),
          queue_(static_cast<std::size_t>(hub.config_.websocket_queue_messages)),
          expiry_(hub.io_) {}

    asio::awaitable<void> run(beast::http::request<beast::http::string_body> req);
    void send(std::shared_ptr<const std::string> message);
    void close(std::uint16_t code, std::string reason);
    void end();  // after run(): the subscriptions go

  private:
    asio::awaitable<void> write_all();
    asio::awaitable<void> close_now(websocket::close_reason reason);
    asio::awaitable<void> expire();
    asio::awaitable<void> subscribe(const ws::ClientMessage& m);
    void unsubscribe(const std::string& code);
    void reply(std::string text) { send(std::make_shared<const std::string>(std::move(text))); }

    WsHub& hub_;
    websocket::stream<beast::tcp_stream> ws_;
    WsClient client_;
    ws::Subscriptions::SessionId id_;
    ws::SendQueue queue_;
    asio::steady_timer expiry_;
    bool writing_ = false, closing_ = false;
    std::optional<websocket::close_reason> close_after_writes_;
    std::map<std::string, std::int64_t> experiments_;  // subscribed code -> experiment id
};

asio::awaitable<void> WsSession::run(beast::http::request<beast::http::string_body> req) {
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_never();  // the WebSocket's own timeouts apply from here on
    error_code ec;
    if (hub_.config_.websocket_send_buffer_bytes > 0)
        tcp.socket().set_option(
            asio::socket_base::send_buffer_size(hub_.config_.websocket_send_buffer_bytes), ec);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = 10s;
    timeouts.idle_timeout = std::chrono::seconds(hub_.config_.websocket_ping_seconds);
    timeouts.keep_alive_pings = true;  // ping when idle; closed when the next interval is silent
    ws_.set_option(timeouts);
    ws_.read_message_max(hub_.config_.websocket_max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [version = hub_.config_.version,
         bearer = client_.bearer_subprotocol](websocket::response_type& res) {
            res.set(beast::http::field::server, "abx-http/" + version);
            if (bearer) res.set(beast::http::field::sec_websocket_protocol, "bearer");
        }));
    co_await ws_.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ws_.text(true);
    if (client_.expires_at > 0) asio::co_spawn(hub_.io_, expire(), asio::detached);

    beast::flat_buffer buffer;
    for (;;) {
        co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;  // closed, timed out (no pong), too big (closed with 1009), or dropped
        if (!ws_.got_text()) {
            close(ws::kCloseUnsupported, "binary messages are not supported");
        } else if (!closing_) {
            std::string text = beast::buffers_to_string(buffer.data());
            ws::ClientMessage m = ws::parse_client_message(text);
            if (m.kind == ws::ClientMessage::Kind::Subscribe)
                co_await subscribe(m);
            else if (m.kind == ws::ClientMessage::Kind::Unsubscribe)
                unsubscribe(m.experiment_code);
            else
                reply(ws::error_message("ABX400", m.error, m.experiment_code));
        }
        buffer.consume(buffer.size());
    }
    expiry_.cancel();
}

void WsSession::end() {
    for (const auto& [code, experiment] : experiments_) {
        hub_.subscriptions_.remove(id_, experiment);
        hub_.feed_.unsubscribed(experiment);
    }
    experiments_.clear();
}

asio::awaitable<void> WsSession::subscribe(const ws::ClientMessage& m) {
    if (experiments_.size() >= static_cast<std::size_t>(hub_.config_.websocket_max_subscriptions) &&
        !experiments_.count(m.experiment_code)) {
        reply(ws::error_message("ABX400",
                                "at most " +
                                    std::to_string(hub_.config_.websocket_max_subscriptions) +
                                    " subscriptions per connection",
                                m.experiment_code));
        co_return;
    }
    // The same transaction as a request's: the client's role and claims, then the function.
    std::vector<Statement> statements(4);
    statements[0].sql = "BEGIN READ ONLY";
    statements[0].name = "abx_begin_ro";
    statements[1] = {
        kRequestSettingsSql,
        "abx_settings",
        {client_.caller.role, client_.caller.claims, client_.organization,
         "ws-" + std::to_string(id_), "", std::to_string(hub_.config_.request_timeout_ms)}};
    statements[2] = {"SELECT abx.http_ws_subscribe($1::jsonb, $2::jsonb, $3::jsonb)",
                     "abx_fn_abx.http_ws_subscribe",
                     {"{}", client_.query_json,
                      m.document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
    statements[3].sql = "COMMIT";
    statements[3].name = "abx_commit";
    std::uint64_t delivered_before = hub_.recent_.last();
    PgConnection* c = co_await hub_.pool_.acquire();
    if (!c) {
        reply(ws::error_message("ABX503", "no database connection available", m.experiment_code));
        co_return;
    }
    hub_.metrics_.database_call();
    auto self = shared_from_this();  // the session outlives the call even if the client leaves
    PipelineResult r = co_await c->run(
        statements, std::chrono::milliseconds(hub_.config_.request_timeout_ms) + 5s);
    hub_.pool_.release(c);
    if (r.connection_lost) {
        reply(ws::error_message("ABX503", "the database connection was lost", m.experiment_code));
        co_return;
    }
    if (r.error) {
        reply(ws::error_message(r.error->sqlstate, r.error->message, m.experiment_code));
        co_return;
    }
    nlohmann::json found = r.first_column[2].empty()
                               ? nlohmann::json()
                               : nlohmann::json::parse(r.first_column[2][0], nullptr, false);
    if (!found.is_object() || !found["experimentId"].is_number_integer() || closing_) {
        if (!closing_)
            reply(ws::error_message("ABX500", "unexpected answer from abx.http_ws_subscribe",
                                    m.experiment_code));
        co_return;
    }
    std::int64_t experiment = found["experimentId"].get<std::int64_t>();
    std::string code = found.value("experimentCode", m.experiment_code);
    std::optional<std::int64_t> org;
    if (found["organizationId"].is_number_integer())
        org = found["organizationId"].get<std::int64_t>();
    std::optional<std::string> org_key;
    if (found["organization"].is_string()) org_key = found["organization"].get<std::string>();
    if (hub_.subscriptions_.add(id_, experiment, org)) {
        experiments_[code] = experiment;
        hub_.feed_.subscribed(experiment, org, org_key);
    }
    reply(nlohmann::json{{"type", "subscribed"},
                         {"experimentCode", code},
                         {"status", found["status"]},
                         {"winnerVariantKey", found["winnerVariantKey"]}}
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    // What the feed delivered while the answer was on its way may be newer than the answer.
    for (auto& text : hub_.recent_.since(delivered_before, experiment, org)) send(text);
}

void WsSession::unsubscribe(const std::string& code) {
    auto it = experiments_.find(code);
    if (it == experiments_.end()) {
        reply(ws::error_message("ABX404", "not subscribed to this experiment", code));
        return;
    }
    hub_.subscriptions_.remove(id_, it->second);
    hub_.feed_.unsubscribed(it->second);
    experiments_.erase(it);
    reply(nlohmann::json{{"type", "unsubscribed"}, {"experimentCode", code}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void WsSession::send(std::shared_ptr<const std::string> message) {
    if (closing_) return;
    if (!queue_.push(std::move(message))) {
        // Too slow: it is not reading, so no close frame would reach it either. The TCP
        // connection is closed; its pending operations end and so does the session.
        closing_ = true;
        hub_.metrics_.websocket_dropped();
        error_code ec;
        beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws_).socket().close(ec);
        return;
    }
    if (!writing_) {
        writing_ = true;
        asio::co_spawn(hub_.io_, write_all(), asio::detached);
    }
}

asio::awaitable<void> WsSession::write_all() {
    auto self = shared_from_this();
    error_code ec;
    while (auto message = queue_.pop()) {
        co_await ws_.async_write(asio::buffer(*message),
                                 asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        hub_.metrics_.websocket_sent();
    }
    writing_ = false;
    if (!ec && close_after_writes_) {
        websocket::close_reason reason = *close_after_writes_;
        close_after_writes_.reset();
        co_await close_now(reason);
    }
}

asio::awaitable<void> WsSession::close_now(websocket::close_reason reason) {
    auto self = shared_from_this();
    error_code ec;
    co_await ws_.async_close(reason, asio::redirect_error(asio::use_awaitable, ec));
}

void WsSession::close(std::uint16_t code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    websocket::close_reason r(static_cast<websocket::close_code>(code), reason);
    if (writing_)
        close_after_writes_ = r;  // after what is queued, in order
    else
        asio::co_spawn(hub_.io_, close_now(r), asio::detached);
}

asio::awaitable<void> WsSession::expire() {
    auto self = shared_from_this();
    std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    expiry_.expires_after(
        std::chrono::seconds(std::max<std::int64_t>(0, client_.expires_at - now)));
    error_code ec;
    co_await expiry_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) close(ws::kClosePolicy, "token expired");
}

WsHub::WsHub(asio::io_context& io, const Config& config, PgPool& pool, Metrics& metrics, Feed& feed)
    : io_(io), config_(config), pool_(pool), metrics_(metrics), feed_(feed) {}

WsHub::~WsHub() = default;

asio::awaitable<void> WsHub::serve(beast::tcp_stream stream,
                                   beast::http::request<beast::http::string_body> req,
                                   WsClient client) {
    ws::Subscriptions::SessionId id = next_id_++;
    auto session = std::make_shared<WsSession>(*this, std::move(stream), std::move(client), id);
    sessions_[id] = session;
    metrics_.websocket_opened();
    co_await session->run(std::move(req));
    session->end();
    subscriptions_.remove_session(id);
    sessions_.erase(id);
    metrics_.websocket_closed();
}

void WsHub::deliver(const FeedMessage& message) {
    recent_.add(message.experiment_id, message.organization_id, message.text);
    for (ws::Subscriptions::SessionId id :
         subscriptions_.targets(message.experiment_id, message.organization_id))
        if (auto it = sessions_.find(id); it != sessions_.end())
            if (auto s = it->second.lock()) s->send(message.text);
}

void WsHub::close_all() {
    for (auto& [id, weak] : sessions_)
        if (auto s = weak.lock()) s->close(ws::kCloseGoingAway, "abx-http is stopping");
}

}  // namespace abx::http
