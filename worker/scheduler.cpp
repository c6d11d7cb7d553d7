// The scheduler of one database: runs the due jobs of abx.jobs, each run in transactions of its
// own, records every run in abx.job_runs, and sleeps on its latch until the next one is due
// (docs/operations.md). Signals and the wait loop follow PostgreSQL's worker_spi.
#include "jobs.hpp"
#include "registry.hpp"
#include "settings.hpp"
#include "slo_watcher.hpp"
#include "workers.hpp"

#include <algorithm>
#include <vector>

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/guc.h"
#include "utils/timeout.h"

PGDLLEXPORT void abx_scheduler_main(Datum arg);
}

namespace abx::pg {
namespace {

constexpr long kIdleWaitMs = 10'000;  // the longest sleep: settings and the extension are rechecked

// After a caught error: the transaction (and any SPI connection) is rolled back.
void abort_transaction() {
    pg_guard([] {
        disable_timeout(STATEMENT_TIMEOUT, false);
        AbortCurrentTransaction();
    });
}

// Whether this database has abx with its jobs table (an older version has none).
bool extension_ready() {
    begin_worker_transaction();
    bool ready = pg_call([] {
        if (!OidIsValid(get_extension_oid("abx", true))) return false;
        Oid ns = get_namespace_oid("abx", true);
        return OidIsValid(ns) && OidIsValid(get_relname_relid("jobs", ns));
    });
    commit_worker_transaction();
    return ready;
}

const std::string kDueJobs = std::string("SELECT ") + kJobColumns +
                             " FROM abx.jobs WHERE enabled AND next_run_at <= $1"
                             " ORDER BY next_run_at, id";
Statement due_jobs(kDueJobs, {TIMESTAMPTZOID});
Statement next_due("SELECT min(next_run_at) FROM abx.jobs WHERE enabled", {});
Statement start_run(R"SQL(
INSERT INTO abx.job_runs (job_id, slot, attempt, status, started_at, pid)
VALUES ($1, $2, $3, 'running', pg_catalog.clock_timestamp(), pg_catalog.pg_backend_pid())
ON CONFLICT DO NOTHING RETURNING id)SQL",
                    {INT8OID, TIMESTAMPTZOID, INT4OID});
Statement finish_run(R"SQL(
UPDATE abx.job_runs SET status = $2, finished_at = pg_catalog.clock_timestamp(), sqlstate = $3,
       message = $4, result = $5
 WHERE id = $1)SQL",
                     {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID});
Statement move_job(R"SQL(
UPDATE abx.jobs SET slot = $3, attempt = $4, next_run_at = $5
 WHERE id = $1 AND slot = $2)SQL",
                   {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID});
Statement interrupted_runs(R"SQL(
UPDATE abx.job_runs SET status = 'interrupted', finished_at = pg_catalog.clock_timestamp(),
       message = 'the run was cut short: the server stopped or crashed, or the scheduler was terminated'
 WHERE status = 'running' AND NOT manual
RETURNING job_id, slot, attempt)SQL",
                           {});
const std::string kCurrentJob = std::string("SELECT ") + kJobColumns +
                                " FROM abx.jobs WHERE id = $1 AND slot = $2 AND attempt = $3"
                                " AND enabled FOR UPDATE";
Statement current_job(kCurrentJob, {INT8OID, TIMESTAMPTZOID, INT4OID});
const std::string kJobForRun = std::string("SELECT ") + kJobColumns +
                               " FROM abx.jobs WHERE id = $1 AND slot = $2 AND attempt = $3";
Statement job_for_run(kJobForRun, {INT8OID, TIMESTAMPTZOID, INT4OID});

// Moves a job past an attempt: to its next slot after a success (or when retries are used up),
// else to a retry of the same slot.
void advance(const JobRow& job, bool succeeded, TimestampTz now) {
    TimestampTz slot = job.slot, next_run = 0;
    int attempt = 1;
    std::optional<std::int64_t> retry;
    if (!succeeded)
        retry = retry_at(to_unix_micros(now), job.backoff_us, job.attempt, job.max_retries);
    if (retry) {
        attempt = job.attempt + 1;
        next_run = from_unix_micros(*retry);
    } else {
        slot = next_run = next_slot_after(job, now);
    }
    Args a(5);
    a.set(0, Int64GetDatum(job.id))
        .set(1, TimestampTzGetDatum(job.slot))
        .set(2, TimestampTzGetDatum(slot))
        .set(3, Int32GetDatum(attempt))
        .set(4, TimestampTzGetDatum(next_run));
    move_job.run(a.values(), a.nulls(), false);
}

