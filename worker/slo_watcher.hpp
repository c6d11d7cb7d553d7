// The SLO watcher (docs/operations.md, "SLO watcher"): a background worker per database that
// queries Prometheus for every watched experiment (seed 000's prometheus source) on its own
// interval, all due experiments at once with bounded timeouts, and records each check with
// abx.slo_record. It runs beside the scheduler, so a slow or silent Prometheus never holds up a
// job.
#pragma once
#include "pg.hpp"

namespace abx::pg {

// From the scheduler's loop (outside a transaction): starts this database's watcher when an
// experiment is watched and none runs. The watcher exits by itself when none is watched.
void ensure_slo_watcher();

}  // namespace abx::pg
