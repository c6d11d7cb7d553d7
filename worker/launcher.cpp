// The launcher: one static background worker that starts a scheduler for every database that
// allows connections, and restarts them when they stop (a scheduler that finds no abx exits and
// is left alone until CREATE EXTENSION wakes the launcher, or a while has passed).
#include "registry.hpp"
#include "settings.hpp"
#include "workers.hpp"

#include <csignal>
#include <cstring>
#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void abx_launcher_main(Datum arg);
}

namespace abx::pg {
namespace {

constexpr long kRecheckAbsentMs = 300'000;  // a database without abx is looked at again after 5 min
constexpr long kStartTimeoutMs = 60'000;    // a registered scheduler that never started

std::vector<Oid> connectable_databases() {
    // The scan collects into palloc'd memory: nothing C++ lives inside the guarded PostgreSQL
    // calls (an error there becomes a PgError after they are left).
    struct Found {
        Oid* oids;
        int count;
    };
    Found found = pg_call([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        Relation rel = table_open(DatabaseRelationId, AccessShareLock);
        TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
        int capacity = 16, count = 0;
        Oid* oids = (Oid*)MemoryContextAlloc(TopMemoryContext, capacity * sizeof(Oid));
        HeapTuple tuple;
        while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
            Form_pg_database db = (Form_pg_database)GETSTRUCT(tuple);
            if (!db->datallowconn || db->datistemplate) continue;
            if (count == capacity) {
                capacity *= 2;
                oids = (Oid*)repalloc(oids, capacity * sizeof(Oid));
            }
            oids[count++] = db->oid;
        }
        table_endscan(scan);
        table_close(rel, AccessShareLock);
        PopActiveSnapshot();
        CommitTransactionCommand();
        return Found{oids, count};
    });
    std::vector<Oid> result(found.oids, found.oids + found.count);
    pg_guard([&] { pfree(found.oids); });
    return result;
}

bool start_scheduler(Oid database) {
    BackgroundWorker worker{};
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;  // the launcher restarts it
    strcpy(worker.bgw_library_name, "abx");
    strcpy(worker.bgw_function_name, "abx_scheduler_main");
    strcpy(worker.bgw_name, "abx scheduler");
    strcpy(worker.bgw_type, "abx scheduler");
    worker.bgw_main_arg = ObjectIdGetDatum(database);
    worker.bgw_notify_pid = MyProcPid;
    return RegisterDynamicBackgroundWorker(&worker, nullptr);
}

// One look at the databases: start what is missing, forget what was dropped.
void supervise() {
    std::vector<Oid> databases = connectable_databases();
    WorkerShared* ws = worker_shared();
    TimestampTz now = GetCurrentTimestamp();
    std::vector<Oid> to_start;
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    for (SchedulerSlot& s : ws->slots) {
        if (s.database == InvalidOid || s.pid != 0) continue;
        bool exists = false;
        for (Oid d : databases) exists = exists || d == s.database;
        if (!exists) memset(&s, 0, sizeof s);
    }
    for (Oid d : databases) {
        SchedulerSlot* s = find_slot(d, true);
        if (s == nullptr || s->pid != 0 || s->stopping) continue;
        if (s->absent_since != 0 &&
            !TimestampDifferenceExceeds(s->absent_since, now, kRecheckAbsentMs))
            continue;
        if (s->requested_at != 0 &&
            !TimestampDifferenceExceeds(s->requested_at, now, kStartTimeoutMs))
            continue;
        s->requested_at = now;
        s->absent_since = 0;
        to_start.push_back(d);
    }
    LWLockRelease(ws->lock);
    for (Oid d : to_start)
        if (!start_scheduler(d))
            ereport(WARNING, (errmsg("abx launcher: no background worker free for a scheduler"),
                              errhint("Raise max_worker_processes.")));
}

void forget_launcher(int, Datum) {
    WorkerShared* ws = worker_shared();
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    if (ws->launcher_pid == MyProcPid) {
        ws->launcher_pid = 0;
        ws->launcher_latch = nullptr;
    }
    LWLockRelease(ws->lock);
}

}  // namespace

void register_workers() {
    register_worker_shmem();
    BackgroundWorker worker{};
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;  // never on a hot standby
    worker.bgw_restart_time = 10;
    strcpy(worker.bgw_library_name, "abx");
    strcpy(worker.bgw_function_name, "abx_launcher_main");
    strcpy(worker.bgw_name, "abx launcher");
    strcpy(worker.bgw_type, "abx launcher");
    RegisterBackgroundWorker(&worker);
}

}  // namespace abx::pg

void abx_launcher_main(Datum) {
    using namespace abx::pg;
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only
    pgstat_report_appname("abx launcher");
    WorkerShared* ws = worker_shared();
    LWLockAcquire(ws->lock, LW_EXCLUSIVE);
    ws->launcher_pid = MyProcPid;
    ws->launcher_latch = &MyProc->procLatch;
    LWLockRelease(ws->lock);
    before_shmem_exit(forget_launcher, 0);
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (scheduler_enabled()) {
            std::optional<std::string> failure;
            try {
                supervise();
            } catch (const PgError& e) {
                failure = e.data->message ? e.data->message : "error";
            } catch (...) {
                failure = "unexpected failure";
            }
            if (failure) {
                AbortCurrentTransaction();
                ereport(WARNING, (errmsg("abx launcher: %s", failure->c_str())));
            }
        }
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                        launcher_naptime_ms(), PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
