#include "server.hpp"

#include <csignal>
#include <iostream>

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <openssl/rand.h>

#include "auth.hpp"
#include "encoding.hpp"
#include "errors.hpp"
#include "feed.hpp"
#include "openapi.hpp"
#include "routes.hpp"
#include "websocket.hpp"

namespace abx::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

struct Gateway::Worker {
    asio::io_context io{1};
    TokenCache tokens;
    std::unique_ptr<PgPool> pool;
    std::optional<tcp::acceptor> acceptor;
    std::unique_ptr<WsHub> hub;  // this loop's WebSocket connections
    std::thread thread;
};

namespace {
// Validates a JSON body without building it (the database parses it once, as jsonb): memory
// stays near the body's size, and the error names the byte where parsing stopped.
struct JsonChecker : nlohmann::json::json_sax_t {
    std::string error;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception& e) override {
        error = "malformed JSON body at byte " + std::to_string(position) + ": " + e.what();
        return false;
    }
};

std::string request_id(std::string_view given) {
    bool ok = !given.empty() && given.size() <= 64;
    for (char c : given)
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (ok) return std::string(given);
    unsigned char bytes[12];
    RAND_bytes(bytes, sizeof bytes);
    return to_hex(bytes, sizeof bytes);
}

// A parser's message may quote the offending bytes, which need not be UTF-8: replace them
// rather than let dump() throw.
std::string json_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

