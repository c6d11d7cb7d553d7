#include "pg_pool.hpp"

#include <algorithm>

namespace abx::http {

using namespace std::chrono_literals;
using error_code = boost::system::error_code;

namespace {
// The roles a token may name: abx's working roles and their members that the gateway's login
// may SET ROLE to, never a superuser, never the login itself or abx_gateway.
constexpr const char* kAllowedRolesSql = R"SQL(
SELECT r.rolname FROM pg_catalog.pg_roles r
 WHERE NOT r.rolsuper AND r.rolname <> current_user AND r.rolname <> 'abx_gateway'
   AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
   AND EXISTS (SELECT FROM pg_catalog.pg_roles g
                WHERE g.rolname IN ('abx_admin', 'abx_experimenter', 'abx_analyst',
                                    'abx_service', 'abx_reader')
                  AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER'))
UNION SELECT 'abx_gateway' WHERE pg_catalog.pg_has_role(current_user, 'abx_gateway', 'MEMBER'))SQL";

std::string field(const PGresult* r, int code) {
    const char* v = PQresultErrorField(r, code);
    return v ? v : "";
}
}  // namespace

// One deadline per pipeline: when it passes, the pending socket wait is cancelled.
struct PgConnection::Deadline {
    asio::steady_timer timer;
    std::shared_ptr<bool> expired = std::make_shared<bool>(false);
    Deadline(PgConnection& c, std::chrono::milliseconds d) : timer(c.io_) {
        timer.expires_after(d);
        timer.async_wait([flag = expired, &c](error_code ec) {
            if (ec) return;
            *flag = true;
            if (c.socket_) c.socket_->cancel();
        });
    }
    ~Deadline() { timer.cancel(); }
};

PgConnection::PgConnection(asio::io_context& io, std::string conninfo,
                           std::shared_ptr<SharedPgState> shared)
    : io_(io), conninfo_(std::move(conninfo)), shared_(std::move(shared)) {}

PgConnection::~PgConnection() {
    close();
}

void PgConnection::close() {
    if (socket_) {
        socket_->release();  // libpq owns the descriptor
        socket_.reset();
        socket_fd_ = -1;
    }
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    broken_ = false;
    prepared_.clear();
}

bool PgConnection::still_alive() {
    if (!healthy()) return false;
    if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    return !broken_;
}

asio::awaitable<void> PgConnection::wait_input(std::chrono::milliseconds timeout) {
    Deadline deadline(*this, timeout);
    co_await wait(false, deadline);
}

std::optional<std::vector<std::pair<std::string, std::string>>> PgConnection::notifications() {
    if (!healthy()) return std::nullopt;
    if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) {
        broken_ = true;
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> out;
    while (PGnotify* n = PQnotifies(conn_)) {
        out.emplace_back(n->relname, n->extra);
        PQfreemem(n);
    }
    return out;
}

void PgConnection::bind_socket() {
    int fd = conn_ ? PQsocket(conn_) : -1;
    if (fd == socket_fd_) return;
    if (socket_) socket_->release();
    socket_.reset();
    socket_fd_ = fd;
    if (fd >= 0) socket_.emplace(io_, fd);
}

asio::awaitable<bool> PgConnection::wait(bool for_write, Deadline& deadline) {
    bind_socket();
    if (!socket_ || *deadline.expired) co_return false;
    error_code ec;
    co_await socket_->async_wait(for_write ? asio::posix::stream_descriptor::wait_write
                                           : asio::posix::stream_descriptor::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && !*deadline.expired;
}

asio::awaitable<bool> PgConnection::connect() {
    close();
    conn_ = PQconnectStart(conninfo_.c_str());
    if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
        close();
        co_return false;
    }
    Deadline deadline(*this, 10s);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED || !co_await wait(st == PGRES_POLLING_WRITING, deadline)) {
            close();
            co_return false;
        }
        st = PQconnectPoll(conn_);
    }
    if (PQsetnonblocking(conn_, 1) != 0 || PQenterPipelineMode(conn_) != 1) {
        close();
        co_return false;
    }
    // (named, not a braced temporary in the co_await: GCC 12 miscompiles that)
    std::vector<Statement> learn(2);
    learn[0].sql = kAllowedRolesSql;
    learn[1].sql = "SELECT current_user";
    PipelineResult r = co_await run_once(learn, deadline);
    if (r.connection_lost || r.error) {
        close();
        co_return false;
    }
    auto roles =
        std::make_shared<std::set<std::string>>(r.first_column[0].begin(), r.first_column[0].end());
    std::lock_guard lock(shared_->mutex);
    shared_->allowed_roles = std::move(roles);
    shared_->login_role = r.first_column[1].empty() ? "" : r.first_column[1][0];
    co_return true;
}

asio::awaitable<PipelineResult> PgConnection::run(const std::vector<Statement>& statements,
                                                  std::chrono::milliseconds timeout) {
    Deadline deadline(*this, timeout);
    PipelineResult r = co_await run_once(statements, deadline);
    if (!r.connection_lost && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
        std::vector<Statement> rollback(1);
        rollback[0].sql = "ROLLBACK";
        PipelineResult rb = co_await run_once(rollback, deadline);
        if (rb.connection_lost || rb.error) broken_ = true;
    }
    co_return r;
}

