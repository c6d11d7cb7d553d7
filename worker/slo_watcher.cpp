#include "slo_watcher.hpp"

#include "access.hpp"
#include "registry.hpp"
#include "settings.hpp"
#include "spi.hpp"
#include "workers.hpp"

#include "abx/slo.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void abx_slo_watcher_main(Datum arg);
}

namespace abx::pg {
namespace {

using Clock = std::chrono::steady_clock;

constexpr long kMaxWaitMs = 1000;          // watched experiments and settings are reread this often
constexpr std::size_t kMaxBody = 1 << 20;  // a query answer larger than this is refused
constexpr std::int64_t kLockKey = 0x61627873'6c6f7761;  // "abxslowa": one watcher per database

const char* kWatched = R"SQL(
SELECT e.id, e.code, e.sla_target, e.prometheus, coalesce(o.key, '')
  FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
 WHERE e.prometheus IS NOT NULL
   AND (e.status = 'running' OR (e.status = 'completed' AND e.promoted_variant_id IS NOT NULL))
 ORDER BY e.id)SQL";

// ---- the scheduler's side ------------------------------------------------------------------

BackgroundWorkerHandle* watcher = nullptr;  // in TopMemoryContext

bool watcher_wanted() {
    begin_worker_transaction();
    spi_connect();
    spi_exec(std::string("SELECT to_regclass('abx.slo_observations') IS NOT NULL AND EXISTS (") +
                 kWatched + ")",
             true);
    bool wanted = col_bool(0, 1).value_or(false);
    spi_finish();
    commit_worker_transaction();
    return wanted;
}

}  // namespace

namespace {

void start_if_wanted() {
    if (!slo_watcher_enabled() || !watcher_wanted()) return;
    pg_guard([] {
        if (watcher != nullptr) {
            pid_t pid;
            if (GetBackgroundWorkerPid(watcher, &pid) != BGWH_STOPPED) return;
            pfree(watcher);
            watcher = nullptr;
        }
        BackgroundWorker w{};
        w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
        w.bgw_start_time = BgWorkerStart_RecoveryFinished;
        w.bgw_restart_time = BGW_NEVER_RESTART;  // the scheduler starts it again
        strcpy(w.bgw_library_name, "abx");
        strcpy(w.bgw_function_name, "abx_slo_watcher_main");
        strcpy(w.bgw_name, "abx slo watcher");
        strcpy(w.bgw_type, "abx slo watcher");
        w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
        w.bgw_notify_pid = MyProcPid;
        pid_t scheduler = MyProcPid;  // the watcher stops with this scheduler
        memcpy(w.bgw_extra, &scheduler, sizeof scheduler);
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        if (!RegisterDynamicBackgroundWorker(&w, &watcher)) {
            watcher = nullptr;
            ereport(WARNING, (errmsg("abx: no background worker free for the SLO watcher"),
                              errhint("Raise max_worker_processes.")));
        }
        MemoryContextSwitchTo(old);
    });
}

}  // namespace

// Never throws: a failure is logged and the scheduler goes on with its jobs.
void ensure_slo_watcher() {
    std::optional<std::string> failure;
    try {
        start_if_wanted();
    } catch (const PgError& e) {
        failure = e.data->message ? e.data->message : "error";
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure) return;
    pg_guard([] { AbortCurrentTransaction(); });
    ereport(WARNING, (errmsg("abx scheduler: starting the SLO watcher: %s", failure->c_str())));
}

