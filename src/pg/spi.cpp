#include "spi.hpp"

#include "jsonb_reader.hpp"
#include "settings.hpp"
#include "workers.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
}

#include <unordered_map>

namespace abx::pg {

std::uint64_t Statement::run(const Datum* values, const char* nulls, bool read_only, long limit) {
    const char* sql = sql_.c_str();
    if (plan_ == nullptr) {
        SPIPlanPtr prepared = pg_call([&] {
            SPIPlanPtr p = SPI_prepare(sql, (int)types_.size(), types_.data());
            if (p == nullptr)
                elog(ERROR, "abx: SPI_prepare failed (%s) for: %s",
                     SPI_result_code_string(SPI_result), sql);
            SPI_keepplan(p);
            return p;
        });
        plan_ = prepared;
    }
    return pg_call([&]() -> std::uint64_t {
        int rc = SPI_execute_plan(plan_, const_cast<Datum*>(values), nulls, read_only, limit);
        if (rc < 0)
            elog(ERROR, "abx: SPI_execute_plan failed (%s) for: %s", SPI_result_code_string(rc),
                 sql);
        return SPI_processed;
    });
}

Args& Args::set_or_null(std::size_t i, const std::optional<std::string>& text) {
    return text ? set(i, text_datum(*text)) : null(i);
}

Args& Args::set_or_null(std::size_t i, const std::optional<std::int64_t>& value) {
    return value ? set(i, Int64GetDatum(*value)) : null(i);
}

// Every statement abx runs through SPI resolves names in pg_catalog first, then abx, and nowhere
// else (no temporary schema, not the caller's search_path): a schema the caller put in front of
// pg_catalog (SET search_path = evil, pg_catalog) cannot capture a function or an operator of
// abx's queries, which run with the caller's rights (and later a worker's). The path is pushed for
// the whole SPI connection; an error pops it with the transaction.
void spi_connect() {
    pg_guard([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "abx: SPI_connect failed");
        Oid abx_schema = get_namespace_oid("abx", true);
        OverrideSearchPath* path = (OverrideSearchPath*)palloc0(sizeof(OverrideSearchPath));
        path->schemas = OidIsValid(abx_schema) ? list_make1_oid(abx_schema) : NIL;
        path->addCatalog = true;
        path->addTemp = false;
        PushOverrideSearchPath(path);
    });
}

void spi_finish() {
    pg_guard([] {
        PopOverrideSearchPath();
        SPI_finish();
    });
}

std::string sql_identifier(const std::string& name) {
    return pg_call([&] { return (const char*)quote_identifier(name.c_str()); });
}

std::string sql_literal(const std::string& text) {
    return pg_call([&] { return (const char*)quote_literal_cstr(text.c_str()); });
}

std::uint64_t spi_exec(const std::string& sql, bool read_only) {
    const char* text = sql.c_str();
    return pg_call([&]() -> std::uint64_t {
        int rc = SPI_execute(text, read_only, 0);
        if (rc < 0) elog(ERROR, "abx: SPI_execute failed (%s)", SPI_result_code_string(rc));
        return SPI_processed;
    });
}

namespace {

struct Cell {
    Datum value;
    bool is_null;
};

void check_cell(std::uint64_t row, int col) {
    if (SPI_tuptable == nullptr || row >= SPI_processed || col < 1 ||
        col > SPI_tuptable->tupdesc->natts)
        throw Error(sqlstate::kInternalError, "abx: no result cell (" + std::to_string(row) + ", " +
                                                  std::to_string(col) + ")");
}

Cell cell(std::uint64_t row, int col) {
    check_cell(row, col);
    return pg_call([&] {
        Cell c{};
        c.value = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &c.is_null);
        return c;
    });
}

std::string text_of(Datum d) {
    return varlena_bytes(d);
}

std::string jsonb_text_of(Datum d) {
    const char* s = pg_call([&] {
        Jsonb* j = DatumGetJsonbP(d);
        return (const char*)JsonbToCString(nullptr, &j->root, (int)VARSIZE(j));
    });
    return std::string(s);
}

}  // namespace

