// SQL API for event ingestion: abx.track (one event) and abx.track_batch (many, per-item results).
// Events are attributed server-side to the subject's stored variant; a client cannot claim one.
#include "access.hpp"
#include "fast_lookup.hpp"
#include "settings.hpp"
#include "store.hpp"

#include "abx/event_input.hpp"
#include "abx/json_limits.hpp"
#include "jsonb_reader.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace abx::pg {
namespace {

// The experiment an event belongs to (the one resolver), if it takes events, and the subject's
// assignment in it.
const std::string kTargetCte = "WITH " + resolved_experiment_cte(1, 2) + R"SQL(,
target AS (
  SELECT r.id, r.org_scope AS org FROM resolved r
   WHERE NOT r.unknown_org AND r.status IN ('running', 'paused', 'completed')),
subject AS (
  SELECT a.experiment_id, a.organization_id, a.subject, a.variant_id
    FROM target t JOIN abx.assignments a
      ON a.experiment_id = t.id AND a.organization_id = t.org AND a.subject = $3))SQL";

Statement track_plain(std::string(kTargetCte).append(R"SQL(,
ins AS (
  INSERT INTO abx.events (experiment_id, organization_id, subject, variant_id, event_key, value, ts, meta)
  SELECT s.experiment_id, s.organization_id, s.subject, s.variant_id, $4, $5, $6, $7 FROM subject s
  RETURNING id, variant_id)
SELECT ins.id, v.key FROM ins JOIN abx.variants v ON v.id = ins.variant_id)SQL"),
                      {TEXTOID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID, TIMESTAMPTZOID, JSONBOID});

Statement track_idempotent(std::string(kTargetCte).append(R"SQL(,
k AS (
  INSERT INTO abx.event_idempotency (experiment_id, organization_id, idempotency_key, event_id,
                                     variant_id)
  SELECT s.experiment_id, s.organization_id, $8, nextval('abx.events_id_seq'), s.variant_id
    FROM subject s
  ON CONFLICT DO NOTHING RETURNING event_id),
ins AS (
  INSERT INTO abx.events (id, experiment_id, organization_id, subject, variant_id, event_key, value,
                          ts, meta, idempotency_key)
  SELECT k.event_id, s.experiment_id, s.organization_id, s.subject, s.variant_id, $4, $5, $6, $7, $8
    FROM subject s, k
  RETURNING id, variant_id)
SELECT ins.id, v.key FROM ins JOIN abx.variants v ON v.id = ins.variant_id)SQL"),
                           {TEXTOID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID, TIMESTAMPTZOID, JSONBOID,
                            TEXTOID});

Statement experiment_status("WITH " + resolved_experiment_cte(1, 2) +
                                " SELECT status FROM resolved",
                            {TEXTOID, TEXTOID});

// Idempotency keys are scoped like subjects: per experiment and organization (a global
// experiment's key in one organization says nothing about another's).
Statement existing_key(R"SQL(
SELECT i.event_id, v.key FROM abx.event_idempotency i JOIN abx.variants v ON v.id = i.variant_id
 WHERE i.experiment_id = $1 AND i.organization_id = $2 AND i.idempotency_key = $3)SQL",
                       {INT8OID, INT8OID, TEXTOID});

Statement target_of(std::string(kTargetCte).append(" SELECT id, org FROM target"),
                    {TEXTOID, TEXTOID, TEXTOID});

// Explains, as an abx::Error, why an event for (experiment, organization, subject) was not stored.
[[noreturn]] void refuse(const std::string& experiment, const std::optional<std::string>& org,
                         const std::string& subject) {
    resolve_organization(org);
    Args args(3);
    args.set(0, text_datum(experiment)).set(2, text_datum(subject));
    args.set_or_null(1, org);
    if (experiment_status.run(args.values(), args.nulls(), false, 1) == 0)
        experiment_not_found(experiment, org);
    std::string status = *col_text(0, 1);
    if (status == "draft" || status == "archived")
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + experiment + "\" is " + status + " and takes no events");
    throw Error(
        sqlstate::kNoDataFound,
        "subject \"" + subject + "\" has no assignment in experiment \"" + experiment + "\"", "",
        "call abx.assign() for the subject before tracking its events");
}

