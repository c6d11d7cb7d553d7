// SQL API of jobs: abx.add_job, abx.alter_job, abx.run_job, abx.prune_job_runs, and the test clock
// (docs/operations.md). The scheduler (worker/scheduler.cpp) runs them on their schedule.
#include "jobs.hpp"

#include "access.hpp"
#include "jsonb_reader.hpp"
#include "store.hpp"
#include "workers.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/timeout.h"
}

namespace abx::pg {

const char* const kJobColumns =
    "id, name, command, owner::text, organization, "
    "(extract(epoch FROM schedule_interval) * 1000000)::int8, cron, "
    "(extract(epoch FROM max_runtime) * 1000)::int8, max_retries, "
    "(extract(epoch FROM retry_backoff) * 1000000)::int8, slot, attempt";

JobRow read_job(std::uint64_t row) {
    JobRow j;
    j.id = *col_int64(row, 1);
    j.name = *col_text(row, 2);
    j.command = *col_text(row, 3);
    j.owner = *col_text(row, 4);
    j.organization = col_text(row, 5);
    if (std::optional<std::int64_t> interval = col_int64(row, 6))
        j.schedule.interval_us = *interval;
    if (std::optional<std::string> cron = col_text(row, 7)) j.schedule.cron = Cron::parse(*cron);
    j.max_runtime_ms = (long)*col_int64(row, 8);
    j.max_retries = (int)*col_int64(row, 9);
    j.backoff_us = *col_int64(row, 10);
    j.slot = *col_timestamptz(row, 11);
    j.attempt = (int)*col_int64(row, 12);
    return j;
}

TimestampTz next_slot_after(const JobRow& job, TimestampTz now) {
    return from_unix_micros(next_slot(job.schedule, to_unix_micros(job.slot), to_unix_micros(now)));
}

namespace {

Statement set_setting("SELECT pg_catalog.set_config($1, $2, true)", {TEXTOID, TEXTOID});

void set_local(const char* name, const std::string& value) {
    Args args(2);
    args.set(0, text_datum(name)).set(1, text_datum(value));
    set_setting.run(args.values(), args.nulls(), false);
}

// The command in an SPI connection of its own (no pinned search path: the owner's names).
std::optional<std::string> run_command(const std::string& text, long timeout_ms) {
    const char* command = text.c_str();
    char* first = nullptr;
    TimestampTz started = pg_call([] { return GetCurrentTimestamp(); });
    // A statement_timeout already armed (a person's session running abx.run_job) comes back after.
    std::optional<TimestampTz> outer_timeout = pg_call([]() -> std::optional<TimestampTz> {
        if (!get_timeout_active(STATEMENT_TIMEOUT)) return std::nullopt;
        return get_timeout_finish_time(STATEMENT_TIMEOUT);
    });
    auto restore_outer = [&] {
        if (outer_timeout && *outer_timeout > GetCurrentTimestamp())
            enable_timeout_at(STATEMENT_TIMEOUT, *outer_timeout);
    };
    try {
        first = pg_call([&]() -> char* {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "abx: SPI_connect failed");
            enable_timeout_after(STATEMENT_TIMEOUT, (int)timeout_ms);
            int rc = SPI_execute(command, false, 0);
            disable_timeout(STATEMENT_TIMEOUT, false);
            restore_outer();
            if (rc < 0)
                elog(ERROR, "abx: the job's command failed (%s)", SPI_result_code_string(rc));
            char* out = nullptr;
            if (SPI_tuptable != nullptr && SPI_processed > 0 && SPI_tuptable->tupdesc->natts > 0) {
                char* value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
                if (value != nullptr) out = MemoryContextStrdup(TopTransactionContext, value);
            }
            SPI_finish();
            return out;
        });
    } catch (const PgError& e) {
        // A cancel once the max runtime is up is our own timeout (the job overstayed), not
        // someone's cancel, which stays a cancel and is never swallowed.
        bool overstayed = pg_call([&] {
            disable_timeout(STATEMENT_TIMEOUT, false);
            restore_outer();
            return TimestampDifferenceExceeds(started, GetCurrentTimestamp(), (int)timeout_ms);
        });
        if (overstayed && e.data->sqlerrcode == ERRCODE_QUERY_CANCELED)
            throw Error("57014", "the job overstayed its max_runtime of " +
                                     std::to_string(timeout_ms) + " ms and was cancelled");
        throw;
    } catch (...) {
        pg_guard([&] {
            disable_timeout(STATEMENT_TIMEOUT, false);
            restore_outer();
        });
        throw;
    }
    if (first == nullptr) return std::nullopt;
    return std::string(first).substr(0, 1000);
}

}  // namespace

