#include "outbox.hpp"

namespace abx::pg {
namespace {
Statement insert_event(R"SQL(
WITH e AS (
  INSERT INTO abx.outbox (created_at, organization_id, experiment_id, type, level, payload)
  VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
SELECT e.id, pg_catalog.pg_notify('abx_outbox', pg_catalog.json_build_object('id', e.id, 'type', $4::text)::text)
  FROM e)SQL",
                       {TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID, TEXTOID, JSONBOID});
}  // namespace

std::int64_t emit(const OutboxEvent& e) {
    Args a(6);
    a.set(0, TimestampTzGetDatum(abx_now()));
    a.set_or_null(1, e.organization_id).set_or_null(2, e.experiment_id);
    a.set(3, text_datum(e.type)).set(4, text_datum(e.level)).set(5, jsonb_datum(e.payload));
    insert_event.run(a.values(), a.nulls(), false, 1);
    return *col_int64(0, 1);
}

}  // namespace abx::pg
