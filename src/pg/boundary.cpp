// The error boundary between C++ exceptions and PostgreSQL's ereport/longjmp (ARCHITECTURE.md).
#include "pg.hpp"

#include <cstring>
#include <new>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

#include <unordered_map>

namespace abx::pg {
namespace {

// Texts of an abx::Error are copied here inside the catch block: fixed buffers, so nothing can
// fail (or longjmp) while the exception is still alive. A backend runs one function at a time.
struct PendingError {
    char sqlstate[6];
    char message[2048];
    char detail[2048];
    char hint[1024];
};
PendingError pending;

void copy_text(char* dest, std::size_t size, const char* src) {
    std::size_t n = std::strlen(src);
    if (n >= size) n = size - 1;
    std::memcpy(dest, src, n);
    dest[n] = '\0';
}

void stash(const char* sqlstate, const char* message, const char* detail, const char* hint) {
    copy_text(pending.sqlstate, sizeof pending.sqlstate,
              std::strlen(sqlstate) == 5 ? sqlstate : "XX000");
    copy_text(pending.message, sizeof pending.message, message);
    copy_text(pending.detail, sizeof pending.detail, detail);
    copy_text(pending.hint, sizeof pending.hint, hint);
}

[[noreturn]] void raise_pending() {
    const char* s = pending.sqlstate;
    int code = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
    ereport(ERROR, (errcode(code), errmsg("%s", pending.message),
                    pending.detail[0] ? errdetail("%s", pending.detail) : 0,
                    pending.hint[0] ? errhint("%s", pending.hint) : 0));
    pg_unreachable();
}

// The owner of each abx function (the extension's owner), which the function acts as.
std::unordered_map<Oid, Oid> owners;

void forget_owners(Datum, int, uint32) {
    owners.clear();
}

Oid owner_of(Oid function) {
    if (auto it = owners.find(function); it != owners.end()) return it->second;
    static bool registered = false;
    Oid owner = pg_call([&] {
        if (!registered) {
            CacheRegisterSyscacheCallback(PROCOID, forget_owners, (Datum)0);
            registered = true;
        }
        HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
        if (!HeapTupleIsValid(tuple))
            elog(ERROR, "abx: cache lookup failed for function %u", function);
        Oid o = ((Form_pg_proc)GETSTRUCT(tuple))->proowner;
        ReleaseSysCache(tuple);
        return o;
    });
    owners.emplace(function, owner);
    return owner;
}

}  // namespace

void throw_if_interrupted() {
    if (likely(!InterruptPending)) return;
    // Served here, as any CHECK_FOR_INTERRUPTS would: a benign interrupt (the idle-stats flush
    // timer, a ProcSignal barrier, a memory-context log request) is handled and the computation
    // goes on; a cancel raises and arrives as PgError. Unwinding first on every interrupt turned
    // benign ones into a spurious 57014. Only what cannot be served now (held off) unwinds.
    if (INTERRUPTS_CAN_BE_PROCESSED()) pg_guard([] { ProcessInterrupts(); });
    if (InterruptPending) throw Interrupted{};
}

Datum call_guarded(FunctionCallInfo fcinfo, Datum (*impl)(FunctionCallInfo)) {
    enum class Failure { None, Abx, Postgres, Interrupt } failure = Failure::None;
    ErrorData* postgres_error = nullptr;
    Datum result = 0;
    // Every abx function acts as its owner, as SECURITY DEFINER would (abx's tables are closed to
    // everyone else), after its gate has checked the caller (GetOuterUserId, unaffected). Switched
    // here rather than by fmgr's SECURITY DEFINER wrapper, which looked the function up in the
    // catalog on every execution (docs/security.md, docs/benchmarks.md).
    Oid caller = InvalidOid;
    int caller_context = 0;
    GetUserIdAndSecContext(&caller, &caller_context);
    try {
        SetUserIdAndSecContext(owner_of(fcinfo->flinfo->fn_oid),
                               caller_context | SECURITY_LOCAL_USERID_CHANGE);
        result = impl(fcinfo);
    } catch (const PgError& e) {
        postgres_error = e.data;
        failure = Failure::Postgres;
    } catch (const Interrupted&) {
        failure = Failure::Interrupt;
    } catch (const abx::Error& e) {
        stash(e.sqlstate.c_str(), e.what(), e.detail.c_str(), e.hint.c_str());
        failure = Failure::Abx;
    } catch (const std::bad_alloc&) {
        stash(sqlstate::kOutOfMemory, "out of memory in abx", "", "");
        failure = Failure::Abx;
    } catch (const nlohmann::json::exception& e) {
        stash(sqlstate::kInvalidTextRepresentation, e.what(), "", "");
        failure = Failure::Abx;
    } catch (const std::exception& e) {
        stash(sqlstate::kInternalError, e.what(), "", "");
        failure = Failure::Abx;
    } catch (...) {
        stash(sqlstate::kInternalError, "unknown C++ exception in abx", "", "");
        failure = Failure::Abx;
    }
    SetUserIdAndSecContext(caller, caller_context);
    // Every C++ frame below us is gone now; raising is safe.
    if (failure == Failure::Postgres) ReThrowError(postgres_error);
    if (failure == Failure::Interrupt) {
        CHECK_FOR_INTERRUPTS();
        // Interrupts were held off (nothing was raised): still stop, with the cancel SQLSTATE.
        stash("57014", "canceling abx computation: an interrupt is pending", "", "");
        raise_pending();
    }
    if (failure == Failure::Abx) raise_pending();
    return result;
}

}  // namespace abx::pg