std::optional<std::string> execute_job_as_owner(const JobRow& job) {
    // SET LOCAL ROLE makes the owner the current role the gate of abx's functions checks. The
    // command then runs confined: as the owner with SECURITY_LOCAL_USERID_CHANGE (no SET ROLE or
    // RESET ROLE back to the scheduler's superuser session) and in a GUC nest level that is
    // rolled back afterwards (no SET leaks into the next job).
    Oid owner = pg_call([&] { return get_role_oid(job.owner.c_str(), false); });
    spi_connect();
    set_local("role", job.owner);
    set_local("abx.organization", job.organization.value_or(""));
    spi_finish();
    Oid session_user = InvalidOid;
    int context = 0;
    int nest = pg_call([&] {
        GetUserIdAndSecContext(&session_user, &context);
        int level = NewGUCNestLevel();
        SetUserIdAndSecContext(owner, context | SECURITY_LOCAL_USERID_CHANGE);
        return level;
    });
    std::optional<std::string> result;
    try {
        result = run_command(job.command, job.max_runtime_ms);
    } catch (...) {
        pg_guard([&] {
            SetUserIdAndSecContext(session_user, context);
            AtEOXact_GUC(false, nest);
        });
        throw;
    }
    pg_guard([&] {
        SetUserIdAndSecContext(session_user, context);
        AtEOXact_GUC(false, nest);
    });
    spi_connect();
    set_local("role", "none");
    set_local("abx.organization", "");
    spi_finish();
    return result;
}

}  // namespace abx::pg

// ---------------------------------------------------------------------------------------------
// SQL functions
// ---------------------------------------------------------------------------------------------
#include "abx/audit.hpp"
#include "abx/event_input.hpp"
#include "audit.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/timestamp.h"
}

using namespace abx;
using namespace abx::pg;

namespace {

std::int64_t interval_us(Datum d) {
    const Interval* i = DatumGetIntervalP(d);
    return i->time + (std::int64_t)i->day * USECS_PER_DAY +
           (std::int64_t)i->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

const std::string kJobById = std::string("SELECT ") + kJobColumns + " FROM abx.jobs WHERE id = $1";
const std::string kJobByName =
    std::string("SELECT ") + kJobColumns + " FROM abx.jobs WHERE name = $1 FOR UPDATE";
Statement job_by_name(kJobByName, {TEXTOID});
Statement job_document(R"SQL(
SELECT jsonb_build_object('name', name, 'command', command, 'schedule', schedule_interval::text,
                          'cron', cron, 'config', config, 'enabled', enabled, 'owner', owner,
                          'organization', organization, 'max_runtime', max_runtime::text,
                          'max_retries', max_retries, 'retry_backoff', retry_backoff::text,
                          'next_run_at', next_run_at, 'slot', slot, 'attempt', attempt,
                          'builtin', builtin)
  FROM abx.jobs WHERE id = $1)SQL",
                       {INT8OID});

JobRow load_job(const std::string& name) {
    Args a(1);
    a.set(0, text_datum(name));
    if (job_by_name.run(a.values(), a.nulls(), false, 1) == 0)
        throw Error(sqlstate::kNoDataFound, "job \"" + name + "\" does not exist");
    return read_job(0);
}

// Every value a job may hold, checked (22023 naming the field).
void validate(const JobRow& j) {
    validate_job_name(j.name);
    if (j.command.find_first_not_of(" \t\r\n") == std::string::npos)
        invalid_field("command", "must not be empty");
    if (!j.schedule.cron) validate_job_interval(j.schedule.interval_us, "schedule");
    validate_job_interval((std::int64_t)j.max_runtime_ms * 1000, "max_runtime");
    if (j.max_runtime_ms > 24L * 24 * 3600 * 1000)  // the timer counts int milliseconds
        invalid_field("max_runtime", "must be at most 24 days");
    if (j.max_retries < 0 || j.max_retries > 100)
        invalid_field("max_retries", "must be between 0 and 100");
    validate_job_interval(j.backoff_us, "retry_backoff");
}

Datum document_of(std::int64_t id) {
    Args a(1);
    a.set(0, Int64GetDatum(id));
    job_document.run(a.values(), a.nulls(), false, 1);
    return *col_datum_out(0, 1);
}

void audit_job(const std::string& action, std::int64_t id, nlohmann::json change) {
    AuditRecord r;
    r.action = action;
    r.target = "job:" + std::to_string(id);
    r.change = std::move(change);
    append_audit(r);
}

// The first slot of a schedule from `now`.
TimestampTz first_slot(const Schedule& s, TimestampTz now) {
    std::int64_t n = to_unix_micros(now);
    return from_unix_micros(s.cron ? s.cron->next_after(n) : n + s.interval_us);
}

Statement insert_job(R"SQL(
INSERT INTO abx.jobs (name, command, schedule_interval, cron, config, enabled, owner, organization,
                      max_runtime, max_retries, retry_backoff, slot, next_run_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id)SQL",
                     {TEXTOID, TEXTOID, INTERVALOID, TEXTOID, JSONBOID, BOOLOID, NAMEOID, TEXTOID,
                      INTERVALOID, INT4OID, INTERVALOID, TIMESTAMPTZOID, TIMESTAMPTZOID});

}  // namespace