void record(std::int64_t run_id, const char* status, const std::optional<std::string>& sqlstate,
            const std::optional<std::string>& message, const std::optional<std::string>& result) {
    Args a(5);
    a.set(0, Int64GetDatum(run_id)).set(1, text_datum(status));
    a.set_or_null(2, sqlstate).set_or_null(3, message).set_or_null(4, result);
    finish_run.run(a.values(), a.nulls(), false);
}

// Runs left 'running' by a crash or a terminated scheduler are marked interrupted; each counts
// as a failed attempt of its slot (retried if the job allows, else the job moves on).
void recover_interrupted_runs() {
    begin_worker_transaction();
    spi_connect();
    std::uint64_t n = interrupted_runs.run(nullptr, nullptr, false);
    struct Run {
        std::int64_t job;
        TimestampTz slot;
        std::int64_t attempt;
    };
    std::vector<Run> runs;
    for (std::uint64_t r = 0; r < n; ++r) {
        runs.push_back({*col_int64(r, 1), *col_timestamptz(r, 2), *col_int64(r, 3)});
    }
    TimestampTz now = abx_now();
    for (const Run& run : runs) {
        Args a(3);
        a.set(0, Int64GetDatum(run.job))
            .set(1, TimestampTzGetDatum(run.slot))
            .set(2, Int32GetDatum((int)run.attempt));
        if (job_for_run.run(a.values(), a.nulls(), false, 1) == 1) advance(read_job(0), false, now);
    }
    spi_finish();
    commit_worker_transaction();
    if (n > 0)
        ereport(LOG,
                (errmsg("abx scheduler: %llu interrupted run(s) recorded", (unsigned long long)n)));
}

// One run: recorded as running (committed), executed as the job's owner in a transaction that
// also records its success and moves the job, or rolled back and recorded as failed.
void run_job(const JobRow& due) {
    begin_worker_transaction();
    spi_connect();
    // The job as it is now (it may have been disabled, changed or moved while earlier jobs of
    // this pass ran), locked until this attempt is recorded.
    Args k(3);
    k.set(0, Int64GetDatum(due.id))
        .set(1, TimestampTzGetDatum(due.slot))
        .set(2, Int32GetDatum(due.attempt));
    if (current_job.run(k.values(), k.nulls(), false, 1) == 0) {
        spi_finish();
        commit_worker_transaction();
        return;
    }
    JobRow job = read_job(0);
    std::optional<std::int64_t> run_id;
    if (start_run.run(k.values(), k.nulls(), false, 1) == 1) run_id = col_int64(0, 1);
    if (!run_id) {
        // This attempt is recorded already (e.g. next_run_at moved back onto a slot that ran):
        // it counts as failed, and the job moves on instead of being retried in a loop.
        advance(job, false, abx_now());
        ereport(LOG, (errmsg("abx scheduler: job \"%s\": attempt %d of its slot was already "
                             "recorded; moved on",
                             job.name.c_str(), job.attempt)));
    }
    spi_finish();
    commit_worker_transaction();
    if (!run_id) return;
    pgstat_report_activity(STATE_RUNNING, job.command.c_str());

    std::optional<std::pair<std::string, std::string>> failure;  // SQLSTATE, message
    begin_worker_transaction();
    try {
        std::optional<std::string> result = execute_job_as_owner(job);
        spi_connect();
        record(*run_id, "succeeded", std::nullopt, std::nullopt, result);
        advance(job, true, abx_now());
        spi_finish();
        commit_worker_transaction();
    } catch (const PgError& e) {
        failure = {pg_call([&] { return (const char*)unpack_sql_state(e.data->sqlerrcode); }),
                   e.data->message ? e.data->message : ""};
    } catch (const Error& e) {
        failure = {e.sqlstate, e.what()};
    } catch (...) {
        failure = {"XX000", "unexpected failure in the job's run"};
    }
    pgstat_report_activity(STATE_IDLE, nullptr);
    if (!failure) return;
    abort_transaction();
    auto [sqlstate, message] = *failure;
    ereport(LOG,
            (errmsg("abx scheduler: job \"%s\" failed: %s", job.name.c_str(), message.c_str())));
    begin_worker_transaction();
    spi_connect();
    record(*run_id, sqlstate == "57014" ? "timeout" : "failed", sqlstate, message, std::nullopt);
    advance(job, false, abx_now());
    spi_finish();
    commit_worker_transaction();
}