bool is_json_content_type(std::string_view ct) {
    std::string_view base = ct.substr(0, ct.find(';'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    std::string lower(base);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json" || (lower.size() > 5 && lower.ends_with("+json"));
}
}  // namespace

Gateway::Gateway(Config config, jwt::KeySet keys)
    : config_(std::move(config)),
      keys_(std::move(keys)),
      pg_state_(std::make_shared<SharedPgState>()) {
    std::vector<std::string> warnings;
    ui_ = StaticFiles::load(config_.ui_dir, {{"/ui/vendor/chart.min.js", config_.ui_chart_js}},
                            warnings);
    for (auto& w : warnings) std::cerr << "abx-http: " << w << "\n";
}

Response Gateway::serve_ui(std::string_view method, std::string_view path,
                           std::string_view if_none_match) const {
    if (method != "GET" && method != "HEAD") {
        Response r = error(405, "ABX405", "the ops page's files are read with GET or HEAD");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    if (path == "/ui") {
        Response r{301, ""};
        r.headers.emplace_back("Location", "/ui/");
        return r;
    }
    const StaticFile* f = ui_.find(path);
    if (!f)
        return error(404, "ABX404",
                     ui_.size() == 0 ? "the ops page is not installed (see ui_dir)"
                                     : "no file " + std::string(path) + " in the ops page");
    Response r{200, ""};
    r.content_type = f->content_type;
    r.headers = ui_security_headers();
    r.headers.emplace_back("ETag", f->etag);
    if (if_none_match == f->etag)
        r.status = 304;
    else
        r.body = f->body;
    return r;
}

Gateway::~Gateway() = default;

Response Gateway::error(int status, std::string_view code, std::string_view message,
                        bool envelope) const {
    nlohmann::json body = error_body(code, message);
    if (envelope) body["success"] = false;
    return Response(status, json_text(body));
}

asio::awaitable<Response> Gateway::handle(Worker& w, Request& req, const Match& m,
                                          const std::string& client) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query_text =
        path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
    if (!m.error.empty()) co_return error(400, "ABX400", m.error);
    if (!m.route) {
        if (m.path_known) {
            Response r = error(405, "ABX405", "method not allowed on this path");
            r.headers.emplace_back("Allow", m.allow);
            co_return r;
        }
        co_return error(404, "ABX404", "no route for " + std::string(path));
    }
    const Route& route = *m.route;

    auto limit = config_.rate_limits.find(std::string(route.group));
    if (limit != config_.rate_limits.end() && limit->second > 0) {
        double now =
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        auto d = limiter_.take(std::string(route.group) + "|" + client, limit->second, now);
        if (!d.allowed) {
            Response r = error(
                429, "ABX429",
                "rate limit of " + std::to_string(limit->second) + " requests per minute exceeded",
                route.envelope);
            r.headers.emplace_back("Retry-After", std::to_string(d.retry_after_seconds));
            co_return r;
        }
    }

    switch (route.builtin) {
        case Builtin::Health: {
            double up =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
            co_return Response{200,
                               nlohmann::json{{"status", "ok"}, {"uptime_seconds", up}}.dump()};
        }
        case Builtin::Version:
            co_return Response{
                200, nlohmann::json{{"name", "abx-http"}, {"version", config_.version}}.dump()};
        case Builtin::OpenApi:
            co_return Response{200, openapi_document(config_.version).dump(2)};
        case Builtin::WebSocket: {
            Response r = error(426, "ABX426", "this route is a WebSocket: send an upgrade request");
            r.headers.emplace_back("Upgrade", "websocket");
            co_return r;
        }
        default:
            break;
    }

    std::shared_ptr<const std::set<std::string>> roles;
    {
        std::lock_guard lock(pg_state_->mutex);
        roles = pg_state_->allowed_roles;
    }
    auto authorization = req[bhttp::field::authorization];
    AuthContext ctx{config_, keys_, roles,
                    std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count(),
                    &w.tokens};
    AuthOutcome auth =
        authenticate(route, std::string_view(authorization.data(), authorization.size()), ctx);
    if (auth.status != 0) {
        Response r = error(auth.status, auth.status == 401 ? "ABX401" : "ABX503", auth.message,
                           route.envelope);
        if (auth.status == 401)
            r.headers.emplace_back("WWW-Authenticate", "Bearer");
        else
            r.headers.emplace_back("Retry-After", std::to_string(config_.retry_after_seconds));
        co_return r;
    }

    // The request as the function's three arguments: path, query, body.
    nlohmann::json path_json = nlohmann::json::object(), query_json = nlohmann::json::object();
    for (auto& [k, v] : m.params) path_json[k] = v;
    auto query = parse_query(query_text);
    if (!query)
        co_return error(400, "ABX400",
                        "the query string has a bad percent escape, a NUL byte or invalid UTF-8",
                        route.envelope);
    for (auto& [k, v] : *query) query_json[k] = v;
    std::string body = "null";
    if (!req.body().empty()) {
        auto ct = req[bhttp::field::content_type];
        if (!is_json_content_type(std::string_view(ct.data(), ct.size())))
            co_return error(415, "ABX415", "the body must be JSON (Content-Type: application/json)",
                            route.envelope);
        JsonChecker checker;
        if (!nlohmann::json::sax_parse(req.body(), &checker))
            co_return error(400, "ABX400", checker.error, route.envelope);
        body = std::move(req.body());  // one copy of a large body: this one, then libpq's
    }
    std::string org;
    if (auto h = req["x-org-id"]; !h.empty())
        org = std::string(h.data(), h.size());
    else if (auto it = query_json.find("orgId"); it != query_json.end())
        org = it->get<std::string>();
    if (!valid_utf8(org) || org.find('\0') != std::string::npos)
        co_return error(400, "ABX400", "invalid x-org-id", route.envelope);
    auto rid_header = req["x-request-id"];
    std::string rid = request_id(std::string_view(rid_header.data(), rid_header.size()));

    const bool readiness = route.builtin == Builtin::Readiness;
    PgConnection* c = co_await w.pool->acquire();
    if (!c) {
        Response r = error(503, "ABX503", "no database connection available", route.envelope);
        if (readiness) {
            // The db probe failed: the gateway answers for the database (seed 003: not_ready).
            metrics_.readiness("db", "fail");
            r.body =
                nlohmann::json{
                    {"status", "not_ready"},
                    {"checks",
                     {{"db", {{"status", "fail"}, {"message", "no database connection"}}}}}}
                    .dump();
        }
        r.headers.emplace_back("Retry-After", std::to_string(config_.retry_after_seconds));
        r.headers.emplace_back("X-Request-Id", rid);
        co_return r;
    }
    metrics_.database_call();
    // Built in place, not from a braced list (whose elements are copied): the body is moved
    // along, never copied.
    std::vector<Statement> statements(4);
    statements[0].sql = route.read_only ? "BEGIN READ ONLY" : "BEGIN";
    statements[0].name = route.read_only ? "abx_begin_ro" : "abx_begin";
    statements[1] = {kRequestSettingsSql,
                     "abx_settings",
                     {auth.caller.role, auth.caller.claims, org, rid, auth.caller.internal_token,
                      std::to_string(config_.request_timeout_ms)}};
    statements[2].sql =
        "SELECT " + std::string(route.function) + "($1::jsonb, $2::jsonb, $3::jsonb)";
    statements[2].name = "abx_fn_" + std::string(route.function);
    statements[2].params.push_back(json_text(path_json));
    statements[2].params.push_back(json_text(query_json));
    statements[2].params.push_back(std::move(body));
    statements[3].sql = "COMMIT";
    statements[3].name = "abx_commit";
    PipelineResult result =
        co_await c->run(statements, std::chrono::milliseconds(config_.request_timeout_ms) + 5s);
    w.pool->release(c);

    Response r;
    if (result.connection_lost) {
        r = error(503, "ABX503", "the database connection was lost; the outcome is unknown",
                  route.envelope);
        r.headers.emplace_back("Retry-After", std::to_string(config_.retry_after_seconds));
    } else if (result.error) {
        const PgError& e = *result.error;
        ErrorMapping mapping = map_sqlstate(e.sqlstate, auth.caller.authenticated);
        nlohmann::json b = error_body(e.sqlstate, e.message, e.detail, e.hint);
        if (route.envelope) b["success"] = false;
        r = Response{mapping.status, json_text(b)};
        if (mapping.retry_after)
            r.headers.emplace_back("Retry-After", std::to_string(config_.retry_after_seconds));
        if (mapping.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
        std::string value = result.first_column[2].empty() ? "null" : result.first_column[2][0];
        r = Response{route.status, value};
        if (route.builtin == Builtin::Metrics) {
            r.body = metrics_.render(nlohmann::json::parse(value, nullptr, false),
                                     w.pool->healthy_count(), w.pool->size());
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        } else if (readiness) {
            nlohmann::json doc = nlohmann::json::parse(value, nullptr, false);
            if (doc.is_object() && doc.contains("checks") && doc["checks"].is_object())
                for (auto& [check, v] : doc["checks"].items())
                    if (v.is_object() && v.contains("status") && v["status"].is_string())
                        metrics_.readiness(check, v["status"].get<std::string>());
            if (doc.is_object() && doc.value("status", "") == "not_ready") r.status = 503;
        }
    }
    if (readiness && result.connection_lost) metrics_.readiness("db", "fail");
    r.headers.emplace_back("X-Request-Id", rid);
    co_return r;
}

asio::awaitable<void> Gateway::session(Worker& w, tcp::socket socket) {
    error_code ec;
    std::string client = socket.remote_endpoint(ec).address().to_string();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(config_.max_header_bytes));
        parser.body_limit(config_.max_body_bytes);
        stream.expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
        co_await bhttp::async_read(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::eof || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted)
            break;
        Response res;
        bool keep_alive = false;
        bool head = false;  // a HEAD: the length of the body, not the body
        unsigned version = 11;
        auto start = std::chrono::steady_clock::now();
        std::string route_label = "unmatched", method_label = "OTHER";
        if (ec) {
            if (ec == bhttp::error::body_limit)
                res = error(
                    413, "ABX413",
                    "the body is larger than " + std::to_string(config_.max_body_bytes) + " bytes");
            else if (ec == bhttp::error::header_limit)
                res = error(431, "ABX431",
                            "the request headers are larger than " +
                                std::to_string(config_.max_header_bytes) + " bytes");
            else
                res = error(400, "ABX400", "malformed HTTP request: " + ec.message());
        } else {
            Request& req = parser.get();
            version = req.version();
            keep_alive = req.keep_alive() && !stopping_;
            std::string_view target(req.target().data(), req.target().size());
            std::string_view path = target.substr(0, target.find('?'));
            std::string_view method(req.method_string().data(), req.method_string().size());
            if (path == "/ui" || path.starts_with("/ui/")) {
                auto etag = req[bhttp::field::if_none_match];
                res = serve_ui(method, path, std::string_view(etag.data(), etag.size()));
                route_label = "/ui/";
                method_label = method == "HEAD" ? "HEAD" : "GET";
                head = method == "HEAD";
            } else {
                Match m = match_route(parse_method(method), path);
                if (m.route) {
                    route_label = std::string(m.route->pattern);
                    method_label = std::string(method_name(m.route->method));
                }
                if (m.route && m.route->builtin == Builtin::WebSocket &&
                    beast::websocket::is_upgrade(req)) {
                    co_await upgrade(w, stream, parser.release(), version, client);
                    co_return;
                }
                ++in_flight_;
                try {
                    res = co_await handle(w, req, m, client);
                } catch (const std::exception& e) {
                    // A defect of ours, not the client's: a 500, and the connection is closed.
                    res = error(500, "ABX500",
                                std::string("internal error in abx-http: ") + e.what());
                    keep_alive = false;
                }
                --in_flight_;
                if (m.route && m.route->function == "abx.http_assignment" && res.status == 200)
                    metrics_.decision(ms_since(start));
            }
        }
        metrics_.request(route_label, method_label, res.status, ms_since(start));
        ec = co_await write_response(stream, std::move(res), version, keep_alive, head);
        if (ec || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<error_code> Gateway::write_response(beast::tcp_stream& stream, Response res,
                                                    unsigned version, bool keep_alive,
                                                    bool head) const {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    out.set(bhttp::field::server, "abx-http/" + config_.version);
    out.set(bhttp::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) out.set(k, v);
    const std::size_t length = res.body.size();
    if (!head) out.body() = std::move(res.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (head) out.content_length(length);
    error_code ec;
    stream.expires_after(30s);
    co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

asio::awaitable<void> Gateway::upgrade(Worker& w, beast::tcp_stream& stream, Request req,
                                       unsigned version, const std::string& peer) {
    auto start = std::chrono::steady_clock::now();
    const Route& route = *match_route(Method::GET, "/api/experiments/ws").route;
    auto header = [&](auto field) {
        auto v = req[field];
        return std::string_view(v.data(), v.size());
    };
    ws::UpgradeCredentials credentials = ws::upgrade_credentials(
        header(bhttp::field::authorization), header(bhttp::field::sec_websocket_protocol));
    std::shared_ptr<const std::set<std::string>> roles;
    {
        std::lock_guard lock(pg_state_->mutex);
        roles = pg_state_->allowed_roles;
    }
    std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    AuthContext ctx{config_, keys_, roles, now, &w.tokens};
    AuthOutcome auth = authenticate(route, credentials.authorization, ctx);
    WsClient client;
    Response refusal;
    std::string_view target(req.target().data(), req.target().size());
    std::size_t q = target.find('?');
    auto query =
        parse_query(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
    nlohmann::json query_json = nlohmann::json::object();
    if (query)
        for (auto& [k, v] : *query) query_json[k] = v;
    auto org_header = req["x-org-id"];
    client.organization = std::string(org_header.data(), org_header.size());
    if (client.organization.empty() && query_json.contains("orgId"))
        client.organization = query_json["orgId"].get<std::string>();
    auto limit = config_.rate_limits.find(std::string(route.group));
    RateLimiter::Decision rate{true, 0};
    if (limit != config_.rate_limits.end() && limit->second > 0)
        rate = limiter_.take(
            std::string(route.group) + "|" + peer, limit->second,
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
    if (!rate.allowed) {
        refusal = error(429, "ABX429", "rate limit exceeded");
        refusal.headers.emplace_back("Retry-After", std::to_string(rate.retry_after_seconds));
    } else if (auth.status != 0) {
        refusal = error(auth.status, auth.status == 401 ? "ABX401" : "ABX503", auth.message);
        refusal.headers.emplace_back(auth.status == 401 ? "WWW-Authenticate" : "Retry-After",
                                     auth.status == 401
                                         ? std::string("Bearer")
                                         : std::to_string(config_.retry_after_seconds));
    } else if (!query || !valid_utf8(client.organization) ||
               client.organization.find('\0') != std::string::npos) {
        refusal = error(400, "ABX400", "bad query string or x-org-id");
    } else if (metrics_.websocket_clients() >= config_.websocket_max_clients || stopping_) {
        refusal = error(503, "ABX503", "no more WebSocket connections are accepted now");
        refusal.headers.emplace_back("Retry-After", std::to_string(config_.retry_after_seconds));
    }
    if (refusal.status != 200) {
        metrics_.request(std::string(route.pattern), "GET", refusal.status, ms_since(start));
        co_await write_response(stream, std::move(refusal), version, false, false);
        error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }
    metrics_.request(std::string(route.pattern), "GET", 101, ms_since(start));
    client.caller = std::move(auth.caller);
    client.query_json = json_text(query_json);
    client.bearer_subprotocol = credentials.via_subprotocol;
    nlohmann::json claims = nlohmann::json::parse(client.caller.claims, nullptr, false);
    if (claims.is_object() && claims.contains("exp") && claims["exp"].is_number())
        client.expires_at =
            static_cast<std::int64_t>(claims["exp"].get<double>()) + config_.jwt_leeway_seconds;
    co_await w.hub->serve(std::move(stream), std::move(req), std::move(client));
}

asio::awaitable<void> Gateway::accept(Worker& w) {
    for (;;) {
        error_code ec;
        tcp::socket socket =
            co_await w.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || stopping_) co_return;
        if (ec) {
            // Out of descriptors or memory: back off a little instead of spinning on accept.
            asio::steady_timer pause(w.io, 50ms);
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(w.io, session(w, std::move(socket)), asio::detached);
    }
}

void Gateway::shutdown() {
    stopping_ = true;
    for (auto& w : workers_)
        asio::post(w->io, [&w = *w] {
            error_code ec;
            if (w.acceptor) w.acceptor->close(ec);
            if (w.hub) w.hub->close_all();
        });
}

int Gateway::run() {
    tcp::endpoint endpoint(asio::ip::make_address(config_.listen_host),
                           static_cast<unsigned short>(config_.listen_port));
    int share = std::max(1, config_.pool_size / config_.threads);
    for (int i = 0; i < config_.threads; ++i) {
        auto w = std::make_unique<Worker>();
        w->acceptor.emplace(w->io);
        w->acceptor->open(endpoint.protocol());
        w->acceptor->set_option(tcp::acceptor::reuse_address(true));
        int one = 1;
        ::setsockopt(w->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (i > 0) endpoint.port(static_cast<unsigned short>(bound_port_.load()));
        w->acceptor->bind(endpoint);
        w->acceptor->listen(asio::socket_base::max_listen_connections);
        if (i == 0) bound_port_ = w->acceptor->local_endpoint().port();
        int size =
            i == config_.threads - 1 ? config_.pool_size - share * (config_.threads - 1) : share;
        w->pool =
            std::make_unique<PgPool>(w->io, config_.db_uri, std::max(1, size),
                                     std::chrono::milliseconds(config_.pool_timeout_ms), pg_state_);
        workers_.push_back(std::move(w));
    }
    // One feed for all loops; each loop delivers to its own connections.
    feed_ = std::make_unique<Feed>(config_, pg_state_, metrics_, [this](const FeedMessage& m) {
        for (auto& w : workers_) asio::post(w->io, [&w = *w, m] { w.hub->deliver(m); });
    });
    for (auto& w : workers_)
        w->hub = std::make_unique<WsHub>(w->io, config_, *w->pool, metrics_, *feed_);
    // Signals on a loop of their own: SIGTERM stops accepting, the requests in flight finish.
    asio::io_context control;
    asio::signal_set signals(control, SIGTERM, SIGINT);
    signals.async_wait([this](error_code, int) { shutdown(); });
    std::signal(SIGPIPE, SIG_IGN);
    for (auto& w : workers_) {
        w->pool->start();
        asio::co_spawn(w->io, accept(*w), asio::detached);
        w->thread = std::thread([&io = w->io] { io.run(); });
    }
    feed_->start();
    std::thread control_thread([&control] { control.run(); });
    control_thread.join();
    // Drain: wait for the requests in flight (at most the request timeout), then stop.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(config_.request_timeout_ms) + 5s;
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    // WebSocket clients were sent a close (1001); a moment for the handshakes, then stop.
    auto closing = std::chrono::steady_clock::now() + 2s;
    while (metrics_.websocket_clients() > 0 && std::chrono::steady_clock::now() < closing)
        std::this_thread::sleep_for(10ms);
    feed_->stop();
    for (auto& w : workers_) w->io.stop();
    for (auto& w : workers_) w->thread.join();
    return 0;
}

}  // namespace abx::http
