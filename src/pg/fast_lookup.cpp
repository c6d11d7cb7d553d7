#include "fast_lookup.hpp"

#include "spi.hpp"
#include "store.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace abx::pg {
namespace {

std::unordered_map<std::string, CachedExperiment> cache;

std::string cache_key(const std::string& code, const std::optional<std::string>& org) {
    return org ? code + '\x1f' + *org : code + '\x1e';
}

Oid abx_relation(const char* name) {
    return pg_call([&] {
        Oid ns = get_namespace_oid("abx", true);
        return OidIsValid(ns) ? get_relname_relid(name, ns) : InvalidOid;
    });
}

// Whether the row version the entry was loaded from is still the visible one.
bool still_current(const CachedExperiment& e) {
    Oid relid = abx_relation("experiments");
    if (relid != e.relation || !OidIsValid(relid)) return false;
    return pg_call([&] {
        Relation rel = table_open(relid, AccessShareLock);
        bool current = false;
        if (rel->rd_node.relNode == e.relfilenode &&
            ItemPointerGetBlockNumber(&e.ctid) < RelationGetNumberOfBlocks(rel)) {
            HeapTupleData tuple;
            tuple.t_self = e.ctid;
            Buffer buffer = InvalidBuffer;
            if (heap_fetch(rel, GetActiveSnapshot(), &tuple, &buffer, false)) {
                bool id_null = false;
                Datum id = heap_getattr(&tuple, 1, RelationGetDescr(rel), &id_null);
                current = HeapTupleHeaderGetRawXmin(tuple.t_data) == e.xmin && !id_null &&
                          DatumGetInt64(id) == e.id;
                ReleaseBuffer(buffer);
            }
        }
        table_close(rel, AccessShareLock);
        return current;
    });
}

Statement load_entry("WITH " + resolved_experiment_cte(1, 2) + R"SQL(
SELECT r.id, r.org_scope, r.status, r.row_ctid, r.row_xmin::text,
       (r.owner_id IS NULL AND $2::text IS NOT NULL), r.salt, r.coverage, r.targeting
  FROM resolved r WHERE NOT r.unknown_org)SQL",
                     {TEXTOID, TEXTOID});

// Bandit arms' Thompson-sampling shares replace the weights (abx.aggregate rewrites the experiment
// row when it refreshes them, which invalidates this entry).
Statement load_variants(
    "SELECT v.id, v.key, v.config, coalesce(b.share, v.weight) FROM abx.variants v "
    "LEFT JOIN abx.bandit_arms b ON b.variant_id = v.id WHERE v.experiment_id = $1 "
    "ORDER BY v.position",
    {INT8OID});

}  // namespace

const CachedExperiment* cached_experiment(const std::string& code,
                                          const std::optional<std::string>& org) {
    auto it = cache.find(cache_key(code, org));
    if (it == cache.end()) return nullptr;
    if (!still_current(it->second)) {
        cache.erase(it);
        return nullptr;
    }
    return &it->second;
}

void cache_experiment(const std::string& code, const std::optional<std::string>& org) {
    Args args(2);
    args.set(0, text_datum(code)).set_or_null(1, org);
    if (load_entry.run(args.values(), args.nulls(), false, 1) == 0) return;
    if (*col_bool(0, 6)) return;  // global fallback of an organization: not cacheable
    CachedExperiment e;
    e.id = *col_int64(0, 1);
    e.organization_scope = *col_int64(0, 2);
    e.status = parse_status(*col_text(0, 3));
    pg_guard([&] {
        bool is_null = false;
        Datum tid = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &is_null);
        ItemPointerCopy((ItemPointer)DatumGetPointer(tid), &e.ctid);
    });
    e.xmin = (TransactionId)std::stoul(*col_text(0, 5));
    e.relation = abx_relation("experiments");
    e.relfilenode = pg_call([&] {
        Relation rel = table_open(e.relation, AccessShareLock);
        Oid node = rel->rd_node.relNode;
        table_close(rel, AccessShareLock);
        return node;
    });
    e.salt = *col_text(0, 7);
    e.coverage = *col_float8(0, 8);
    nlohmann::json rules = *col_jsonb(0, 9);
    if (!rules.empty()) e.targeting = Targeting::compile(rules);
    // (After the columns above: this runs a statement of its own.)
    if (e.status == Status::Completed) e.promoted = promoted_variant(e.id, false);

    Args v(1);
    v.set(0, Int64GetDatum(e.id));
    std::uint64_t n = load_variants.run(v.values(), v.nulls(), false);
    for (std::uint64_t r = 0; r < n; ++r) {
        CachedVariant cv;
        cv.key = *col_text(r, 2);
        std::optional<Datum> config = col_datum_out(r, 3);
        if (config) {
            const char* bytes = nullptr;
            std::size_t size = 0;
            pg_guard([&] {
                struct varlena* detoasted =
                    pg_detoast_datum((struct varlena*)DatumGetPointer(*config));
                bytes = (const char*)detoasted;
                size = VARSIZE(detoasted);
            });
            cv.config_jsonb.assign(bytes, size);
        }
        std::int32_t id = (std::int32_t)*col_int64(r, 1);
        e.variant_ids.push_back(id);
        e.weights.push_back(*col_float8(r, 4));
        e.variants.emplace(id, std::move(cv));
    }
    cache[cache_key(code, org)] = std::move(e);
}

std::optional<std::int32_t> stored_variant(const CachedExperiment& e, const std::string& subject) {
    Oid heap_id = abx_relation("assignments");
    Oid index_id = abx_relation("assignments_pkey");
    if (!OidIsValid(heap_id) || !OidIsValid(index_id)) return std::nullopt;
    struct Found {
        bool found;
        std::int32_t variant_id;
    };
    const char* subject_data = subject.data();
    int subject_len = (int)subject.size();
    Found result = pg_call([&] {
        Found f{false, 0};
        Relation heap = table_open(heap_id, AccessShareLock);
        Relation index = index_open(index_id, AccessShareLock);
        AttrNumber variant_attno = get_attnum(heap_id, "variant_id");
        ScanKeyData keys[3];
        ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(e.id));
        ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ,
                    Int64GetDatum(e.organization_scope));
        ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_TEXTEQ,
                    PointerGetDatum(cstring_to_text_with_len(subject_data, subject_len)));
        keys[2].sk_collation = index->rd_indcollation[2];
        IndexScanDesc scan = index_beginscan(heap, index, GetActiveSnapshot(), 3, 0);
        index_rescan(scan, keys, 3, nullptr, 0);
        TupleTableSlot* slot = table_slot_create(heap, nullptr);
        if (index_getnext_slot(scan, ForwardScanDirection, slot)) {
            bool is_null = false;
            Datum v = slot_getattr(slot, variant_attno, &is_null);
            if (!is_null) {
                f.found = true;
                f.variant_id = DatumGetInt32(v);
            }
        }
        ExecDropSingleTupleTableSlot(slot);
        index_endscan(scan);
        index_close(index, AccessShareLock);
        table_close(heap, AccessShareLock);
        return f;
    });
    if (!result.found) return std::nullopt;
    return result.variant_id;
}

Datum variant_key_datum(const CachedVariant& v) {
    return text_datum(v.key);
}

Datum variant_config_datum(const CachedVariant& v) {
    const std::string& bytes = v.config_jsonb;
    return pg_call([&] {
        void* copy = palloc(bytes.size());
        memcpy(copy, bytes.data(), bytes.size());
        return PointerGetDatum(copy);
    });
}

}  // namespace abx::pg
