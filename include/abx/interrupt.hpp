// Long loops of the core call check_interrupt() so that the host (PostgreSQL's statement_timeout
// and cancel) can stop them: the installed hook throws to unwind the core.
#pragma once
#include "abx/core_only.hpp"

namespace abx {
using InterruptCheck = void (*)();
void set_interrupt_check(InterruptCheck check);
void check_interrupt();
}  // namespace abx
