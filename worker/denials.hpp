// Refused calls (42501) in the audit log, although the refused transaction rolls back
// (docs/security.md, "Denied actions"): the refusing backend queues the denial in shared memory,
// and a background worker of that database appends it to the chain in a transaction of its own.
#pragma once
#include "pg.hpp"

namespace abx::pg {

struct Denial {
    std::string function;  // abx.track, abx.results, ...
    std::string message;
    std::string sqlstate;
    std::optional<std::string> organization;  // the organization the call or session named
    // A refusal of the autonomy gate (seed 000): audited as policy.deny with error code policy,
    // like the jobs' policy denials, with the gated feature and why.
    std::optional<std::string> feature, reason;
};

// Queues a denial; never throws. Without the queue (abx not in shared_preload_libraries) or when
// it is full, the denial is written to the server log instead.
void queue_denial(const Denial& denial) noexcept;

// From _PG_init while shared_preload_libraries loads abx: reserves the queue's shared memory.
void request_denial_queue();

}  // namespace abx::pg