std::string varlena_bytes(Datum value) {
    struct Bytes {
        const char* data;
        int len;
    };
    Bytes b = pg_call([&] {
        struct varlena* v = pg_detoast_datum_packed((struct varlena*)DatumGetPointer(value));
        return Bytes{VARDATA_ANY(v), (int)VARSIZE_ANY_EXHDR(v)};
    });
    return std::string(b.data, (std::size_t)b.len);
}

std::string jsonb_text(Datum jsonb) {
    return jsonb_text_of(jsonb);
}

std::optional<std::string> col_text(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return text_of(c.value);
}

std::optional<std::int64_t> col_int64(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    Oid type = pg_call([&] { return SPI_gettypeid(SPI_tuptable->tupdesc, col); });
    if (type == INT4OID) return (std::int64_t)DatumGetInt32(c.value);
    if (type == INT2OID) return (std::int64_t)DatumGetInt16(c.value);
    return (std::int64_t)DatumGetInt64(c.value);
}

std::optional<TimestampTz> col_timestamptz(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return DatumGetTimestampTz(c.value);
}

std::optional<double> col_float8(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return DatumGetFloat8(c.value);
}

std::optional<bool> col_bool(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return DatumGetBool(c.value);
}

std::optional<std::string> col_jsonb_text(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return jsonb_text_of(c.value);
}

std::optional<nlohmann::json> col_jsonb(std::uint64_t row, int col) {
    Cell c = cell(row, col);
    if (c.is_null) return std::nullopt;
    return json_from_jsonb(c.value);
}

Datum text_datum(std::string_view s) {
    return pg_call(
        [&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), (int)s.size())); });
}

Datum jsonb_datum_from_text(const std::string& json_text) {
    const char* s = json_text.c_str();
    return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(s)); });
}

Datum jsonb_datum(const nlohmann::json& value) {
    return jsonb_datum_from_text(value.dump());
}

std::string arg_text(FunctionCallInfo fcinfo, int i, const char* field) {
    if (PG_ARGISNULL(i))
        throw Error(sqlstate::kNullValueNotAllowed, std::string(field) + " must not be null");
    return text_of(PG_GETARG_DATUM(i));
}

std::optional<std::string> arg_text_opt(FunctionCallInfo fcinfo, int i) {
    if (PG_ARGISNULL(i)) return std::nullopt;
    return text_of(PG_GETARG_DATUM(i));
}

nlohmann::json arg_jsonb(FunctionCallInfo fcinfo, int i) {
    if (PG_ARGISNULL(i)) return nullptr;
    return json_from_jsonb(PG_GETARG_DATUM(i));
}

TimestampTz abx_now() {
    if (std::optional<std::int64_t> pinned = pinned_now()) return *pinned;
    if (std::optional<TimestampTz> test = scheduler_test_clock()) return *test;
    return GetCurrentTransactionStartTimestamp();
}

namespace {
void check_columns(TupleDesc desc, int count) {
    if (desc->natts != count)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("abx: the installed SQL definition returns %d columns, the abx library %d",
                        desc->natts, count),
                 errhint("The extension's SQL objects are older than its library: run ALTER "
                         "EXTENSION abx UPDATE.")));
}
}  // namespace

namespace {

// Blessed result descriptors of record-returning functions, per function: building one from
// pg_proc on every call cost more than the rest of a returning subject's abx.assign. Dropped when
// any function's catalog row changes (CREATE OR REPLACE, ALTER EXTENSION UPDATE).
std::unordered_map<Oid, TupleDesc> result_descs;

void forget_result_descs(Datum, int, uint32) {
    for (auto& [oid, desc] : result_descs) FreeTupleDesc(desc);
    result_descs.clear();
}

// Inside pg_call.
TupleDesc result_desc(FunctionCallInfo fcinfo, int count) {
    static bool registered = false;
    if (!registered) {
        CacheRegisterSyscacheCallback(PROCOID, forget_result_descs, (Datum)0);
        registered = true;
    }
    Oid fn = fcinfo->flinfo->fn_oid;
    if (auto it = result_descs.find(fn); it != result_descs.end()) return it->second;
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "abx: function must return a composite type");
    check_columns(desc, count);
    MemoryContext old = MemoryContextSwitchTo(CacheMemoryContext);
    desc = BlessTupleDesc(CreateTupleDescCopy(desc));
    MemoryContextSwitchTo(old);
    result_descs.emplace(fn, desc);
    return desc;
}

}  // namespace

