#include "registry.hpp"

#include "settings.hpp"
#include "workers.hpp"

#include <csignal>

extern "C" {
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/timestamp.h"
}

namespace abx::pg {

bool am_scheduler = false;

namespace {

WorkerShared* shared = nullptr;
shmem_request_hook_type previous_request = nullptr;
shmem_startup_hook_type previous_startup = nullptr;
ProcessUtility_hook_type previous_utility = nullptr;
bool wake_registered = false;
Oid wake_database = InvalidOid;

void request_shmem() {
    if (previous_request) previous_request();
    RequestAddinShmemSpace(sizeof(WorkerShared));
    RequestNamedLWLockTranche("abx_workers", 1);
}

void startup_shmem() {
    if (previous_startup) previous_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    shared = (WorkerShared*)ShmemInitStruct("abx workers", sizeof(WorkerShared), &found);
    if (!found) {
        memset(shared, 0, sizeof(WorkerShared));
        shared->lock = &(GetNamedLWLockTranche("abx_workers"))->lock;
        pg_atomic_init_u64(&shared->test_clock, (std::uint64_t)GetCurrentTimestamp());
        pg_atomic_init_u64(&shared->clock_generation, 1);
    }
    LWLockRelease(AddinShmemInitLock);
}

void wake_schedulers() {
    LWLockAcquire(shared->lock, LW_SHARED);
    for (SchedulerSlot& s : shared->slots)
        if (s.pid != 0 && s.latch != nullptr) SetLatch(s.latch);
    LWLockRelease(shared->lock);
}

void on_commit_wake(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT) wake_database = InvalidOid;
    if (event != XACT_EVENT_COMMIT || !OidIsValid(wake_database) || shared == nullptr) return;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(wake_database, true)) {
        s->absent_since = 0;
        s->stopping = false;
        s->requested_at = 0;
        if (s->pid != 0 && s->latch != nullptr) SetLatch(s->latch);
    }
    LWLockRelease(shared->lock);
    wake_database = InvalidOid;
    wake_launcher();
}

// Stops the scheduler of `database` (it exits at its next interrupt check) and waits for it, so
// that DROP DATABASE finds no other session and DROP EXTENSION no running job.
void stop_scheduler(Oid database) {
    if (shared == nullptr || !OidIsValid(database)) return;
    pid_t pid = 0;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(database, true)) {
        s->stopping = true;
        pid = s->pid;
    }
    LWLockRelease(shared->lock);
    if (pid == 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; ++i) {  // at most 10 s
        bool gone = true;
        LWLockAcquire(shared->lock, LW_SHARED);
        if (SchedulerSlot* s = find_slot(database, false)) gone = s->pid != pid;
        LWLockRelease(shared->lock);
        if (gone) return;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

bool drops_abx(DropStmt* stmt) {
    if (stmt->removeType != OBJECT_EXTENSION) return false;
    ListCell* cell;
    foreach (cell, stmt->objects)
        if (strcmp(strVal(lfirst(cell)), "abx") == 0) return true;
    return false;
}

// A stop left behind by a DROP that failed or rolled back is undone (the launcher restarts the
// scheduler); after a DROP EXTENSION that committed, the scheduler finds no abx and exits.
void clear_stop(Oid database) {
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (SchedulerSlot* s = find_slot(database, false)) s->stopping = false;
    LWLockRelease(shared->lock);
    wake_launcher();
}

Oid stopped_for_extension = InvalidOid;
bool stop_callback_registered = false;

void on_drop_extension_end(XactEvent event, void*) {
    if ((event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT) ||
        !OidIsValid(stopped_for_extension) || shared == nullptr)
        return;
    clear_stop(stopped_for_extension);
    stopped_for_extension = InvalidOid;
}

void utility_hook(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                  ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                  DestReceiver* dest, QueryCompletion* qc) {
    Node* node = pstmt->utilityStmt;
    volatile Oid stopped = InvalidOid;
    // Only for whoever may drop it: anyone else's DROP fails anyway, and must not stop the
    // scheduler on its way.
    if (IsA(node, DropdbStmt)) {
        Oid db = get_database_oid(((DropdbStmt*)node)->dbname, true);
        if (OidIsValid(db) && pg_database_ownercheck(db, GetUserId())) stopped = db;
    } else if (IsA(node, DropStmt) && drops_abx((DropStmt*)node)) {
        Oid ext = get_extension_oid("abx", true);
        if (OidIsValid(ext) && pg_extension_ownercheck(ext, GetUserId())) stopped = MyDatabaseId;
    }
    if (OidIsValid(stopped)) {
        stop_scheduler(stopped);
        if (IsA(node, DropStmt)) {
            if (!stop_callback_registered) {
                RegisterXactCallback(on_drop_extension_end, nullptr);
                stop_callback_registered = true;
            }
            stopped_for_extension = stopped;
        }
    }
    PG_TRY();
    {
        if (previous_utility)
            previous_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
        else
            standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    }
    PG_CATCH();
    {
        if (OidIsValid(stopped) && IsA(node, DropdbStmt)) clear_stop(stopped);
        PG_RE_THROW();
    }
    PG_END_TRY();
}

}  // namespace