// Bounds checked before any parsing (docs/sql-api.md, "Limits").
constexpr std::size_t kMaxBatchBytes = 64u << 20;

EventLimits limits_now() {
    return EventLimits{to_unix_micros(abx_now()), event_future_tolerance_us()};
}

struct Stored {
    std::int64_t event_id;
    std::string variant;
    bool duplicate;
};

Statement insert_event(R"SQL(
INSERT INTO abx.events (id, experiment_id, organization_id, subject, variant_id, event_key, value,
                        ts, meta, idempotency_key)
VALUES (coalesce($9, nextval('abx.events_id_seq')), $1, $2, $3, $4, $5, $6, $7, $8, $10)
RETURNING id)SQL",
                       {INT8OID, INT8OID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID, TIMESTAMPTZOID,
                        JSONBOID, INT8OID, TEXTOID});

Statement claim_key(R"SQL(
INSERT INTO abx.event_idempotency (experiment_id, organization_id, idempotency_key, event_id,
                                   variant_id)
VALUES ($1, $4, $2, nextval('abx.events_id_seq'), $3)
ON CONFLICT DO NOTHING RETURNING event_id)SQL",
                    {INT8OID, TEXTOID, INT4OID, INT8OID});

// The event of a subject of a cached experiment: the assignment comes from one index probe and
// the row goes in with a single-table INSERT. nullopt when the cache cannot answer (then the
// general path decides, and explains refusals).
std::optional<Stored> track_cached(const EventInput& ev, std::optional<Datum> meta) {
    const CachedExperiment* c = cached_experiment(ev.experiment, ev.organization);
    if (!c) {
        cache_experiment(ev.experiment, ev.organization);
        return std::nullopt;
    }
    if (!accepts_events(c->status)) return std::nullopt;
    std::optional<std::int32_t> variant_id = stored_variant(*c, ev.subject);
    if (!variant_id) return std::nullopt;
    auto variant = c->variants.find(*variant_id);
    if (variant == c->variants.end()) return std::nullopt;

    std::optional<std::int64_t> reserved_id;
    if (ev.idempotency_key) {
        Args k(4);
        k.set(0, Int64GetDatum(c->id))
            .set(1, text_datum(*ev.idempotency_key))
            .set(2, Int32GetDatum(*variant_id))
            .set(3, Int64GetDatum(c->organization_scope));
        if (claim_key.run(k.values(), k.nulls(), false) == 0) {
            Args e(3);
            e.set(0, Int64GetDatum(c->id))
                .set(1, Int64GetDatum(c->organization_scope))
                .set(2, text_datum(*ev.idempotency_key));
            existing_key.run(e.values(), e.nulls(), false, 1);
            return Stored{*col_int64(0, 1), *col_text(0, 2), true};
        }
        reserved_id = *col_int64(0, 1);
    }
    Args a(10);
    a.set(0, Int64GetDatum(c->id))
        .set(1, Int64GetDatum(c->organization_scope))
        .set(2, text_datum(ev.subject))
        .set(3, Int32GetDatum(*variant_id))
        .set(4, text_datum(ev.event_key))
        .set(5, Float8GetDatum(ev.value))
        .set(6, TimestampTzGetDatum(from_unix_micros(*ev.ts_us)));
    if (meta)
        a.set(7, *meta);
    else
        a.null(7);
    if (reserved_id)
        a.set(8, Int64GetDatum(*reserved_id)).set(9, text_datum(*ev.idempotency_key));
    else
        a.null(8).null(9);
    insert_event.run(a.values(), a.nulls(), false);
    return Stored{*col_int64(0, 1), variant->second.key, false};
}