Datum make_record(FunctionCallInfo fcinfo, const Datum* values, const bool* nulls, int count) {
    return pg_call([&] {
        TupleDesc desc = result_desc(fcinfo, count);
        HeapTuple tuple =
            heap_form_tuple(desc, const_cast<Datum*>(values), const_cast<bool*>(nulls));
        return HeapTupleGetDatum(tuple);
    });
}

RowSink::RowSink(FunctionCallInfo fcinfo) {
    rsinfo_ = pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        return (ReturnSetInfo*)fcinfo->resultinfo;
    });
}

void RowSink::put(const Datum* values, const bool* nulls, int count) {
    pg_guard([&] {
        check_columns(rsinfo_->setDesc, count);
        tuplestore_putvalues(rsinfo_->setResult, rsinfo_->setDesc, const_cast<Datum*>(values),
                             const_cast<bool*>(nulls));
    });
}

}  // namespace abx::pg

namespace abx::pg {
std::optional<Datum> col_datum_out(std::uint64_t row, int col) {
    struct Out {
        Datum value;
        bool is_null;
    };
    check_cell(row, col);
    Out out = pg_call([&] {
        Out o{};
        Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &o.is_null);
        if (!o.is_null) o.value = SPI_datumTransfer(d, false, -1);
        return o;
    });
    if (out.is_null) return std::nullopt;
    return out.value;
}
}  // namespace abx::pg

extern "C" {
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace abx::pg {
Datum array_datum(Oid element_type, const std::vector<Datum>& elements,
                  const std::vector<bool>& nulls) {
    return pg_call([&] {
        int16 typlen;
        bool typbyval;
        char typalign;
        get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
        int dims[1] = {(int)elements.size()};
        int lbs[1] = {1};
        bool* null_flags = nullptr;
        if (!nulls.empty()) {
            null_flags = (bool*)palloc(sizeof(bool) * nulls.size());
            for (std::size_t i = 0; i < nulls.size(); ++i) null_flags[i] = nulls[i];
        }
        ArrayType* a = construct_md_array(const_cast<Datum*>(elements.data()), null_flags, 1, dims,
                                          lbs, element_type, typlen, typbyval, typalign);
        return PointerGetDatum(a);
    });
}
}  // namespace abx::pg

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

namespace abx::pg {
namespace {
struct SavedState {
    MemoryContext context;
    ResourceOwner owner;
};

SavedState begin_subtransaction() {
    return pg_call([] {
        SavedState s{CurrentMemoryContext, CurrentResourceOwner};
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(s.context);
        return s;
    });
}

void end_subtransaction(SavedState s, bool commit) {
    pg_guard([&] {
        if (commit)
            ReleaseCurrentSubTransaction();
        else
            RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(s.context);
        CurrentResourceOwner = s.owner;
    });
}

std::string sqlstate_text(int code) {
    return pg_call([&] { return (const char*)unpack_sql_state(code); });
}
}  // namespace

std::optional<SubtransactionFailure> run_in_subtransaction(const std::function<void()>& body) {
    SavedState saved = begin_subtransaction();
    std::optional<SubtransactionFailure> failure;
    try {
        body();
    } catch (const PgError& e) {
        std::string code = sqlstate_text(e.data->sqlerrcode);
        if (code.rfind("57", 0) == 0) {
            end_subtransaction(saved, false);
            throw;
        }
        failure = SubtransactionFailure{code, e.data->message ? e.data->message : ""};
    } catch (const Error& e) {
        failure = SubtransactionFailure{e.sqlstate, e.what()};
    } catch (...) {
        end_subtransaction(saved, false);
        throw;
    }
    end_subtransaction(saved, !failure);
    return failure;
}
}  // namespace abx::pg
