// What the SQL of the HTTP routes (abx.http_*, docs/sql-api.md "HTTP routes") needs from the
// glue: a constant statement run as the extension's owner after an internal-token check
// (abx.as_owner), a refusal whose audit entry outlives the refused transaction (abx.refuse), and
// a winner evaluation under a request's overrides (abx.evaluate_winner_with).
#include "access.hpp"
#include "analysis_input.hpp"
#include "denials.hpp"

extern "C" {
#include "miscadmin.h"
}

using namespace abx;
using namespace abx::pg;

// abx.as_owner(command) -> jsonb: the first column of the first row of `command`, run with every
// gate seeing the extension's owner without an organization (as the scheduler's built-in jobs
// run). Granted to no one: only the owner's SECURITY DEFINER functions reach it, and they pass
// constant statements once the internal token checked out.
ABX_SQL_FUNCTION(abx_as_owner) {
    std::string command = arg_text(fcinfo, 0, "command");
    Oid owner = pg_call([] { return GetUserId(); });  // the boundary acts as this function's owner
    ActingAsOwner acting(owner);
    MemoryContext caller = CurrentMemoryContext;
    const char* sql = command.c_str();
    char* out = pg_call([&]() -> char* {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "abx: SPI_connect failed");
        int rc = SPI_execute(sql, false, 1);
        if (rc < 0) elog(ERROR, "abx: abx.as_owner's command failed (%s)", SPI_result_code_string(rc));
        char* value = nullptr;
        if (SPI_tuptable != nullptr && SPI_processed > 0 && SPI_tuptable->tupdesc->natts > 0) {
            char* v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
            if (v != nullptr) value = MemoryContextStrdup(caller, v);
        }
        SPI_finish();
        return value;
    });
    if (out == nullptr) PG_RETURN_NULL();
    return jsonb_datum_from_text(out);
}

// abx.refuse(function_name, message, organization, feature, reason): refuses the call with 42501
// after queueing its audit entry, which the denial writer appends although the refused
// transaction rolls back. With a feature, the entry is a policy denial (action policy.deny, error
// code policy) like the jobs' ones. Granted to no one (abx's SQL functions call it).
ABX_SQL_FUNCTION(abx_refuse) {
    Denial d;
    d.function = arg_text(fcinfo, 0, "function_name");
    d.message = arg_text(fcinfo, 1, "message");
    d.sqlstate = sqlstate::kInsufficientPrivilege;
    d.organization = arg_text_opt(fcinfo, 2);
    d.feature = arg_text_opt(fcinfo, 3);
    d.reason = arg_text_opt(fcinfo, 4);
    queue_denial(d);
    throw Error(sqlstate::kInsufficientPrivilege, d.message);
}

// abx.evaluate_winner_with(experiment, policy, organization): abx.evaluate_winner under the
// experiment's winner policy overlaid with `policy` (seed 001's per-request thresholds), checked
// like a winner_policy document. No side effect.
ABX_SQL_FUNCTION(abx_evaluate_winner_with) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    if (PG_ARGISNULL(1)) null_field("policy");
    nlohmann::json overlay = arg_jsonb(fcinfo, 1);
    if (!overlay.is_object()) wrong_type("policy", "must be a JSON object");
    Access access =
        authorize(Right::ExperimentsRead, "abx.evaluate_winner_with", arg_text_opt(fcinfo, 2));
    spi_connect();
    AnalysisInput in = load_analysis_input(code, access.organization, true);
    nlohmann::json& policy = in.experiment.spec.winner_policy;
    if (!policy.is_object()) policy = nlohmann::json::object();
    policy.update(overlay);
    analysis::WinnerEvaluation evaluation = evaluate_winner_now(in);
    spi_finish();
    return jsonb_datum(evaluation.to_json());
}