// Runs everything due now; returns how long to sleep.
long run_due_jobs() {
    begin_worker_transaction();
    spi_connect();
    TimestampTz now = abx_now();
    Args a(1);
    a.set(0, TimestampTzGetDatum(now));
    std::uint64_t n = due_jobs.run(a.values(), a.nulls(), false);
    std::vector<JobRow> due;
    for (std::uint64_t r = 0; r < n; ++r) due.push_back(read_job(r));
    spi_finish();
    commit_worker_transaction();
    for (const JobRow& job : due) {
        pg_guard([] { CHECK_FOR_INTERRUPTS(); });
        run_job(job);
    }
    if (!due.empty()) return 0;  // look again at once: a run may have taken a while

    if (scheduler_test_clock()) return 1000;  // the clock moves only when a test moves it
    begin_worker_transaction();
    spi_connect();
    next_due.run(nullptr, nullptr, true, 1);
    std::optional<TimestampTz> next = col_timestamptz(0, 1);
    spi_finish();
    TimestampTz now_after = abx_now();
    commit_worker_transaction();
    if (!next) return kIdleWaitMs;
    std::int64_t wait_ms = (*next - now_after) / 1000 + 1;
    return std::clamp<std::int64_t>(wait_ms, 1, kIdleWaitMs);
}

void publish_settled(std::uint64_t generation) {
    WorkerShared* ws = worker_shared();
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(MyDatabaseId, false))
        if (s->pid == MyProcPid)
            s->settled_generation = std::max(s->settled_generation, generation);
    LWLockRelease(ws->lock);
}

void release_slot(int, Datum) {
    WorkerShared* ws = worker_shared();
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(MyDatabaseId, false))
        if (s->pid == MyProcPid) {
            s->pid = 0;
            s->latch = nullptr;
        }
    LWLockRelease(ws->lock);
    wake_launcher();
}

// Takes this database's slot; false if another scheduler holds it.
bool claim_slot() {
    WorkerShared* ws = worker_shared();
    bool claimed = false;
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    SchedulerSlot* s = find_slot(MyDatabaseId, true);
    if (s != nullptr && !s->stopping && (s->pid == 0 || kill(s->pid, 0) != 0)) {
        s->pid = MyProcPid;
        s->latch = &MyProc->procLatch;
        s->requested_at = 0;
        s->absent_since = 0;
        claimed = true;
    }
    LWLockRelease(ws->lock);
    return claimed;
}

void mark_absent() {
    WorkerShared* ws = worker_shared();
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(MyDatabaseId, false)) s->absent_since = GetCurrentTimestamp();
    LWLockRelease(ws->lock);
}

}  // namespace
}  // namespace abx::pg

void abx_scheduler_main(Datum arg) {
    using namespace abx::pg;
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
    pgstat_report_appname("abx scheduler");
    // Run records and the jobs' effects survive a crash even where the cluster runs with
    // synchronous_commit = off (docs/operations.md, "Durability").
    SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
    am_scheduler = true;
    if (!claim_slot()) proc_exit(0);
    before_shmem_exit(release_slot, 0);

    bool recovered = false;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (!scheduler_enabled()) proc_exit(0);
        std::uint64_t generation = pg_atomic_read_u64(&worker_shared()->clock_generation);
        long wait_ms = kIdleWaitMs;
        bool absent = false;
        std::optional<std::string> failure;  // copied before the transaction's memory goes
        try {
            absent = !extension_ready();
            if (!absent && !recovered) {
                recover_interrupted_runs();
                recovered = true;
            }
            if (!absent) ensure_slo_watcher();  // first: a long job must not delay it
            if (!absent) wait_ms = run_due_jobs();
        } catch (const PgError& e) {
            failure = e.data->message ? e.data->message : "error";
        } catch (const std::exception& e) {
            failure = e.what();
        } catch (...) {
            failure = "unexpected failure";
        }
        if (failure) {
            // Nothing is left half-done: the transaction is rolled back and the loop goes on.
            AbortCurrentTransaction();
            ereport(WARNING, (errmsg("abx scheduler: %s", failure->c_str())));
            wait_ms = std::max<long>(wait_ms, 1000);  // a failing pass is not retried in a loop
        }
        if (absent) {
            mark_absent();
            proc_exit(0);
        }
        publish_settled(generation);
        if (wait_ms > 0) {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
                            PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
    }
}
