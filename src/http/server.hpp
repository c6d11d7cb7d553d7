// abx-http's server: Boost.Beast HTTP/1.1 with keep-alive on Asio coroutines. `threads` event
// loops, each with its own acceptor (SO_REUSEPORT) and its own share of the connection pool, so
// no request state crosses threads; only the rate limiter and the metrics are shared.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "config.hpp"
#include "jwt.hpp"
#include "metrics.hpp"
#include "pg_pool.hpp"
#include "rate_limit.hpp"
#include "routes.hpp"
#include "static_files.hpp"

namespace abx::http {

class Feed;

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;

    Response() = default;
    Response(int s, std::string b) : status(s), body(std::move(b)) {}
};

class Gateway {
  public:
    Gateway(Config config, jwt::KeySet keys);
    ~Gateway();
    // Binds, serves until SIGTERM or SIGINT, then finishes the requests in flight. Returns the
    // exit status.
    int run();
    // The port actually bound (listen_port 0 picks a free one), after run() has started.
    int port() const { return bound_port_.load(); }

  private:
    struct Worker;
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    asio::awaitable<void> accept(Worker& w);
    asio::awaitable<void> session(Worker& w, asio::ip::tcp::socket socket);
    // GET /api/experiments/ws with an upgrade: authenticated like a request (a refusal is an
    // HTTP 401 before the upgrade), then the connection is the event loop's WebSocket hub's.
    asio::awaitable<void> upgrade(Worker& w, boost::beast::tcp_stream& stream, Request req,
                                  unsigned version, const std::string& peer);
    // Writes one response (for a HEAD: the headers and the body's length, without the body).
    asio::awaitable<boost::system::error_code> write_response(boost::beast::tcp_stream& stream,
                                                              Response res, unsigned version,
                                                              bool keep_alive, bool head) const;
    asio::awaitable<Response> handle(Worker& w, Request& req, const Match& m,
                                     const std::string& client);
    Response error(int status, std::string_view code, std::string_view message,
                   bool envelope = false) const;
    // GET or HEAD of /ui and /ui/...: the ops page's files, from memory.
    Response serve_ui(std::string_view method, std::string_view path,
                      std::string_view if_none_match) const;
    void shutdown();

    Config config_;
    jwt::KeySet keys_;
    std::shared_ptr<SharedPgState> pg_state_;
    RateLimiter limiter_;
    Metrics metrics_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::unique_ptr<Feed> feed_;
    StaticFiles ui_;  // the WebSocket feed's database connection
    std::atomic<int> in_flight_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<int> bound_port_{0};
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace abx::http