ABX_SQL_FUNCTION(abx_add_job) {
    require_platform(Right::ExperimentsAdmin, "abx.add_job");
    // The scheduler may be asleep for up to 10 s with its next job far away: wake it when this
    // commits, so a new job that is due soon runs on time.
    wake_scheduler_at_commit();
    JobRow j;
    j.name = arg_text(fcinfo, 0, "name");
    j.command = arg_text(fcinfo, 1, "command");
    if (PG_ARGISNULL(2) == PG_ARGISNULL(3))
        invalid_field("schedule", "give either an interval (schedule) or a cron expression");
    if (!PG_ARGISNULL(2)) j.schedule.interval_us = interval_us(PG_GETARG_DATUM(2));
    if (!PG_ARGISNULL(3)) j.schedule.cron = Cron::parse(arg_text(fcinfo, 3, "cron"));
    nlohmann::json config = PG_ARGISNULL(4) ? nlohmann::json::object() : arg_jsonb(fcinfo, 4);
    if (!config.is_object()) wrong_type("config", "must be a JSON object");
    if (PG_ARGISNULL(5)) null_field("max_runtime");
    j.max_runtime_ms = (long)(interval_us(PG_GETARG_DATUM(5)) / 1000);
    if (PG_ARGISNULL(6)) null_field("max_retries");
    j.max_retries = PG_GETARG_INT32(6);
    if (PG_ARGISNULL(7)) null_field("retry_backoff");
    j.backoff_us = interval_us(PG_GETARG_DATUM(7));
    bool enabled = PG_ARGISNULL(8) ? true : PG_GETARG_BOOL(8);
    j.organization = arg_text_opt(fcinfo, 9);
    validate(j);
    j.owner = calling_role();

    spi_connect();
    resolve_organization(j.organization);  // P0002 for an unknown one
    TimestampTz now = abx_now();
    Args a(13);
    a.set(0, text_datum(j.name)).set(1, text_datum(j.command));
    if (!PG_ARGISNULL(2))
        a.set(2, PG_GETARG_DATUM(2));
    else
        a.null(2);
    if (j.schedule.cron)
        a.set(3, text_datum(j.schedule.cron->text()));
    else
        a.null(3);
    a.set(4, jsonb_datum(config))
        .set(5, BoolGetDatum(enabled))
        .set(6,
             pg_call([&] { return DirectFunctionCall1(namein, CStringGetDatum(j.owner.c_str())); }))
        .set_or_null(7, j.organization)
        .set(8, PG_GETARG_DATUM(5))
        .set(9, Int32GetDatum(j.max_retries))
        .set(10, PG_GETARG_DATUM(7))
        .set(11, TimestampTzGetDatum(first_slot(j.schedule, now)))
        .set(12, TimestampTzGetDatum(now));
    try {
        insert_job.run(a.values(), a.nulls(), false);
    } catch (const PgError& e) {
        if (e.data->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
            throw Error(sqlstate::kUniqueViolation, "job \"" + j.name + "\" already exists");
        throw;
    }
    std::int64_t id = *col_int64(0, 1);
    Datum doc = document_of(id);
    audit_job("job.create", id, {{"after", json_from_jsonb(doc)}});
    spi_finish();
    return doc;
}

namespace {

Statement update_job(R"SQL(
UPDATE abx.jobs SET
    schedule_interval = CASE WHEN $2 ? 'schedule' THEN ($2 ->> 'schedule')::interval
                             WHEN $2 ? 'cron' THEN NULL ELSE schedule_interval END,
    cron = CASE WHEN $2 ? 'cron' THEN $2 ->> 'cron' WHEN $2 ? 'schedule' THEN NULL ELSE cron END,
    command = coalesce($2 ->> 'command', command),
    owner = CASE WHEN $2 ? 'command' THEN $3 ELSE owner END,
    config = coalesce($2 -> 'config', config),
    enabled = coalesce(($2 ->> 'enabled')::boolean, enabled),
    organization = CASE WHEN $2 ? 'organization' THEN $2 ->> 'organization' ELSE organization END,
    max_runtime = coalesce(($2 ->> 'max_runtime')::interval, max_runtime),
    max_retries = coalesce(($2 ->> 'max_retries')::integer, max_retries),
    retry_backoff = coalesce(($2 ->> 'retry_backoff')::interval, retry_backoff)
 WHERE id = $1)SQL",
                     {INT8OID, JSONBOID, NAMEOID});
Statement reschedule("UPDATE abx.jobs SET slot = $2, next_run_at = $2, attempt = 1 WHERE id = $1",
                     {INT8OID, TIMESTAMPTZOID});
Statement job_by_id_statement(kJobById, {INT8OID});

}  // namespace

