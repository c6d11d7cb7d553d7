#include "denials.hpp"

#include "access.hpp"
#include "audit.hpp"
#include "settings.hpp"
#include "spi.hpp"

#include <cstring>

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void abx_denial_writer_main(Datum arg);
}

namespace abx::pg {
namespace {

constexpr int kSlots = 1024;
constexpr int kBatch = 64;
constexpr int kMaxWriters = 16;  // databases with a writer at once

// One queued denial. Plain bytes: shared memory holds no C++ objects.
struct Slot {
    bool used;
    bool claimed;  // a writer is appending it; freed after its transaction commits
    Oid database;
    std::uint64_t order;
    TimestampTz at;
    char actor[NAMEDATALEN];
    char jwt_subject[128];
    char request_id[128];
    char organization[64];
    char function[64];
    char sqlstate[6];
    char message[512];
    char feature[64];  // a policy denial's feature; empty for a 42501 refusal
    char reason[256];
};

struct Queue {
    LWLock* lock;
    std::uint64_t next_order;
    std::uint64_t dropped;
    Oid writers[kMaxWriters];  // databases whose writer is registered or running
    Slot slots[kSlots];
};

Queue* queue = nullptr;
shmem_request_hook_type previous_request = nullptr;
shmem_startup_hook_type previous_startup = nullptr;

void copy(char* dest, std::size_t size, const std::string& src) {
    std::size_t n = std::min(src.size(), size - 1);
    std::memcpy(dest, src.data(), n);
    dest[n] = '\0';
}

void request_shmem() {
    if (previous_request) previous_request();
    RequestAddinShmemSpace(sizeof(Queue));
    RequestNamedLWLockTranche("abx_denials", 1);
}

void startup_shmem() {
    if (previous_startup) previous_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    queue = (Queue*)ShmemInitStruct("abx denial queue", sizeof(Queue), &found);
    if (!found) {
        std::memset(queue, 0, sizeof(Queue));
        queue->lock = &(GetNamedLWLockTranche("abx_denials"))->lock;
    }
    LWLockRelease(AddinShmemInitLock);
}

// Marks a writer for `db` as wanted; true if none was (the caller registers one).
bool claim_writer(Oid db) {
    for (Oid w : queue->writers)
        if (w == db) return false;
    for (Oid& w : queue->writers)
        if (w == InvalidOid) {
            w = db;
            return true;
        }
    return false;  // every writer slot busy: a running writer's next pass or a later denial
}

void release_writer(Oid db) {
    for (Oid& w : queue->writers)
        if (w == db) w = InvalidOid;
}

bool start_writer(Oid db) {
    BackgroundWorker worker{};
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    std::strcpy(worker.bgw_library_name, "abx");
    std::strcpy(worker.bgw_function_name, "abx_denial_writer_main");
    std::strcpy(worker.bgw_name, "abx denial writer");
    std::strcpy(worker.bgw_type, "abx denial writer");
    worker.bgw_main_arg = ObjectIdGetDatum(db);
    return RegisterDynamicBackgroundWorker(&worker, nullptr);
}

void log_denial(const Denial& d, const char* why) {
    ereport(WARNING, (errmsg("abx: denial of %s not audited (%s): %s", d.function.c_str(), why,
                             d.message.c_str())));
}

}  // namespace

void request_denial_queue() {
    previous_request = shmem_request_hook;
    shmem_request_hook = request_shmem;
    previous_startup = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

void queue_denial(const Denial& d) noexcept {
    try {
        Slot s{};
        s.used = true;
        s.database = MyDatabaseId;
        s.at = abx_now();
        copy(s.actor, sizeof s.actor, calling_role());
        copy(s.jwt_subject, sizeof s.jwt_subject, trusted_jwt_subject().value_or(""));
        copy(s.request_id, sizeof s.request_id, setting_text("request.id").value_or(""));
        copy(s.organization, sizeof s.organization, d.organization.value_or(""));
        copy(s.function, sizeof s.function, d.function);
        copy(s.sqlstate, sizeof s.sqlstate, d.sqlstate);
        copy(s.message, sizeof s.message, d.message);
        copy(s.feature, sizeof s.feature, d.feature.value_or(""));
        copy(s.reason, sizeof s.reason, d.reason.value_or(""));
        pg_guard([&] {
            if (queue == nullptr || IsBackgroundWorker) {
                log_denial(d, "abx is not in shared_preload_libraries");
                return;
            }
            bool stored = false, start = false;
            LWLockAcquire(queue->lock, LW_EXCLUSIVE);
            for (Slot& slot : queue->slots)
                if (!slot.used) {
                    s.order = queue->next_order++;
                    slot = s;
                    stored = true;
                    break;
                }
            if (!stored) queue->dropped++;
            if (stored) start = claim_writer(MyDatabaseId);
            LWLockRelease(queue->lock);
            if (!stored) log_denial(d, "the denial queue is full");
            if (start && !start_writer(MyDatabaseId)) {
                LWLockAcquire(queue->lock, LW_EXCLUSIVE);
                release_writer(MyDatabaseId);
                LWLockRelease(queue->lock);
                ereport(WARNING, (errmsg("abx: no background worker free to audit a denial; it "
                                         "stays queued for the next one"),
                                  errhint("Raise max_worker_processes.")));
            }
        });
    } catch (...) {
        // Auditing a denial must never turn it into another error.
    }
}

namespace {

// Appends `slots` (copies) in one transaction; throws PgError on failure.
void append_batch(const std::vector<Slot>& slots) {
    spi_connect();
    for (const Slot& s : slots) {
        AuditRecord r;
        bool policy = s.feature[0] != '\0';
        r.action = policy ? "policy.deny" : s.function;
        r.target = "function:" + std::string(s.function);
        r.change = {{"message", s.message},
                    {"organization",
                     s.organization[0] ? nlohmann::json(s.organization) : nlohmann::json(nullptr)}};
        if (policy) r.change.update({{"feature", s.feature}, {"reason", s.reason}});
        AuditRecord::Refusal refusal;
        refusal.actor = s.actor;
        if (s.jwt_subject[0]) refusal.jwt_subject = s.jwt_subject;
        if (s.request_id[0]) refusal.request_id = s.request_id;
        refusal.error_code = policy ? "policy" : s.sqlstate;
        refusal.at = s.at;
        r.refused = refusal;
        append_audit(r);
    }
    spi_finish();
}

// Claims up to kBatch queued denials of `db`, oldest first; none left: the writer is released.
std::vector<Slot> claim_batch(Oid db, std::vector<int>& indexes) {
    std::vector<Slot> batch;
    LWLockAcquire(queue->lock, LW_EXCLUSIVE);
    while ((int)batch.size() < kBatch) {
        int oldest = -1;
        for (int i = 0; i < kSlots; ++i) {
            const Slot& s = queue->slots[i];
            if (s.used && !s.claimed && s.database == db &&
                (oldest < 0 || s.order < queue->slots[oldest].order))
                oldest = i;
        }
        if (oldest < 0) break;
        queue->slots[oldest].claimed = true;
        indexes.push_back(oldest);
        batch.push_back(queue->slots[oldest]);
    }
    if (batch.empty()) release_writer(db);
    LWLockRelease(queue->lock);
    return batch;
}

void free_slots(const std::vector<int>& indexes) {
    LWLockAcquire(queue->lock, LW_EXCLUSIVE);
    for (int i : indexes) queue->slots[i] = Slot{};
    LWLockRelease(queue->lock);
}

// On any exit of the writer (an error included): its unwritten claims go back to the queue, and
// the next denial starts a new writer.
void release_claims(int, Datum arg) {
    Oid db = DatumGetObjectId(arg);
    LWLockAcquire(queue->lock, LW_EXCLUSIVE);
    for (Slot& s : queue->slots)
        if (s.used && s.claimed && s.database == db) s.claimed = false;
    release_writer(db);
    LWLockRelease(queue->lock);
}

}  // namespace
}  // namespace abx::pg

// The writer: connects to the database of the denials, appends them batch by batch, and exits
// when none is left. A failed batch stays queued (the next denial starts a new writer).
// One batch: claimed, appended in a transaction of its own, freed. Returns false when the queue
// had nothing left for this database; a failure is returned as its message (the exit callback
// puts the batch back).
namespace abx::pg {
namespace {
bool drain_once(Oid db, std::optional<std::string>& failure) {
    std::vector<int> indexes;
    std::vector<Slot> batch = claim_batch(db, indexes);
    if (batch.empty()) return false;
    try {
        pg_guard([] {
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        append_batch(batch);
        pg_guard([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
        free_slots(indexes);
    } catch (const PgError& e) {
        failure = e.data->message ? e.data->message : "error";
    } catch (...) {
        failure = "unexpected failure";
    }
    return true;
}
}  // namespace
}  // namespace abx::pg

void abx_denial_writer_main(Datum arg) {
    using namespace abx::pg;
    Oid db = DatumGetObjectId(arg);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    before_shmem_exit(release_claims, arg);
    BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
    pgstat_report_appname("abx denial writer");
    for (;;) {
        static char message[512];
        message[0] = '\0';
        bool more = false;
        {
            std::optional<std::string> failure;
            more = drain_once(db, failure);
            if (failure) snprintf(message, sizeof message, "%s", failure->c_str());
        }
        // Raised here, with no C++ object alive.
        if (message[0] != '\0') elog(ERROR, "abx denial writer: %s", message);
        if (!more) break;
    }
    proc_exit(0);
}
