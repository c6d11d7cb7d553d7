#include "store.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
}

namespace abx::pg {
namespace {

Statement organization_by_key("SELECT id FROM abx.organizations WHERE key = $1", {TEXTOID});

const char* const kExperimentColumns =
    "SELECT id, status, code, name, description, kind, targeting, coverage, salt, metrics, "
    "winner_policy, analysis, organization_id FROM abx.experiments ";
const std::string kExperimentByCode =
    std::string(kExperimentColumns) + "WHERE code = $1 AND organization_id IS NOT DISTINCT FROM $2";
Statement experiment_by_code(kExperimentByCode, {TEXTOID, INT8OID});
Statement experiment_by_code_locked(kExperimentByCode + " FOR UPDATE", {TEXTOID, INT8OID});
Statement experiment_by_id(std::string(kExperimentColumns) + "WHERE id = $1", {INT8OID});
Statement variants_of(
    "SELECT id, key, name, weight, config, is_control FROM abx.variants WHERE experiment_id = $1 "
    "ORDER BY position",
    {INT8OID});

Statement id_by_code(
    "SELECT id FROM abx.experiments WHERE code = $1 AND organization_id IS NOT DISTINCT FROM $2",
    {TEXTOID, INT8OID});

Statement name_of(
    "SELECT e.code, o.key FROM abx.experiments e LEFT JOIN abx.organizations o "
    "ON o.id = e.organization_id WHERE e.id = $1",
    {INT8OID});

Statement document_of(R"SQL(
SELECT jsonb_build_object(
         'id', e.id, 'code', e.code, 'organization', o.key, 'name', e.name,
         'description', e.description, 'status', e.status, 'kind', e.kind,
         'targeting', e.targeting, 'coverage', e.coverage, 'salt', e.salt,
         'metrics', e.metrics, 'winner_policy', e.winner_policy, 'analysis', e.analysis,
         'created_at', e.created_at, 'updated_at', e.updated_at, 'started_at', e.started_at,
         'paused_at', e.paused_at, 'completed_at', e.completed_at, 'archived_at', e.archived_at,
         'winner', jsonb_build_object('variant', e.winner_variant, 'decided_at', e.winner_decided_at,
                                      'reason', e.winner_reason),
         'promoted_variant', (SELECT p.key FROM abx.variants p WHERE p.id = e.promoted_variant_id),
         'variants', (SELECT jsonb_agg(jsonb_build_object('key', v.key, 'name', v.name,
                                                          'weight', v.weight, 'config', v.config,
                                                          'is_control', v.is_control)
                                       ORDER BY v.position)
                        FROM abx.variants v WHERE v.experiment_id = e.id))
  FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
 WHERE e.id = $1)SQL",
                      {INT8OID});

ExperimentKind parse_kind(const std::string& kind) {
    return kind == "bandit" ? ExperimentKind::Bandit : ExperimentKind::AB;
}

// The experiment in row 0 of the current SPI result, with its variants.
StoredExperiment read_experiment(bool read_only) {
    StoredExperiment e;
    e.id = *col_int64(0, 1);
    e.status = parse_status(*col_text(0, 2));
    e.spec.code = *col_text(0, 3);
    e.spec.name = *col_text(0, 4);
    e.spec.description = *col_text(0, 5);
    e.spec.kind = parse_kind(*col_text(0, 6));
    e.spec.targeting = *col_jsonb(0, 7);
    e.spec.coverage = *col_float8(0, 8);
    e.spec.salt = *col_text(0, 9);
    e.spec.metrics = *col_jsonb(0, 10);
    e.spec.winner_policy = *col_jsonb(0, 11);
    e.spec.analysis = *col_jsonb(0, 12);
    e.organization_id = col_int64(0, 13);

    Args vargs(1);
    vargs.set(0, Int64GetDatum(e.id));
    std::uint64_t n = variants_of.run(vargs.values(), vargs.nulls(), read_only);
    for (std::uint64_t row = 0; row < n; ++row) {
        StoredVariant v;
        v.id = *col_int64(row, 1);
        v.spec.key = *col_text(row, 2);
        v.spec.name = *col_text(row, 3);
        v.spec.weight = *col_float8(row, 4);
        v.spec.config = *col_jsonb(row, 5);
        v.spec.is_control = *col_bool(row, 6);
        e.spec.variants.push_back(v.spec);
        e.variants.push_back(std::move(v));
    }
    return e;
}

}  // namespace