// Changes a job. A new command makes the caller its owner: a command always runs with the rights
// of whoever wrote it. A new schedule starts from now; next_run_at moves the next run.
ABX_SQL_FUNCTION(abx_alter_job) {
    require_platform(Right::ExperimentsAdmin, "abx.alter_job");
    wake_scheduler_at_commit();  // a changed schedule or next_run_at may be due sooner
    std::string name = arg_text(fcinfo, 0, "name");
    if (PG_ARGISNULL(1)) null_field("changes");
    nlohmann::json changes = arg_jsonb(fcinfo, 1);
    if (!changes.is_object()) wrong_type("changes", "must be a JSON object");
    static const char* const kKeys[] = {
        "schedule",     "cron",        "command",     "config",        "enabled",
        "organization", "max_runtime", "max_retries", "retry_backoff", "next_run_at"};
    for (const auto& [key, value] : changes.items()) {
        bool known = false;
        for (const char* k : kKeys) known = known || key == k;
        if (!known) invalid_field("changes." + key, "unknown field");
    }
    spi_connect();
    JobRow before = load_job(name);
    Datum before_doc = document_of(before.id);
    Args a(3);
    a.set(0, Int64GetDatum(before.id)).set(1, jsonb_datum(changes));
    std::string caller = calling_role();
    a.set(2, pg_call([&] { return DirectFunctionCall1(namein, CStringGetDatum(caller.c_str())); }));
    update_job.run(a.values(), a.nulls(), false);
    Args b(1);
    b.set(0, Int64GetDatum(before.id));
    job_by_id_statement.run(b.values(), b.nulls(), false, 1);
    JobRow after = read_job(0);
    validate(after);
    if (changes.contains("organization")) resolve_organization(after.organization);
    TimestampTz now = abx_now();
    std::optional<TimestampTz> next;
    if (changes.contains("schedule") || changes.contains("cron"))
        next = first_slot(after.schedule, now);
    if (changes.contains("next_run_at")) {
        if (!changes["next_run_at"].is_string())
            wrong_type("changes.next_run_at", "must be a timestamp string");
        next = from_unix_micros(parse_rfc3339_micros(changes["next_run_at"].get<std::string>()));
    }
    if (next) {
        Args r(2);
        r.set(0, Int64GetDatum(before.id)).set(1, TimestampTzGetDatum(*next));
        reschedule.run(r.values(), r.nulls(), false);
    }
    Datum doc = document_of(before.id);
    audit_job("job.update", before.id,
              audit::document_change(json_from_jsonb(before_doc), json_from_jsonb(doc)));
    spi_finish();
    return doc;
}

namespace {

Statement record_manual_run(R"SQL(
INSERT INTO abx.job_runs (job_id, slot, attempt, status, started_at, finished_at, sqlstate, message,
                          result, pid, manual)
SELECT $1, $2, coalesce(max(r.attempt), 0) + 1, $3, $4, pg_catalog.clock_timestamp(), $5, $6, $7,
       pg_catalog.pg_backend_pid(), true
  FROM abx.job_runs r WHERE r.job_id = $1 AND r.slot = $2 AND r.manual
RETURNING id)SQL",
                            {INT8OID, TIMESTAMPTZOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID,
                             TEXTOID});

}  // namespace