namespace {

// ---- the watcher's side ----------------------------------------------------------------------

// The watcher lives only as long as its database's scheduler: it stops with it (DROP DATABASE and
// DROP EXTENSION wait for both, abx.scheduler = off, a crash), and the next scheduler starts a
// new one.
pid_t parent_scheduler = 0;

bool scheduler_alive() {
    WorkerShared* ws = worker_shared();
    if (ws == nullptr) return false;
    bool alive = false;
    LWLockAcquire(ws->lock, LW_SHARED);
    if (SchedulerSlot* s = find_slot(MyDatabaseId, false))
        alive = !s->stopping && s->pid == parent_scheduler;
    LWLockRelease(ws->lock);
    return alive;
}

struct Target {
    std::int64_t id;
    std::string code, organization;
    std::optional<slo::Config> config;  // nullopt: invalid (abx.slo_record records why)
};

struct Check {
    const Target* target;
    std::optional<double> latency, error_rate;
    std::vector<std::string> failures;
};

std::vector<Target> watched_targets(Oid& owner) {
    std::vector<Target> out;
    begin_worker_transaction();
    spi_connect();
    spi_exec("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'abx'", true);
    owner = (Oid)col_int64(0, 1).value_or(0);
    std::uint64_t n = spi_exec(kWatched, true);
    for (std::uint64_t r = 0; r < n; ++r) {
        Target t{*col_int64(r, 1), *col_text(r, 2), *col_text(r, 5), std::nullopt};
        try {
            t.config = slo::parse_config(col_jsonb(r, 3).value_or(nullptr), *col_jsonb(r, 4));
        } catch (const Error&) {
        }
        out.push_back(std::move(t));
    }
    spi_finish();
    commit_worker_transaction();
    return out;
}

struct Request {
    Check* check;
    bool latency;  // else the error-rate query
    std::string url, body;
    char error[CURL_ERROR_SIZE] = {0};
    CURL* easy = nullptr;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
    auto* r = static_cast<Request*>(user);
    if (r->body.size() + size * n > kMaxBody) return 0;  // aborts the transfer
    r->body.append(data, size * n);
    return size * n;
}

// Asks Prometheus every query of `checks` at once; returns early (false) when the worker is told
// to stop. No PostgreSQL call in here but the interrupt flags.
bool run_queries(std::vector<Check>& checks) {
    std::vector<std::unique_ptr<Request>> requests;
    for (Check& c : checks) {
        const slo::Config& cfg = *c.target->config;
        if (cfg.p95_latency_ms)
            requests.push_back(std::make_unique<Request>(Request{
                &c, true,
                slo::query_url(cfg.base_url, slo::substitute(cfg.query_latency, c.target->code,
                                                             cfg.window, c.target->organization)),
                ""}));
        if (cfg.error_rate_threshold)
            requests.push_back(std::make_unique<Request>(Request{
                &c, false,
                slo::query_url(cfg.base_url, slo::substitute(cfg.query_error_rate, c.target->code,
                                                             cfg.window, c.target->organization)),
                ""}));
    }
    if (requests.empty()) return true;
    CURLM* multi = curl_multi_init();
    for (auto& r : requests) {
        const slo::Config& cfg = *r->check->target->config;
        r->easy = curl_easy_init();
        curl_easy_setopt(r->easy, CURLOPT_URL, r->url.c_str());
        curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)cfg.timeout_ms);
        curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg.timeout_ms);
        curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "abx-slo-watcher");
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r.get());
        curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
        curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r.get());
        curl_multi_add_handle(multi, r->easy);
    }
    bool stopped = false;
    int running = 1;
    while (running > 0) {
        curl_multi_perform(multi, &running);
        if (running == 0) break;
        if (ProcDiePending || !scheduler_alive()) {  // the unfinished checks are not recorded
            stopped = true;
            break;
        }
        curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    CURLMsg* msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != nullptr) {
        if (msg->msg != CURLMSG_DONE) continue;
        Request* r = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char**)&r);
        Check& c = *r->check;
        const char* what = r->latency ? "latency query" : "error-rate query";
        if (msg->data.result != CURLE_OK) {
            c.failures.push_back(
                std::string(what) + ": Prometheus at " + c.target->config->base_url +
                " unreachable: " + (r->error[0] ? r->error : curl_easy_strerror(msg->data.result)));
            continue;
        }
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        slo::Sample s = slo::parse_query_response(status, r->body);
        if (s.kind == slo::Sample::Kind::Error)
            c.failures.push_back(std::string(what) + ": " + s.message);
        else if (s.kind == slo::Sample::Kind::Value)
            (r->latency ? c.latency : c.error_rate) = s.value;
    }
    for (auto& r : requests) {
        // A transfer cut short by a stop never finished: no result, nothing recorded for it.
        curl_multi_remove_handle(multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_multi_cleanup(multi);
    return !stopped;
}

Statement record_check("SELECT abx.slo_record($1, $2, $3, $4)",
                       {INT8OID, FLOAT8OID, FLOAT8OID, TEXTOID});

// One check recorded (and acted on) in a transaction of its own, as the extension's owner;
// a failure is logged and the next check goes on.
void record(const Check& c, Oid owner) {
    std::optional<std::string> failure;
    if (!c.target->config) failure = "invalid SLO configuration";
    for (const std::string& f : c.failures) failure = failure ? *failure + "; " + f : f;
    std::optional<std::string> error;
    try {
        begin_worker_transaction();
        {
            ActingAsOwner acting(owner);
            spi_connect();
            Args a(4);
            a.set(0, Int64GetDatum(c.target->id));
            if (c.latency)
                a.set(1, Float8GetDatum(*c.latency));
            else
                a.null(1);
            if (c.error_rate)
                a.set(2, Float8GetDatum(*c.error_rate));
            else
                a.null(2);
            a.set_or_null(3, failure);
            record_check.run(a.values(), a.nulls(), false);
            spi_finish();
        }
        commit_worker_transaction();
    } catch (const PgError& e) {
        error = e.data->message ? e.data->message : "error";
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (error) {
        pg_guard([] { AbortCurrentTransaction(); });
        ereport(WARNING, (errmsg("abx slo watcher: experiment %lld: %s", (long long)c.target->id,
                                 error->c_str())));
    }
}

bool take_lock() {
    begin_worker_transaction();
    spi_connect();
    spi_exec("SELECT pg_catalog.pg_try_advisory_lock(" + std::to_string(kLockKey) + ")", false);
    bool locked = col_bool(0, 1).value_or(false);
    spi_finish();
    commit_worker_transaction();
    return locked;
}

// One pass: checks every due experiment; returns how long to sleep (ms), or -1 to exit.
long watch_once(std::map<std::int64_t, Clock::time_point>& next_due) {
    Oid owner = InvalidOid;
    std::vector<Target> targets = watched_targets(owner);
    if (targets.empty()) return -1;
    Clock::time_point now = Clock::now();
    std::vector<Check> due;
    for (const Target& t : targets) {
        auto it = next_due.find(t.id);
        if (it == next_due.end() || it->second <= now) due.push_back(Check{&t, {}, {}, {}});
    }
    std::vector<Check> to_query;
    for (const Check& c : due)
        if (c.target->config) to_query.push_back(c);
    if (!run_queries(to_query)) return 0;
    for (const Check& c : to_query) record(c, owner);
    for (const Check& c : due)
        if (!c.target->config) record(c, owner);
    for (const Check& c : due) {
        std::int64_t every =
            c.target->config ? c.target->config->interval_ms : slo::kDefaultIntervalMs;
        next_due[c.target->id] = now + std::chrono::milliseconds(every);
    }
    // Forget experiments no longer watched (a later watch starts with a check at once).
    for (auto it = next_due.begin(); it != next_due.end();)
        if (std::none_of(targets.begin(), targets.end(),
                         [&](const Target& t) { return t.id == it->first; }))
            it = next_due.erase(it);
        else
            ++it;
    Clock::time_point soonest = Clock::now() + std::chrono::milliseconds(kMaxWaitMs);
    for (auto& [id, at] : next_due) soonest = std::min(soonest, at);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - Clock::now());
    return std::clamp<long>((long)wait.count(), 1, kMaxWaitMs);
}

}  // namespace
}  // namespace abx::pg

