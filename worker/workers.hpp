// abx's background workers (docs/operations.md): a launcher that starts one scheduler per database
// with the extension, the schedulers, and what they share in shared memory (which scheduler runs
// where, and the test clock).
#pragma once
#include "pg.hpp"

namespace abx::pg {

// From _PG_init while shared_preload_libraries loads abx: shared memory, the launcher, the hook
// that stops a database's scheduler before DROP DATABASE / DROP EXTENSION.
void register_workers();

// abx.test_clock: the time of the schedulers (and of what their jobs call) when the setting is
// on; nullopt in every other process or when it is off.
std::optional<TimestampTz> scheduler_test_clock();

// Sets the test clock (55000 unless abx.test_clock is on) and wakes every scheduler.
TimestampTz set_test_clock(TimestampTz at);
TimestampTz current_test_clock();

// Waits until the scheduler of this database finished a pass begun after the last test-clock
// change; false after `timeout_ms`.
bool wait_for_scheduler(long timeout_ms);

// A worker's own transaction, with a snapshot for SPI, and its commit (scheduler, SLO watcher).
void begin_worker_transaction();
void commit_worker_transaction();

// When the current transaction commits, the launcher (re)starts this database's scheduler.
void wake_scheduler_at_commit();

}  // namespace abx::pg
