#include "abx/interrupt.hpp"

#include <atomic>

namespace abx {

namespace {
// Atomic only so that tests or a threaded caller cannot race on it; a backend has one thread.
std::atomic<InterruptCheck> g_check{nullptr};
}  // namespace

void set_interrupt_check(InterruptCheck check) {
    g_check.store(check, std::memory_order_relaxed);
}

void check_interrupt() {
    if (InterruptCheck check = g_check.load(std::memory_order_relaxed)) check();
}

}  // namespace abx
