// The shared memory the launcher, the schedulers and ordinary backends meet in (registry.cpp).
#pragma once
#include "pg.hpp"

extern "C" {
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
}

namespace abx::pg {

constexpr int kMaxSchedulers = 64;

struct SchedulerSlot {
    Oid database;                      // InvalidOid: a free slot
    pid_t pid;                         // the running scheduler, 0 when none
    Latch* latch;                      // its latch (shared memory)
    TimestampTz requested_at;          // the launcher registered one that has not started yet
    TimestampTz absent_since;          // no abx (or no jobs table) there: not restarted until woken
    bool stopping;                     // DROP DATABASE / DROP EXTENSION under way: not restarted
    std::uint64_t settled_generation;  // the clock generation its last finished pass began at
};

struct WorkerShared {
    LWLock* lock;
    pid_t launcher_pid;
    Latch* launcher_latch;
    pg_atomic_uint64 test_clock;        // TimestampTz of the schedulers under abx.test_clock
    pg_atomic_uint64 clock_generation;  // bumped by every test-clock change and wait request
    SchedulerSlot slots[kMaxSchedulers];
};

// nullptr unless abx was preloaded.
WorkerShared* worker_shared();

// The slot of `database` (allocating one when `create`), under the caller's exclusive lock.
SchedulerSlot* find_slot(Oid database, bool create);

void wake_launcher();

// Installs the shared-memory hooks and the utility hook (register_workers calls it).
void register_worker_shmem();

// True in the scheduler processes (abx.now() reads the test clock there).
extern bool am_scheduler;

}  // namespace abx::pg