std::string resolved_experiment_cte(int code_param, int org_param) {
    std::string sql = R"SQL(resolved AS (
  SELECT e.id, e.status, e.salt, e.coverage, e.targeting, e.ctid AS row_ctid, e.xmin AS row_xmin,
         e.organization_id AS owner_id, coalesce(o.id, 0) AS org_scope,
         (o.id IS NULL AND $ORG::text IS NOT NULL) AS unknown_org
    FROM (SELECT 1) AS one
    LEFT JOIN abx.organizations o ON o.key = $ORG
    JOIN abx.experiments e ON e.code = $CODE
     AND (e.organization_id IS NULL OR e.organization_id = o.id)
   ORDER BY e.organization_id NULLS LAST LIMIT 1))SQL";
    for (auto [token, param] : {std::pair{"$CODE", code_param}, std::pair{"$ORG", org_param}})
        for (std::size_t at; (at = sql.find(token)) != std::string::npos;)
            sql.replace(at, std::string_view(token).size(), "$" + std::to_string(param));
    return sql;
}

std::optional<std::int64_t> resolve_organization(const std::optional<std::string>& key) {
    if (!key) return std::nullopt;
    Args args(1);
    args.set(0, text_datum(*key));
    if (organization_by_key.run(args.values(), args.nulls(), false, 1) == 0)
        throw Error(sqlstate::kNoDataFound, "unknown organization \"" + *key + "\"", "",
                    "create it with abx.create_organization(key, name)");
    return col_int64(0, 1);
}

void experiment_not_found(const std::string& code, const std::optional<std::string>& org_key) {
    std::string scope = org_key ? "organization \"" + *org_key + "\"" : "the global scope";
    throw Error(sqlstate::kNoDataFound, "experiment \"" + code + "\" does not exist in " + scope);
}

StoredExperiment load_experiment(const std::string& code, const std::optional<std::string>& org_key,
                                 bool for_update) {
    std::optional<std::int64_t> org_id = resolve_organization(org_key);
    Args args(2);
    args.set(0, text_datum(code)).set_or_null(1, org_id);
    Statement& query = for_update ? experiment_by_code_locked : experiment_by_code;
    if (query.run(args.values(), args.nulls(), !for_update, 1) == 0)
        experiment_not_found(code, org_key);

    return read_experiment(!for_update);
}

namespace {
Statement promoted_of("SELECT promoted_variant_id FROM abx.experiments WHERE id = $1", {INT8OID});
}  // namespace

std::optional<std::int32_t> promoted_variant(std::int64_t experiment_id, bool read_only) {
    // A 0.2.0 schema (library installed, ALTER EXTENSION UPDATE not run yet) has no promotions.
    bool has_column = pg_call([] {
        Oid ns = get_namespace_oid("abx", true);
        Oid rel = OidIsValid(ns) ? get_relname_relid("experiments", ns) : InvalidOid;
        return OidIsValid(rel) && get_attnum(rel, "promoted_variant_id") != InvalidAttrNumber;
    });
    if (!has_column) return std::nullopt;
    Args a(1);
    a.set(0, Int64GetDatum(experiment_id));
    if (promoted_of.run(a.values(), a.nulls(), read_only, 1) == 0) return std::nullopt;
    std::optional<std::int64_t> id = col_int64(0, 1);
    if (!id) return std::nullopt;
    return (std::int32_t)*id;
}

std::optional<std::int64_t> find_experiment_id(const std::string& code,
                                               const std::optional<std::string>& org_key) {
    std::optional<std::int64_t> org_id = resolve_organization(org_key);
    Args args(2);
    args.set(0, text_datum(code)).set_or_null(1, org_id);
    if (id_by_code.run(args.values(), args.nulls(), true, 1) == 0) return std::nullopt;
    return col_int64(0, 1);
}

std::int64_t find_own_or_global_experiment(const std::string& code,
                                           const std::optional<std::string>& org_key) {
    std::optional<std::int64_t> id = find_experiment_id(code, org_key);
    if (!id && org_key) id = find_experiment_id(code, std::nullopt);
    if (!id) experiment_not_found(code, org_key);
    return *id;
}

StoredExperiment load_experiment_by_id(std::int64_t experiment_id) {
    Args args(1);
    args.set(0, Int64GetDatum(experiment_id));
    if (experiment_by_id.run(args.values(), args.nulls(), false, 1) == 0)
        throw Error(sqlstate::kNoDataFound,
                    "experiment " + std::to_string(experiment_id) + " does not exist");
    return read_experiment(false);
}

std::pair<std::string, std::optional<std::string>> experiment_name(std::int64_t experiment_id,
                                                                   bool read_only) {
    Args args(1);
    args.set(0, Int64GetDatum(experiment_id));
    if (name_of.run(args.values(), args.nulls(), read_only, 1) == 0)
        throw Error(sqlstate::kNoDataFound,
                    "experiment " + std::to_string(experiment_id) + " does not exist");
    return {*col_text(0, 1), col_text(0, 2)};
}

Datum experiment_document(std::int64_t experiment_id) {
    Args args(1);
    args.set(0, Int64GetDatum(experiment_id));
    // Not read-only: the document must show what this function just wrote.
    document_of.run(args.values(), args.nulls(), false, 1);
    return *col_datum_out(0, 1);
}

}  // namespace abx::pg
