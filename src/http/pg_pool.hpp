// A fixed pool of non-blocking libpq connections on one Asio event loop (one pool per gateway
// thread; nothing here is shared between threads). Every call is one pipeline: the statements
// and a Sync go out in one write, the results come back in one read, so a request costs one
// round trip. A broken connection is closed and re-established in the background with backoff;
// while none is healthy, acquire() answers at once (the gateway's 503), not after its timeout.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <libpq-fe.h>

namespace abx::http {

namespace asio = boost::asio;

// The settings statement of a request's transaction: role, request.jwt.claims,
// abx.organization, request.id, request.internal_token, statement_timeout (all local).
inline constexpr const char* kRequestSettingsSql =
    "SELECT pg_catalog.set_config('role', $1, true), "
    "pg_catalog.set_config('request.jwt.claims', $2, true), "
    "pg_catalog.set_config('abx.organization', $3, true), "
    "pg_catalog.set_config('request.id', $4, true), "
    "pg_catalog.set_config('request.internal_token', $5, true), "
    "pg_catalog.set_config('statement_timeout', $6, true)";

struct PgError {
    std::string sqlstate, message, detail, hint;
};

// One statement of a pipeline: a plain query, or a prepared statement's execution (`name`).
struct Statement {
    std::string sql;   // SQL text (Query), or the statement's text to prepare if not yet prepared
    std::string name;  // non-empty: a prepared statement, prepared on first use per connection
    std::vector<std::string> params;
};

struct PipelineResult {
    bool connection_lost = false;  // the connection broke: nothing is known about the outcome
    std::optional<PgError> error;  // the first error of the pipeline
    std::vector<std::vector<std::string>> first_column;  // per statement: column 1 of each row
};

// What every connection learns when it connects: the roles a token may name.
struct SharedPgState {
    std::mutex mutex;
    std::shared_ptr<const std::set<std::string>> allowed_roles;
    std::string login_role;
};

class PgConnection {
  public:
    PgConnection(asio::io_context& io, std::string conninfo, std::shared_ptr<SharedPgState> shared);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    asio::awaitable<bool> connect();
    // Runs the statements as one pipeline. On an error inside an explicit transaction the
    // connection is rolled back before it is returned, so the next caller starts clean.
    asio::awaitable<PipelineResult> run(const std::vector<Statement>& statements,
                                        std::chrono::milliseconds deadline);
    bool healthy() const { return conn_ && PQstatus(conn_) == CONNECTION_OK && !broken_; }
    // Reads whatever the server sent an idle connection (a FATAL at shutdown, an EOF): a
    // connection the server closed is found here, before a request is sent on it.
    bool still_alive();
    void close();
    // For a LISTENing connection: waits until the server sends something or `timeout` passes,
    // then returns the notifications received (channel, payload); nullopt when the connection
    // is lost.
    asio::awaitable<void> wait_input(std::chrono::milliseconds timeout);
    std::optional<std::vector<std::pair<std::string, std::string>>> notifications();

  private:
    struct Deadline;
    asio::awaitable<bool> wait(bool for_write, Deadline& deadline);
    asio::awaitable<PipelineResult> run_once(const std::vector<Statement>& statements,
                                             Deadline& deadline);
    void bind_socket();

    asio::io_context& io_;
    std::string conninfo_;
    std::shared_ptr<SharedPgState> shared_;
    PGconn* conn_ = nullptr;
    bool broken_ = false;
    std::set<std::string> prepared_;
    std::optional<asio::posix::stream_descriptor> socket_;  // libpq's socket, never closed by us
    int socket_fd_ = -1;
};

class PgPool {
  public:
    PgPool(asio::io_context& io, std::string conninfo, int size,
           std::chrono::milliseconds acquire_timeout, std::shared_ptr<SharedPgState> shared);
    void start();  // spawns the connectors
    // A healthy connection, or nullptr: none healthy, or none free within the timeout.
    asio::awaitable<PgConnection*> acquire();
    void release(PgConnection* c);
    int healthy_count() const;
    int size() const { return static_cast<int>(slots_.size()); }

  private:
    asio::awaitable<void> keep_connected(std::size_t index);
    struct Waiter {
        asio::steady_timer timer;
        PgConnection* given = nullptr;
        explicit Waiter(asio::io_context& io) : timer(io) {}
    };

    asio::io_context& io_;
    std::string conninfo_;
    std::chrono::milliseconds acquire_timeout_;
    std::shared_ptr<SharedPgState> shared_;
    std::vector<std::unique_ptr<PgConnection>> slots_;
    std::vector<std::unique_ptr<asio::steady_timer>> wakeups_;  // a connector's "reconnect now"
    std::vector<PgConnection*> idle_;
    std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace abx::http