asio::awaitable<PipelineResult> PgConnection::run_once(const std::vector<Statement>& statements,
                                                       Deadline& deadline) {
    PipelineResult out;
    out.first_column.resize(statements.size());
    auto lost = [&] {
        broken_ = true;
        out.connection_lost = true;
        return out;
    };
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) co_return lost();

    // Send: a statement not yet prepared on this connection is prepared in the same pipeline.
    std::vector<int> commands;  // statement index per command, -1 for a Prepare
    std::vector<std::string> preparing;
    for (std::size_t i = 0; i < statements.size(); ++i) {
        const Statement& s = statements[i];
        std::vector<const char*> values;
        for (const std::string& p : s.params) values.push_back(p.c_str());
        int n = static_cast<int>(values.size());
        int sent;
        if (s.name.empty()) {
            sent = PQsendQueryParams(conn_, s.sql.c_str(), n, nullptr, values.data(), nullptr,
                                     nullptr, 0);
        } else {
            if (!prepared_.count(s.name)) {
                if (!PQsendPrepare(conn_, s.name.c_str(), s.sql.c_str(), n, nullptr))
                    co_return lost();
                commands.push_back(-1);
                preparing.push_back(s.name);
            }
            sent =
                PQsendQueryPrepared(conn_, s.name.c_str(), n, values.data(), nullptr, nullptr, 0);
        }
        if (!sent) co_return lost();
        commands.push_back(static_cast<int>(i));
    }
    if (!PQpipelineSync(conn_)) co_return lost();
    for (int rc; (rc = PQflush(conn_)) != 0;) {
        if (rc < 0 || !co_await wait(true, deadline)) co_return lost();
    }

    // Receive: each command's results end with a NULL; the Sync's result ends the pipeline.
    auto next = [&]() -> asio::awaitable<std::pair<bool, PGresult*>> {
        while (PQisBusy(conn_)) {
            if (!co_await wait(false, deadline) || !PQconsumeInput(conn_))
                co_return std::pair<bool, PGresult*>{false, nullptr};
        }
        co_return std::pair<bool, PGresult*>{true, PQgetResult(conn_)};
    };
    std::size_t prepare_index = 0;
    for (int command : commands) {
        for (;;) {
            auto [alive, res] = co_await next();
            if (!alive) co_return lost();
            if (!res) break;
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_FATAL_ERROR && !out.error) {
                out.error =
                    PgError{field(res, PG_DIAG_SQLSTATE), field(res, PG_DIAG_MESSAGE_PRIMARY),
                            field(res, PG_DIAG_MESSAGE_DETAIL), field(res, PG_DIAG_MESSAGE_HINT)};
            } else if (command < 0 && st == PGRES_COMMAND_OK) {
                prepared_.insert(preparing[prepare_index]);
            } else if (command >= 0 && st == PGRES_TUPLES_OK) {
                auto& column = out.first_column[command];
                for (int row = 0; row < PQntuples(res); ++row)
                    column.emplace_back(PQgetvalue(res, row, 0), PQgetlength(res, row, 0));
            }
            PQclear(res);
        }
        if (command < 0) ++prepare_index;
    }
    auto [alive, sync] = co_await next();
    if (!alive || !sync) co_return lost();
    bool synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!synced) co_return lost();
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    co_return out;
}

PgPool::PgPool(asio::io_context& io, std::string conninfo, int size,
               std::chrono::milliseconds acquire_timeout, std::shared_ptr<SharedPgState> shared)
    : io_(io),
      conninfo_(std::move(conninfo)),
      acquire_timeout_(acquire_timeout),
      shared_(std::move(shared)) {
    for (int i = 0; i < size; ++i) {
        slots_.push_back(std::make_unique<PgConnection>(io_, conninfo_, shared_));
        wakeups_.push_back(std::make_unique<asio::steady_timer>(io_));
    }
}

void PgPool::start() {
    for (std::size_t i = 0; i < slots_.size(); ++i)
        asio::co_spawn(io_, keep_connected(i), asio::detached);
}

asio::awaitable<void> PgPool::keep_connected(std::size_t index) {
    PgConnection& c = *slots_[index];
    auto backoff = 250ms;
    for (;;) {
        if (!c.healthy()) {
            if (co_await c.connect()) {
                backoff = 250ms;
                release(&c);
            } else {
                asio::steady_timer pause(io_, backoff);
                error_code ec;
                co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
                continue;
            }
        }
        // Sleep until release() finds this connection broken.
        asio::steady_timer& wake = *wakeups_[index];
        wake.expires_at(asio::steady_timer::time_point::max());
        error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

int PgPool::healthy_count() const {
    return static_cast<int>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto& c) { return c->healthy(); }));
}

void PgPool::release(PgConnection* c) {
    if (!c->healthy()) {
        c->close();
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].get() == c) wakeups_[i]->cancel();
        return;
    }
    while (!waiters_.empty()) {
        std::shared_ptr<Waiter> w = waiters_.front();
        waiters_.pop_front();
        w->given = c;
        w->timer.cancel();
        return;
    }
    idle_.push_back(c);
}

asio::awaitable<PgConnection*> PgPool::acquire() {
    while (!idle_.empty()) {
        PgConnection* c = idle_.back();
        idle_.pop_back();
        if (c->still_alive()) co_return c;
        release(c);  // broken while idle: hand it to its connector
    }
    if (healthy_count() == 0) co_return nullptr;
    auto w = std::make_shared<Waiter>(io_);
    waiters_.push_back(w);
    w->timer.expires_after(acquire_timeout_);
    error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (w->given) co_return w->given;
    std::erase(waiters_, w);
    co_return nullptr;
}

}  // namespace abx::http
