#include "abx/interrupt.hpp"

namespace abx {
namespace {
InterruptCheck hook = nullptr;
}
void set_interrupt_check(InterruptCheck check) {
    hook = check;
}
void check_interrupt() {
    if (hook) hook();
}
}  // namespace abx