Stored track_one(const EventInput& ev, std::optional<Datum> meta) {
    if (std::optional<Stored> done = track_cached(ev, meta)) return *done;
    bool idempotent = ev.idempotency_key.has_value();
    Args args(idempotent ? 8 : 7);
    args.set(0, text_datum(ev.experiment));
    args.set_or_null(1, ev.organization);
    args.set(2, text_datum(ev.subject))
        .set(3, text_datum(ev.event_key))
        .set(4, Float8GetDatum(ev.value))
        .set(5, TimestampTzGetDatum(from_unix_micros(*ev.ts_us)));
    if (meta)
        args.set(6, *meta);
    else
        args.null(6);
    if (idempotent) args.set(7, text_datum(*ev.idempotency_key));
    Statement& stmt = idempotent ? track_idempotent : track_plain;
    if (stmt.run(args.values(), args.nulls(), false) == 1)
        return Stored{*col_int64(0, 1), *col_text(0, 2), false};

    if (idempotent) {
        // Either the key was seen before, or there is no target/assignment at all.
        Args d(3);
        d.set(0, text_datum(ev.experiment)).set(2, text_datum(ev.subject));
        d.set_or_null(1, ev.organization);
        target_of.run(d.values(), d.nulls(), false, 1);
        if (SPI_processed == 1) {
            std::int64_t experiment_id = *col_int64(0, 1);
            std::int64_t org_scope = *col_int64(0, 2);
            Args k(3);
            k.set(0, Int64GetDatum(experiment_id))
                .set(1, Int64GetDatum(org_scope))
                .set(2, text_datum(*ev.idempotency_key));
            if (existing_key.run(k.values(), k.nulls(), false, 1) == 1)
                return Stored{*col_int64(0, 1), *col_text(0, 2), true};
        }
    }
    refuse(ev.experiment, ev.organization, ev.subject);
}

}  // namespace
}  // namespace abx::pg

using namespace abx;
using namespace abx::pg;

ABX_SQL_FUNCTION(abx_track) {
    EventInput ev;
    ev.experiment = arg_text(fcinfo, 0, "experiment");
    ev.subject = arg_text(fcinfo, 1, "subject");
    ev.event_key = arg_text(fcinfo, 2, "event");
    if (PG_ARGISNULL(3)) throw Error(sqlstate::kNullValueNotAllowed, "value must not be null");
    ev.value = PG_GETARG_FLOAT8(3);
    EventLimits limits = limits_now();
    if (!PG_ARGISNULL(4)) {
        TimestampTz ts = PG_GETARG_TIMESTAMPTZ(4);
        if (TIMESTAMP_NOT_FINITE(ts)) invalid_field("ts", "must be a finite timestamp");
        ev.ts_us = to_unix_micros(ts);
    } else {
        ev.ts_us = limits.now_us;
    }
    // meta is stored as the caller's jsonb; it is read only to be checked (size first).
    std::optional<Datum> meta;
    if (!PG_ARGISNULL(5)) {
        meta = PG_GETARG_DATUM(5);
        if (jsonb_size(*meta) > kMaxDocumentBytes)
            invalid_field("meta",
                          "must be at most " + std::to_string(kMaxDocumentBytes) + " bytes");
        ev.meta = json_from_jsonb(*meta);
        require_representable_numbers(ev.meta, "meta");
        if (ev.meta.is_object() && ev.meta.empty()) meta.reset();
    }
    ev.idempotency_key = arg_text_opt(fcinfo, 6);
    ev.organization =
        authorize(Right::EventsWrite, "abx.track", arg_text_opt(fcinfo, 7)).organization;
    validate_event(ev, limits);

    spi_connect();
    Stored s = track_one(ev, meta);
    spi_finish();
    Datum values[3] = {Int64GetDatum(s.event_id), text_datum(s.variant),
                       text_datum(s.duplicate ? "duplicate" : "stored")};
    bool nulls[3] = {false, false, false};
    return make_record(fcinfo, values, nulls, 3);
}

namespace {

constexpr std::size_t kMaxBatchItems = 50000;

struct ItemResult {
    std::string status;  // stored | duplicate | error
    std::optional<std::int64_t> event_id;
    std::optional<std::string> variant;
    std::optional<std::string> error_code;
    std::optional<std::string> error_message;
};

struct PendingEvent {
    std::size_t item;
    EventInput input;
    std::string meta_text;
    std::int64_t experiment_id = 0;
    std::int64_t organization_scope = 0;
    std::int64_t variant_id = 0;
};

Statement assignments_of(R"SQL(
SELECT a.subject, a.variant_id, v.key FROM abx.assignments a JOIN abx.variants v ON v.id = a.variant_id
 WHERE a.experiment_id = $1 AND a.organization_id = $2 AND a.subject = ANY ($3))SQL",
                         {INT8OID, INT8OID, TEXTARRAYOID});