// Runs a job now in this transaction, as the caller (not the owner: a manual run lends no one
// else's rights); the outcome is recorded as a manual run and returned, a failure included.
ABX_SQL_FUNCTION(abx_run_job) {
    require_platform(Right::ExperimentsAdmin, "abx.run_job");
    std::string name = arg_text(fcinfo, 0, "name");
    spi_connect();
    JobRow job = load_job(name);
    spi_finish();
    // A manual run executes as the caller, so only the job's owner runs it by hand (anyone else
    // would lend their rights to someone else's SQL): others make it due with alter_job.
    std::string caller = calling_role();
    if (caller != job.owner)
        throw Error(sqlstate::kInsufficientPrivilege,
                    "permission denied: job \"" + name + "\" runs as \"" + job.owner +
                        "\"; only its owner runs it by hand",
                    "", "make it due now: abx.alter_job(name, '{\"next_run_at\": \"...\"}')");
    TimestampTz started = pg_call([] { return GetCurrentTimestamp(); });
    std::optional<std::string> result;
    Oid owner = InvalidOid;
    int context = 0;
    pg_guard([&] { GetUserIdAndSecContext(&owner, &context); });
    spi_connect();
    std::optional<SubtransactionFailure> failure = run_in_subtransaction([&] {
        pg_guard([&] {
            SetUserIdAndSecContext(GetOuterUserId(), context & ~SECURITY_LOCAL_USERID_CHANGE);
        });
        try {
            result = run_command(job.command, job.max_runtime_ms);
        } catch (...) {
            pg_guard([&] { SetUserIdAndSecContext(owner, context); });
            throw;
        }
        pg_guard([&] { SetUserIdAndSecContext(owner, context); });
    });
    const char* status = !failure                       ? "succeeded"
                         : failure->sqlstate == "57014" ? "timeout"
                                                        : "failed";
    Args a(7);
    a.set(0, Int64GetDatum(job.id))
        .set(1, TimestampTzGetDatum(abx_now()))
        .set(2, text_datum(status))
        .set(3, TimestampTzGetDatum(started));
    a.set_or_null(4, failure ? std::optional<std::string>(failure->sqlstate) : std::nullopt)
        .set_or_null(5, failure ? std::optional<std::string>(failure->message) : std::nullopt)
        .set_or_null(6, result);
    record_manual_run.run(a.values(), a.nulls(), false);
    nlohmann::json out = {{"job", job.name}, {"status", status}};
    out["result"] = result ? nlohmann::json(*result) : nlohmann::json(nullptr);
    if (failure) {
        out["sqlstate"] = failure->sqlstate;
        out["message"] = failure->message;
    }
    audit_job("job.run", job.id, {{"after", out}});
    spi_finish();
    return jsonb_datum(out);
}

namespace {
Statement prune_runs(
    "DELETE FROM abx.job_runs WHERE finished_at < pg_catalog.now() - $1 AND status <> 'running'",
    {INTERVALOID});
}  // namespace

ABX_SQL_FUNCTION(abx_prune_job_runs) {
    require_platform(Right::ExperimentsAdmin, "abx.prune_job_runs");
    if (PG_ARGISNULL(0)) null_field("keep");
    validate_job_interval(interval_us(PG_GETARG_DATUM(0)), "keep");
    spi_connect();
    Args a(1);
    a.set(0, PG_GETARG_DATUM(0));
    std::uint64_t n = prune_runs.run(a.values(), a.nulls(), false);
    spi_finish();
    PG_RETURN_INT64((std::int64_t)n);
}

namespace {
void require_superuser(const char* function) {
    if (!pg_call([] { return superuser_arg(GetOuterUserId()); }))
        throw Error(sqlstate::kInsufficientPrivilege,
                    std::string("permission denied: ") + function + " is for superusers (tests)");
}
}  // namespace

ABX_SQL_FUNCTION(abx_set_test_clock) {
    require_superuser("abx.set_test_clock");
    if (PG_ARGISNULL(0)) null_field("at");
    TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);
    if (TIMESTAMP_NOT_FINITE(at)) invalid_field("at", "must be a finite timestamp");
    PG_RETURN_TIMESTAMPTZ(set_test_clock(at));
}

ABX_SQL_FUNCTION(abx_advance_test_clock) {
    require_superuser("abx.advance_test_clock");
    if (PG_ARGISNULL(0)) null_field("by");
    std::int64_t by = interval_us(PG_GETARG_DATUM(0));
    if (by < 0) invalid_field("by", "the test clock only moves forward");
    PG_RETURN_TIMESTAMPTZ(set_test_clock(current_test_clock() + by));
}

ABX_SQL_FUNCTION(abx_wait_for_scheduler) {
    require_superuser("abx.wait_for_scheduler");
    std::int64_t timeout = PG_ARGISNULL(0) ? 30'000'000 : interval_us(PG_GETARG_DATUM(0));
    PG_RETURN_BOOL(wait_for_scheduler((long)(timeout / 1000)));
}

ABX_SQL_FUNCTION(abx_wake_scheduler) {
    wake_scheduler_at_commit();
    PG_RETURN_VOID();
}