WorkerShared* worker_shared() {
    return shared;
}

SchedulerSlot* find_slot(Oid database, bool create) {
    SchedulerSlot* free_slot = nullptr;
    for (SchedulerSlot& s : shared->slots) {
        if (s.database == database) return &s;
        if (free_slot == nullptr && s.database == InvalidOid) free_slot = &s;
    }
    if (!create || free_slot == nullptr) return nullptr;
    memset(free_slot, 0, sizeof(SchedulerSlot));
    free_slot->database = database;
    return free_slot;
}

void wake_launcher() {
    if (shared == nullptr) return;
    LWLockAcquire(shared->lock, LW_SHARED);
    if (shared->launcher_latch != nullptr) SetLatch(shared->launcher_latch);
    LWLockRelease(shared->lock);
}

void register_worker_shmem() {
    previous_request = shmem_request_hook;
    shmem_request_hook = request_shmem;
    previous_startup = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
    previous_utility = ProcessUtility_hook;
    ProcessUtility_hook = utility_hook;
}

std::optional<TimestampTz> scheduler_test_clock() {
    if (!am_scheduler || shared == nullptr || !test_clock_enabled()) return std::nullopt;
    return (TimestampTz)pg_atomic_read_u64(&shared->test_clock);
}

TimestampTz current_test_clock() {
    if (shared == nullptr || !test_clock_enabled())
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "the test clock is off (abx.test_clock = off, or abx is not preloaded)", "",
                    "abx.test_clock is a server setting for test clusters only");
    return (TimestampTz)pg_atomic_read_u64(&shared->test_clock);
}

TimestampTz set_test_clock(TimestampTz at) {
    current_test_clock();  // refuses when off
    pg_guard([&] {
        pg_atomic_write_u64(&shared->test_clock, (std::uint64_t)at);
        pg_atomic_fetch_add_u64(&shared->clock_generation, 1);
        wake_schedulers();
    });
    return at;
}

bool wait_for_scheduler(long timeout_ms) {
    if (shared == nullptr) return false;
    return pg_call([&] {
        std::uint64_t target = pg_atomic_add_fetch_u64(&shared->clock_generation, 1);
        wake_schedulers();
        TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
        for (;;) {
            bool settled = false;
            LWLockAcquire(shared->lock, LW_SHARED);
            if (SchedulerSlot* s = find_slot(MyDatabaseId, false))
                settled = s->settled_generation >= target;
            LWLockRelease(shared->lock);
            if (settled) return true;
            if (GetCurrentTimestamp() >= deadline) return false;
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                            PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            CHECK_FOR_INTERRUPTS();
        }
    });
}

void wake_scheduler_at_commit() {
    pg_guard([] {
        if (!wake_registered) {
            RegisterXactCallback(on_commit_wake, nullptr);
            wake_registered = true;
        }
        wake_database = MyDatabaseId;
    });
}

}  // namespace abx::pg
