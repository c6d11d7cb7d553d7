// Cancellation of long computations. The core never waits on anything, but some loops run as long
// as their input says (10^7 Monte-Carlo draws, 10^8 terms of a closed-form sum, a huge document):
// those call check_interrupt() regularly, so that a query cancel or a backend termination takes
// effect within milliseconds instead of after the loop.
#pragma once
#include "abx/core_only.hpp"

#include <cstddef>

namespace abx {

using InterruptCheck = void (*)();

// Installs the hook that check_interrupt() calls; nullptr removes it. The glue installs one that
// throws a C++ exception when PostgreSQL has a pending interrupt. The hook must throw to stop the
// computation (never longjmp: C++ destructors would be skipped) or return to let it go on.
void set_interrupt_check(InterruptCheck check);

// Calls the installed hook, if any, and lets whatever it throws propagate. Every caller in the core
// is exception-safe at that point: only RAII-owned locals, nothing half-updated outlives the call.
void check_interrupt();

// For tight loops: calls check_interrupt() on every kStride-th tick, so that a cheap iteration
// pays one increment and one branch.
class InterruptPoll {
  public:
    static constexpr std::size_t kStride = 1024;  // a power of two

    void tick() {
        if ((++count_ & (kStride - 1)) == 0) check_interrupt();
    }

  private:
    std::size_t count_ = 0;
};

}  // namespace abx
