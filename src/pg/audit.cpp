// The audit log: appending (in the mutation's transaction) and abx.verify_audit().
#include "audit.hpp"

#include "access.hpp"
#include "settings.hpp"

#include "abx/audit.hpp"
#include "abx/interrupt.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace abx::pg {
namespace {

constexpr int kAuditLockClass = 0x61756474;  // 'audt': one appender at a time

Statement lock_chain("SELECT pg_catalog.pg_advisory_xact_lock($1, 0)", {INT4OID});
Statement read_head("SELECT seq, hash FROM abx.audit_head", {});
Statement insert_entry(R"SQL(
INSERT INTO abx.audit_log (seq, at, actor, jwt_subject, organization_id, action, target,
                           experiment_id, change, request_id, outcome, error_code, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14))SQL",
                       {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
                        INT8OID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, BYTEAOID});
Statement move_head(R"SQL(
INSERT INTO abx.audit_head AS h (one, seq, hash) VALUES (true, $1, $2)
ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, hash = excluded.hash)SQL",
                    {INT8OID, BYTEAOID});

Datum bytea_datum(const audit::Digest& d) {
    return pg_call([&] {
        bytea* v = (bytea*)palloc(VARHDRSZ + d.size());
        SET_VARSIZE(v, VARHDRSZ + d.size());
        memcpy(VARDATA(v), d.data(), d.size());
        return PointerGetDatum(v);
    });
}

std::optional<audit::Digest> digest_column(std::uint64_t row, int col) {
    std::optional<Datum> d = col_datum_out(row, col);
    if (!d) return std::nullopt;
    return audit::from_bytes(varlena_bytes(*d));
}

}  // namespace

std::int64_t append_audit(const AuditRecord& record) {
    Args lock(1);
    lock.set(0, Int32GetDatum(kAuditLockClass));
    lock_chain.run(lock.values(), lock.nulls(), false);
    audit::Entry e;
    audit::Digest previous = audit::kGenesis;
    if (read_head.run(nullptr, nullptr, false, 1) == 1) {
        e.seq = *col_int64(0, 1) + 1;
        previous = digest_column(0, 2).value_or(audit::kGenesis);
    } else {
        e.seq = 1;
    }
    const std::optional<AuditRecord::Refusal>& refused = record.refused;
    TimestampTz now = refused ? refused->at : abx_now();
    e.at_us = to_unix_micros(now);
    e.actor = refused ? refused->actor : calling_role();
    e.jwt_subject = refused ? refused->jwt_subject : trusted_jwt_subject();
    e.organization_id = record.organization_id;
    e.action = record.action;
    e.target = record.target;
    // The hash covers the change exactly as jsonb stores and prints it.
    Datum change = jsonb_datum(record.change);
    e.change = jsonb_text(change);
    e.request_id = refused ? refused->request_id : setting_text("request.id");
    e.outcome = refused ? "denied" : "ok";
    if (refused) e.error_code = refused->error_code;
    audit::Digest hash = audit::chain_hash(previous, e);

    Args a(14);
    a.set(0, Int64GetDatum(e.seq))
        .set(1, TimestampTzGetDatum(now))
        .set(2, text_datum(e.actor))
        .set_or_null(3, e.jwt_subject)
        .set_or_null(4, e.organization_id)
        .set(5, text_datum(e.action))
        .set(6, text_datum(e.target))
        .set_or_null(7, record.experiment_id)
        .set(8, change)
        .set_or_null(9, e.request_id)
        .set(10, text_datum(e.outcome))
        .set_or_null(11, e.error_code)
        .set(12, bytea_datum(previous))
        .set(13, bytea_datum(hash));
    insert_entry.run(a.values(), a.nulls(), false);
    Args h(2);
    h.set(0, Int64GetDatum(e.seq)).set(1, bytea_datum(hash));
    move_head.run(h.values(), h.nulls(), false);
    std::string hex = audit::to_hex(hash);
    const char* hex_text = hex.c_str();
    long long seq = e.seq;
    pg_guard([&] {
        ereport(LOG,
                (errmsg("abx audit head: seq %lld hash %s", seq, hex_text), errhidestmt(true)));
    });
    return e.seq;
}

}  // namespace abx::pg

using namespace abx;
using namespace abx::pg;

