#include "outbox.hpp"

#include "abx/delivery.hpp"

namespace abx::pg {
namespace {
// The event, and its deliveries: one per enabled target of the event's organization whose kind
// the routing names and whose event types (none: all) include it. An event with no target is
// done at once (delivered_at set), so the outbox's undelivered rows are the ones still owed.
Statement insert_event(R"SQL(
WITH t AS (
  SELECT d.id FROM abx.delivery_targets d
   WHERE d.enabled AND d.organization_id IS NOT DISTINCT FROM $2 AND d.kind = ANY ($7)
     AND (d.event_types = '{}' OR $4 = ANY (d.event_types))),
e AS (
  INSERT INTO abx.outbox (created_at, organization_id, experiment_id, type, level, payload, delivered_at)
  VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN EXISTS (SELECT FROM t) THEN NULL ELSE $1 END) RETURNING id),
d AS (
  INSERT INTO abx.deliveries (outbox_id, target_id, organization_id, experiment_id, created_at, next_attempt_at)
  SELECT e.id, t.id, $2, $3, $1, $8 FROM e, t)
SELECT e.id, pg_catalog.pg_notify('abx_outbox', pg_catalog.json_build_object('id', e.id, 'type', $4::text)::text)
  FROM e)SQL",
                       {TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID, TEXTOID, JSONBOID, TEXTARRAYOID,
                        TIMESTAMPTZOID});

// A database still at 0.4.0 SQL (the library is updated first, ALTER EXTENSION after) has no
// delivery tables: its events are written as before.
Statement insert_event_without_deliveries(R"SQL(
WITH e AS (
  INSERT INTO abx.outbox (created_at, organization_id, experiment_id, type, level, payload)
  VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
SELECT e.id, pg_catalog.pg_notify('abx_outbox', pg_catalog.json_build_object('id', e.id, 'type', $4::text)::text)
  FROM e)SQL",
                                          {TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID, TEXTOID,
                                           JSONBOID});
Statement has_deliveries("SELECT pg_catalog.to_regclass('abx.deliveries') IS NOT NULL", {});

}  // namespace

std::int64_t emit(const OutboxEvent& e) {
    has_deliveries.run(nullptr, nullptr, true, 1);
    bool fan_out = *col_bool(0, 1);
    Args a(fan_out ? 8 : 6);
    a.set(0, TimestampTzGetDatum(abx_now()));
    a.set_or_null(1, e.organization_id).set_or_null(2, e.experiment_id);
    a.set(3, text_datum(e.type)).set(4, text_datum(e.level)).set(5, jsonb_datum(e.payload));
    if (!fan_out) {
        insert_event_without_deliveries.run(a.values(), a.nulls(), false, 1);
        return *col_int64(0, 1);
    }
    std::vector<Datum> kinds;
    for (const std::string& k : delivery::route(e.type, e.level).kinds)
        kinds.push_back(text_datum(k));
    a.set(6, array_datum(TEXTOID, kinds, {}));
    a.set(7, TimestampTzGetDatum(delivery_now()));
    insert_event.run(a.values(), a.nulls(), false, 1);
    return *col_int64(0, 1);
}

}  // namespace abx::pg