Statement reserve_ids("SELECT nextval('abx.events_id_seq') FROM generate_series(1, $1)", {INT4OID});

Statement claim_keys(R"SQL(
INSERT INTO abx.event_idempotency (experiment_id, organization_id, idempotency_key, event_id,
                                   variant_id)
SELECT k.e, k.o, k.k, k.i, k.v
  FROM unnest($1::int8[], $5::int8[], $2::text[], $3::int8[], $4::int4[])
       WITH ORDINALITY AS k(e, o, k, i, v, n)
 ORDER BY k.n
ON CONFLICT DO NOTHING RETURNING event_id)SQL",
                     {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT4ARRAYOID, INT8ARRAYOID});

Statement insert_events(R"SQL(
INSERT INTO abx.events (id, experiment_id, organization_id, subject, variant_id, event_key, value,
                        ts, meta, idempotency_key)
SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::int4[], $6::text[],
                     $7::float8[], $8::timestamptz[], $9::jsonb[], $10::text[]))SQL",
                        {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
                         TEXTARRAYOID, FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, JSONBARRAYOID,
                         TEXTARRAYOID});

ItemResult error_result(const std::string& code, const std::string& message) {
    return ItemResult{"error", std::nullopt, std::nullopt, code, message};
}

}  // namespace

ABX_SQL_FUNCTION(abx_track_batch) {
    if (PG_ARGISNULL(0)) null_field("events");
    require_right(Right::EventsWrite, "abx.track_batch");
    // Limits first, from the jsonb headers: nothing is converted for a batch that is refused.
    Datum raw = PG_GETARG_DATUM(0);
    long count = jsonb_array_length(raw, "events");
    if (count > (long)kMaxBatchItems)
        invalid_field("events", "a batch holds at most " + std::to_string(kMaxBatchItems) +
                                    " items, got " + std::to_string(count));
    if (jsonb_size(raw) > kMaxBatchBytes)
        invalid_field("events",
                      "a batch must be at most " + std::to_string(kMaxBatchBytes) + " bytes");
    nlohmann::json document = json_from_jsonb(raw);
    const nlohmann::json& items = batch_items(document);
    EventLimits limits = limits_now();

    std::vector<ItemResult> results(items.size());
    std::vector<PendingEvent> pending;
    for (std::size_t i = 0; i < items.size(); ++i) {
        try {
            PendingEvent p{i, parse_event_item(items[i], i, limits), {}};
            if (!p.input.ts_us) p.input.ts_us = limits.now_us;
            // parse_event_item leaves experiment and subject optional; a batch has no call-level
            // default for them, so every item must name both.
            std::string at = "events[" + std::to_string(i) + "].";
            if (p.input.experiment.empty()) invalid_field(at + "experiment", "is required");
            if (p.input.subject.empty()) invalid_field(at + "subject", "is required");
            // Each item acts for its own organization, decided like a single call's (42501 for
            // one the session may not act for; the other items are stored).
            p.input.organization = item_organization(p.input.organization);
            if (!p.input.meta.empty()) p.meta_text = p.input.meta.dump();
            pending.push_back(std::move(p));
        } catch (const Error& e) {
            results[i] = error_result(e.sqlstate, e.what());
        }
    }

    spi_connect();
    // Resolve each (experiment, organization) once, then the assignments of its subjects at once.
    using Scope = std::pair<std::string, std::optional<std::string>>;
    std::map<Scope, std::vector<PendingEvent*>> by_scope;
    for (PendingEvent& p : pending)
        by_scope[{p.input.experiment, p.input.organization}].push_back(&p);

    std::vector<PendingEvent*> accepted;
    for (auto& [scope, events] : by_scope) {
        Args t(3);
        t.set(0, text_datum(scope.first)).set(2, text_datum(""));
        t.set_or_null(1, scope.second);
        target_of.run(t.values(), t.nulls(), false, 1);
        if (SPI_processed == 0) {
            // Same explanation as a single call, per item.
            for (PendingEvent* p : events) {
                try {
                    refuse(scope.first, scope.second, p->input.subject);
                } catch (const Error& e) {
                    results[p->item] = error_result(e.sqlstate, e.what());
                }
            }
            continue;
        }
        std::int64_t experiment_id = *col_int64(0, 1);
        std::int64_t org_scope = *col_int64(0, 2);

        std::set<std::string> subjects;
        for (PendingEvent* p : events) subjects.insert(p->input.subject);
        std::vector<Datum> subject_datums;
        for (const std::string& s : subjects) subject_datums.push_back(text_datum(s));
        Args a(3);
        a.set(0, Int64GetDatum(experiment_id))
            .set(1, Int64GetDatum(org_scope))
            .set(2, array_datum(TEXTOID, subject_datums));
        std::uint64_t n = assignments_of.run(a.values(), a.nulls(), false);
        std::map<std::string, std::pair<std::int64_t, std::string>> variant_of;
        for (std::uint64_t r = 0; r < n; ++r)
            variant_of[*col_text(r, 1)] = {*col_int64(r, 2), *col_text(r, 3)};

        for (PendingEvent* p : events) {
            auto it = variant_of.find(p->input.subject);
            if (it == variant_of.end()) {
                results[p->item] =
                    error_result(sqlstate::kNoDataFound,
                                 "subject \"" + p->input.subject +
                                     "\" has no assignment in experiment \"" + scope.first + "\"");
                continue;
            }
            p->experiment_id = experiment_id;
            p->organization_scope = org_scope;
            p->variant_id = it->second.first;
            results[p->item].variant = it->second.second;
            accepted.push_back(p);
        }
    }

    // Ids first, so that idempotency keys and events can be written in two set-based statements.
    std::vector<std::int64_t> ids;
    if (!accepted.empty()) {
        Args r(1);
        r.set(0, Int32GetDatum((int)accepted.size()));
        std::uint64_t n = reserve_ids.run(r.values(), r.nulls(), false);
        for (std::uint64_t i = 0; i < n; ++i) ids.push_back(*col_int64(i, 1));
    }
    for (std::size_t i = 0; i < accepted.size(); ++i) results[accepted[i]->item].event_id = ids[i];

    // Idempotency: the first item with a key in this batch claims it; later ones and keys already
    // stored are duplicates that point at the original event.
    using KeyScope = std::tuple<std::int64_t, std::int64_t, std::string>;  // experiment, org, key
    std::map<KeyScope, std::size_t> first_with_key;
    std::vector<PendingEvent*> keyed;
    std::vector<bool> keep(accepted.size(), true);
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        PendingEvent* p = accepted[i];
        if (!p->input.idempotency_key) continue;
        auto key = KeyScope{p->experiment_id, p->organization_scope, *p->input.idempotency_key};
        auto [it, inserted] = first_with_key.emplace(key, i);
        if (!inserted) {
            keep[i] = false;
            results[p->item].status = "duplicate";
            results[p->item].event_id = ids[it->second];
            continue;
        }
        keyed.push_back(p);
    }
    if (!keyed.empty()) {
        // Keys are claimed in one global order (experiment, organization, key): two batches whose
        // keys overlap in opposite orders wait for each other instead of deadlocking.
        std::sort(keyed.begin(), keyed.end(), [](const PendingEvent* a, const PendingEvent* b) {
            return std::tie(a->experiment_id, a->organization_scope, *a->input.idempotency_key) <
                   std::tie(b->experiment_id, b->organization_scope, *b->input.idempotency_key);
        });
        std::vector<Datum> exp, key, id, variant, org;
        for (PendingEvent* p : keyed) {
            exp.push_back(Int64GetDatum(p->experiment_id));
            org.push_back(Int64GetDatum(p->organization_scope));
            key.push_back(text_datum(*p->input.idempotency_key));
            id.push_back(Int64GetDatum(*results[p->item].event_id));
            variant.push_back(Int32GetDatum((int)p->variant_id));
        }
        Args c(5);
        c.set(0, array_datum(INT8OID, exp))
            .set(1, array_datum(TEXTOID, key))
            .set(2, array_datum(INT8OID, id))
            .set(3, array_datum(INT4OID, variant))
            .set(4, array_datum(INT8OID, org));
        std::uint64_t n = claim_keys.run(c.values(), c.nulls(), false);
        std::set<std::int64_t> claimed;
        for (std::uint64_t r = 0; r < n; ++r) claimed.insert(*col_int64(r, 1));
        for (std::size_t i = 0; i < accepted.size(); ++i) {
            PendingEvent* p = accepted[i];
            if (!keep[i] || !p->input.idempotency_key) continue;
            if (claimed.count(*results[p->item].event_id)) continue;
            keep[i] = false;
            Args k(3);
            k.set(0, Int64GetDatum(p->experiment_id))
                .set(1, Int64GetDatum(p->organization_scope))
                .set(2, text_datum(*p->input.idempotency_key));
            existing_key.run(k.values(), k.nulls(), false, 1);
            results[p->item].status = "duplicate";
            results[p->item].event_id = *col_int64(0, 1);
            results[p->item].variant = *col_text(0, 2);
        }
    }
    // Duplicates inside the batch point at the stored (or previously stored) original.
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        PendingEvent* p = accepted[i];
        if (keep[i] || !p->input.idempotency_key) continue;
        std::size_t first =
            first_with_key[{p->experiment_id, p->organization_scope, *p->input.idempotency_key}];
        if (first != i) results[p->item].event_id = results[accepted[first]->item].event_id;
    }

    std::vector<Datum> id, exp, org, subj, variant, key, value, ts, meta, ikey;
    std::vector<bool> meta_null, ikey_null;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        if (!keep[i]) continue;
        PendingEvent* p = accepted[i];
        results[p->item].status = "stored";
        id.push_back(Int64GetDatum(*results[p->item].event_id));
        exp.push_back(Int64GetDatum(p->experiment_id));
        org.push_back(Int64GetDatum(p->organization_scope));
        subj.push_back(text_datum(p->input.subject));
        variant.push_back(Int32GetDatum((int)p->variant_id));
        key.push_back(text_datum(p->input.event_key));
        value.push_back(Float8GetDatum(p->input.value));
        ts.push_back(TimestampTzGetDatum(from_unix_micros(*p->input.ts_us)));
        meta_null.push_back(p->meta_text.empty());
        meta.push_back(p->meta_text.empty() ? 0 : jsonb_datum_from_text(p->meta_text));
        ikey_null.push_back(!p->input.idempotency_key);
        ikey.push_back(p->input.idempotency_key ? text_datum(*p->input.idempotency_key) : 0);
    }
    if (!id.empty()) {
        Args e(10);
        e.set(0, array_datum(INT8OID, id))
            .set(1, array_datum(INT8OID, exp))
            .set(2, array_datum(INT8OID, org))
            .set(3, array_datum(TEXTOID, subj))
            .set(4, array_datum(INT4OID, variant))
            .set(5, array_datum(TEXTOID, key))
            .set(6, array_datum(FLOAT8OID, value))
            .set(7, array_datum(TIMESTAMPTZOID, ts))
            .set(8, array_datum(JSONBOID, meta, meta_null))
            .set(9, array_datum(TEXTOID, ikey, ikey_null));
        insert_events.run(e.values(), e.nulls(), false);
    }
    spi_finish();

    RowSink sink(fcinfo);
    for (std::size_t i = 0; i < results.size(); ++i) {
        const ItemResult& r = results[i];
        Datum values[6] = {Int32GetDatum((int)i),
                           text_datum(r.status),
                           Int64GetDatum(r.event_id.value_or(0)),
                           r.variant ? text_datum(*r.variant) : 0,
                           r.error_code ? text_datum(*r.error_code) : 0,
                           r.error_message ? text_datum(*r.error_message) : 0};
        bool nulls[6] = {false, false, !r.event_id, !r.variant, !r.error_code, !r.error_message};
        sink.put(values, nulls, 6);
    }
    return (Datum)0;
}
