// The PostgreSQL side of abx. PostgreSQL headers are C and longjmp-based; this header is the single
// place that pulls them into C++ and defines how errors cross between the two worlds.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "abx/error.hpp"

namespace abx::pg {

// A PostgreSQL error caught by pg_guard and carried through C++ frames as an exception; the
// function wrapper re-raises it unchanged (SQLSTATE, message, detail, hint, context).
struct PgError {
    ErrorData* data;
};

// Thrown by throw_if_interrupted when PostgreSQL has an interrupt pending that cannot be served
// where it was noticed (interrupts held off): C++ frames unwind, then the boundary lets
// PostgreSQL serve it. Interrupts that can be served are served on the spot (a cancel then
// arrives as PgError).
struct Interrupted {};

// The core's interrupt hook (abx/interrupt.hpp): reads PostgreSQL's flag, never longjmps.
void throw_if_interrupted();

// Runs `body`, which may call PostgreSQL functions that ereport. `body` must hold no object with a
// destructor of its own (call it with a lambda that only touches PostgreSQL and plain values): an
// error longjmps out of it. The error is turned into PgError after PG_TRY has been left, so C++
// unwinding never crosses PostgreSQL's longjmp frames.
template <class Body>
void pg_guard(Body&& body) {
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile caught = nullptr;
    PG_TRY();
    { body(); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        caught = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (caught != nullptr) throw PgError{caught};
}

// Same, returning the body's (trivially destructible) result.
template <class Body>
auto pg_call(Body&& body) -> decltype(body()) {
    using Result = decltype(body());
    static_assert(std::is_trivially_destructible_v<Result>, "pg_call returns plain values only");
    Result result{};
    pg_guard([&] { result = body(); });
    return result;
}

// The single crossing from C++ back to PostgreSQL: runs impl inside try, converts whatever it
// throws into a pending error, leaves the catch block, and only then raises it with ereport.
Datum call_guarded(FunctionCallInfo fcinfo, Datum (*impl)(FunctionCallInfo));

}  // namespace abx::pg

// Declares a SQL-callable function `name` whose body runs inside the error boundary. Usage:
//   ABX_SQL_FUNCTION(abx_assign) { ... return datum; }
// The body receives `fcinfo` like any V1 function.
#define ABX_SQL_FUNCTION(name)                             \
    static Datum name##_body(FunctionCallInfo fcinfo);     \
    extern "C" {                                           \
    PG_FUNCTION_INFO_V1(name);                             \
    Datum name(PG_FUNCTION_ARGS) {                         \
        return abx::pg::call_guarded(fcinfo, name##_body); \
    }                                                      \
    }                                                      \
    static Datum name##_body(FunctionCallInfo fcinfo)
