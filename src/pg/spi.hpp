// SPI, Datum and argument helpers. Every PostgreSQL call in here goes through pg_guard, so callers
// may hold C++ objects freely.
#pragma once
#include "pg.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

namespace abx::pg {

// A SQL statement prepared once per backend (SPI_prepare + SPI_keepplan) on first use. The plan
// cache re-plans it after DDL, so a saved plan survives DROP/CREATE EXTENSION.
class Statement {
  public:
    Statement(std::string sql, std::initializer_list<Oid> types)
        : sql_(std::move(sql)), types_(types) {}
    // Executes with the given arguments (nulls: ' ' not null, 'n' null); returns SPI_processed.
    std::uint64_t run(const Datum* values, const char* nulls, bool read_only, long limit = 0);
    std::size_t arg_count() const { return types_.size(); }

  private:
    std::string sql_;
    std::vector<Oid> types_;
    SPIPlanPtr plan_ = nullptr;
};

// Builds the argument arrays of a Statement call.
class Args {
  public:
    explicit Args(std::size_t n) : values_(n, 0), nulls_(n, ' ') {}
    Args& set(std::size_t i, Datum value) {
        values_[i] = value;
        nulls_[i] = ' ';
        return *this;
    }
    Args& null(std::size_t i) {
        values_[i] = 0;
        nulls_[i] = 'n';
        return *this;
    }
    // SQL NULL for nullopt: optional text (e.g. an organization key) and bigint arguments.
    Args& set_or_null(std::size_t i, const std::optional<std::string>& text);
    Args& set_or_null(std::size_t i, const std::optional<std::int64_t>& value);
    const Datum* values() const { return values_.data(); }
    const char* nulls() const { return nulls_.data(); }

  private:
    std::vector<Datum> values_;
    std::vector<char> nulls_;
};

void spi_connect();
void spi_finish();
// Quoting for SQL built at run time (DDL on generated names): quote_identifier, quote_literal.
std::string sql_identifier(const std::string& name);
std::string sql_literal(const std::string& text);

// Runs a one-off statement without arguments (DDL from maintenance functions).
std::uint64_t spi_exec(const std::string& sql, bool read_only = false);

// Reading column `col` (1-based) of row `row` of SPI_tuptable; nullopt for SQL NULL.
std::optional<std::string> col_text(std::uint64_t row, int col);
std::optional<std::int64_t> col_int64(std::uint64_t row, int col);
std::optional<double> col_float8(std::uint64_t row, int col);
std::optional<bool> col_bool(std::uint64_t row, int col);
std::optional<TimestampTz> col_timestamptz(std::uint64_t row, int col);  // by value, not a varlena
std::optional<nlohmann::json> col_jsonb(std::uint64_t row, int col);
// The bytes of a text or bytea Datum (detoasted as needed).
std::string varlena_bytes(Datum value);
// jsonb_out of a jsonb Datum (PostgreSQL's own, deterministic printing).
std::string jsonb_text(Datum jsonb);
// Raw jsonb text of a column, for handing back to SQL without re-parsing.
std::optional<std::string> col_jsonb_text(std::uint64_t row, int col);

// Datum makers; the result lives in CurrentMemoryContext.
Datum text_datum(std::string_view s);
Datum jsonb_datum(const nlohmann::json& value);
Datum jsonb_datum_from_text(const std::string& json_text);

// Function arguments.
inline bool arg_is_null(FunctionCallInfo fcinfo, int i) {
    return PG_ARGISNULL(i);
}
std::string arg_text(FunctionCallInfo fcinfo, int i,
                     const char* field);  // NULL -> 22004 naming field
std::optional<std::string> arg_text_opt(FunctionCallInfo fcinfo, int i);
nlohmann::json arg_jsonb(FunctionCallInfo fcinfo, int i);  // NULL -> JSON null

// Time: abx keeps instants as microseconds since the Unix epoch in the core.
inline std::int64_t to_unix_micros(TimestampTz ts) {
    return ts + (std::int64_t)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}
inline TimestampTz from_unix_micros(std::int64_t us) {
    return us - (std::int64_t)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}
// abx.now(): the pinned test time (abx.pinned_now) if set, else the transaction timestamp.
TimestampTz abx_now();

// Results.
// A composite result of the function's declared row type.
// `count` is how many columns the C++ side fills: a different number in the SQL definition means
// the library and the installed SQL disagree (ALTER EXTENSION abx UPDATE not run): refused.
Datum make_record(FunctionCallInfo fcinfo, const Datum* values, const bool* nulls, int count);

// Rows of a set-returning function, materialized into a tuplestore.
class RowSink {
  public:
    explicit RowSink(FunctionCallInfo fcinfo);
    void put(const Datum* values, const bool* nulls, int count);

  private:
    ReturnSetInfo* rsinfo_;
};

}  // namespace abx::pg

namespace abx::pg {
// A varlena column of the current SPI result copied into the caller's context (the one active at
// spi_connect), so it can be returned after spi_finish; nullopt for SQL NULL.
std::optional<Datum> col_datum_out(std::uint64_t row, int col);
}  // namespace abx::pg

namespace abx::pg {
// A one-dimensional array Datum of `element_type` (nulls may be empty: no NULL elements).
Datum array_datum(Oid element_type, const std::vector<Datum>& elements,
                  const std::vector<bool>& nulls = {});
}  // namespace abx::pg

namespace abx::pg {
// What a failed subtransaction raised.
struct SubtransactionFailure {
    std::string sqlstate;
    std::string message;
};

// Runs `body` in an internal subtransaction (inside spi_connect): committed when it returns,
// rolled back when it throws an abx::Error or a PostgreSQL error, which is then returned instead
// of propagated. Cancels and interrupts (SQLSTATE class 57) are never swallowed: after the
// rollback they are thrown on.
std::optional<SubtransactionFailure> run_in_subtransaction(const std::function<void()>& body);
}  // namespace abx::pg