ABX_SQL_FUNCTION(abx_audit_append) {
    AuditRecord r;
    r.action = arg_text(fcinfo, 0, "action");
    r.target = arg_text(fcinfo, 1, "target");
    if (!PG_ARGISNULL(2)) r.organization_id = PG_GETARG_INT64(2);
    if (!PG_ARGISNULL(3)) r.experiment_id = PG_GETARG_INT64(3);
    r.change = PG_ARGISNULL(4) ? nlohmann::json::object() : arg_jsonb(fcinfo, 4);
    spi_connect();
    std::int64_t seq = append_audit(r);
    spi_finish();
    PG_RETURN_INT64(seq);
}

namespace {
Statement entries_after(R"SQL(
SELECT seq, (extract(epoch FROM at) * 1000000)::int8, actor, jwt_subject, organization_id, action,
       target, change, request_id, outcome, error_code, prev_hash, hash
  FROM abx.audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000)SQL",
                        {INT8OID});
Statement head_of("SELECT seq, hash FROM abx.audit_head", {});
Statement entry_hash("SELECT hash FROM abx.audit_log WHERE seq = $1", {INT8OID});
}  // namespace

ABX_SQL_FUNCTION(abx_verify_audit) {
    std::optional<std::int64_t> anchor_seq;
    if (!PG_ARGISNULL(0)) anchor_seq = PG_GETARG_INT64(0);
    std::optional<std::string> anchor_hash;
    if (!PG_ARGISNULL(1)) anchor_hash = varlena_bytes(PG_GETARG_DATUM(1));
    if (anchor_seq.has_value() != anchor_hash.has_value())
        invalid_field("anchor_hash", "anchor_seq and anchor_hash go together");
    // The chain spans every organization: verifying it is an operator's job.
    require_platform(Right::AuditRead, "abx.verify_audit");

    spi_connect();
    audit::ChainVerifier verifier;
    // Walks the rows in seq order, a page at a time; a missing or renumbered row shows as a gap
    // or a mismatch (seq is part of every hash).
    std::int64_t after = -1;
    bool more = true;
    while (more && verifier.ok()) {
        Args p(1);
        p.set(0, Int64GetDatum(after));
        std::uint64_t n = entries_after.run(p.values(), p.nulls(), true);
        more = n == 1000;
        for (std::uint64_t r = 0; r < n; ++r) {
            abx::check_interrupt();
            audit::Entry e;
            e.seq = *col_int64(r, 1);
            e.at_us = *col_int64(r, 2);
            e.actor = *col_text(r, 3);
            e.jwt_subject = col_text(r, 4);
            e.organization_id = col_int64(r, 5);
            e.action = *col_text(r, 6);
            e.target = *col_text(r, 7);
            e.change = *col_jsonb_text(r, 8);
            e.request_id = col_text(r, 9);
            e.outcome = *col_text(r, 10);
            e.error_code = col_text(r, 11);
            auto prev = digest_column(r, 12), hash = digest_column(r, 13);
            after = e.seq;
            if (!prev || !hash) {
                verifier.malformed(e.seq);
                break;
            }
            if (!verifier.feed(e, *prev, *hash)) break;
        }
    }
    std::optional<std::int64_t> head_seq;
    std::optional<audit::Digest> head_hash;
    if (head_of.run(nullptr, nullptr, true, 1) == 1) {
        head_seq = col_int64(0, 1);
        head_hash = digest_column(0, 2);
    }
    verifier.finish(head_seq, head_hash);
    bool ok = verifier.ok();
    std::optional<std::int64_t> broken = verifier.broken_seq();
    std::string reason = verifier.reason();
    if (ok && anchor_seq) {
        Args s(1);
        s.set(0, Int64GetDatum(*anchor_seq));
        std::optional<std::string> stored;
        if (entry_hash.run(s.values(), s.nulls(), true, 1) == 1)
            stored = varlena_bytes(*col_datum_out(0, 1));
        if (stored != anchor_hash) {
            ok = false;
            broken = anchor_seq;
            reason = stored ? "entry " + std::to_string(*anchor_seq) +
                                  " does not match the anchor recorded outside the database"
                            : "entry " + std::to_string(*anchor_seq) +
                                  " of the anchor recorded outside the database is gone (the log "
                                  "was cut and its head rewritten)";
        }
    }
    spi_finish();
    Datum values[6] = {BoolGetDatum(ok),
                       Int64GetDatum(verifier.checked()),
                       Int64GetDatum(broken.value_or(0)),
                       text_datum(ok ? "" : reason),
                       Int64GetDatum(head_seq.value_or(0)),
                       text_datum(head_hash ? audit::to_hex(*head_hash) : "")};
    bool nulls[6] = {false, false, !broken, ok, !head_seq, !head_hash};
    return make_record(fcinfo, values, nulls, 6);
}