void abx_slo_watcher_main(Datum arg) {
    using namespace abx::pg;
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    memcpy(&parent_scheduler, MyBgworkerEntry->bgw_extra, sizeof parent_scheduler);
    BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
    pgstat_report_appname("abx slo watcher");
    SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
    // A check waiting on a locked experiment gives up (logged; the next interval checks again)
    // instead of holding up the other experiments' checks.
    SetConfigOption("lock_timeout", "10s", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("statement_timeout", "60s", PGC_SUSET, PGC_S_OVERRIDE);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) elog(ERROR, "abx slo watcher: libcurl");
    static std::map<std::int64_t, Clock::time_point> next_due;
    static char failure[512];
    bool locked = false;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (!scheduler_enabled() || !slo_watcher_enabled() || !scheduler_alive()) break;
        long wait_ms = kMaxWaitMs;
        failure[0] = '\0';
        try {
            if (!locked && !(locked = take_lock())) break;  // another watcher runs here
            wait_ms = watch_once(next_due);
        } catch (const PgError& e) {
            snprintf(failure, sizeof failure, "%s", e.data->message ? e.data->message : "error");
        } catch (const std::exception& e) {
            snprintf(failure, sizeof failure, "%s", e.what());
        }
        if (failure[0] != '\0') {
            AbortCurrentTransaction();
            ereport(WARNING, (errmsg("abx slo watcher: %s", failure)));
            wait_ms = kMaxWaitMs;
        }
        if (wait_ms < 0) break;  // nothing watched: the scheduler starts a watcher when needed
        if (wait_ms > 0) {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
                            PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
    }
    proc_exit(0);
}
