// SQL API for assignment: abx.assign (sticky, deterministic) and abx.assignment (read-only lookup).
#include "access.hpp"
#include "fast_lookup.hpp"
#include "store.hpp"

#include "abx/event_input.hpp"
#include "abx/hashing.hpp"
#include "abx/json_limits.hpp"
#include "abx/targeting.hpp"
#include "jsonb_reader.hpp"

namespace abx::pg {
namespace {

// One round trip answers a returning subject: the experiment, the organization scope, and the
// stored assignment with its variant. LATERAL: the organization scope is known before the probe,
// so every plan (also a generic one made while the table was empty) uses all three primary-key
// columns.
const std::string kLookupSql = "WITH " + resolved_experiment_cte(1, 3) + R"SQL(
SELECT r.id, r.status, r.salt, r.coverage, r.targeting, r.org_scope, r.unknown_org,
       v.key, v.config, a.assigned_at
  FROM resolved r
  LEFT JOIN LATERAL (
        SELECT a.variant_id, a.assigned_at FROM abx.assignments a
         WHERE a.experiment_id = r.id AND a.organization_id = r.org_scope
           AND a.subject = $2) a ON true
  LEFT JOIN abx.variants v ON v.id = a.variant_id)SQL";
Statement lookup(kLookupSql, {TEXTOID, TEXTOID, TEXTOID});

// Bandit experiments hash new subjects onto their arms' Thompson-sampling shares (abx.bandit_arms,
// refreshed by abx.aggregate); every other experiment onto its configured weights.
Statement variants_of(R"SQL(
SELECT v.id, coalesce(b.share, v.weight), v.key, v.config
  FROM abx.variants v LEFT JOIN abx.bandit_arms b ON b.variant_id = v.id
 WHERE v.experiment_id = $1 ORDER BY v.position)SQL",
                      {INT8OID});

Statement variant_by_id("SELECT key, config FROM abx.variants WHERE id = $1", {INT4OID});

Statement insert_assignment(R"SQL(
INSERT INTO abx.assignments (experiment_id, organization_id, subject, variant_id, assigned_at, context)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING)SQL",
                            {INT8OID, INT8OID, TEXTOID, INT4OID, TIMESTAMPTZOID, JSONBOID});

enum Col {
    kId = 1,
    kStatus,
    kSalt,
    kCoverage,
    kTargeting,
    kOrgScope,
    kUnknownOrg,
    kVariant,
    kConfig,
    kAssignedAt
};

struct Lookup {
    std::int64_t experiment_id = 0;
    Status status = Status::Draft;
    std::int64_t organization_scope = 0;
    std::optional<Datum> variant;  // in the caller's context
    std::optional<Datum> config;
    std::optional<Datum> assigned_at;
};

Lookup run_lookup(const std::string& experiment, const std::string& subject,
                  const std::optional<std::string>& org, bool read_only) {
    Args args(3);
    args.set(0, text_datum(experiment)).set(1, text_datum(subject)).set_or_null(2, org);
    Lookup l;
    if (lookup.run(args.values(), args.nulls(), read_only, 1) == 0) {
        resolve_organization(org);  // names an unknown organization first
        experiment_not_found(experiment, org);
    }
    if (*col_bool(0, kUnknownOrg)) resolve_organization(org);
    l.experiment_id = *col_int64(0, kId);
    l.status = parse_status(*col_text(0, kStatus));
    l.organization_scope = *col_int64(0, kOrgScope);
    l.variant = col_datum_out(0, kVariant);
    l.config = col_datum_out(0, kConfig);
    if (l.variant)
        if (std::optional<TimestampTz> at = col_timestamptz(0, kAssignedAt))
            l.assigned_at = TimestampTzGetDatum(*at);
    return l;
}

// The context argument: checked before anything is decided, kept as the caller's jsonb for storing.
struct Context {
    nlohmann::json doc = nlohmann::json::object();
    std::optional<Datum> stored;  // NULL when absent or empty
};

Context read_context(FunctionCallInfo fcinfo, int arg) {
    Context c;
    if (PG_ARGISNULL(arg)) return c;
    Datum d = PG_GETARG_DATUM(arg);
    // The stored size bounds the work before conversion; validate_context checks the text.
    if (jsonb_size(d) > kMaxDocumentBytes)
        invalid_field("context", "must be at most " + std::to_string(kMaxDocumentBytes) + " bytes");
    nlohmann::json doc = json_from_jsonb(d);
    if (doc.is_null()) return c;
    validate_context(doc);
    if (!doc.empty()) c.stored = d;
    c.doc = std::move(doc);
    return c;
}

Datum assign_result(FunctionCallInfo fcinfo, std::optional<Datum> variant,
                    std::optional<Datum> config, bool is_new, const std::string& reason) {
    Datum values[4] = {variant.value_or(0), config.value_or(0), BoolGetDatum(is_new),
                       text_datum(reason)};
    bool nulls[4] = {!variant, !config, false, false};
    return make_record(fcinfo, values, nulls, 4);
}

// A new subject of a cached, running experiment: targeting, coverage and variant
// decided from the cache, then one INSERT; if another session won the race, its row is returned.
Datum assign_new_cached(FunctionCallInfo fcinfo, const CachedExperiment& e,
                        const std::string& experiment, const std::string& subject,
                        const std::optional<std::string>& org) {
    Context context = read_context(fcinfo, 2);
    if (e.targeting) {
        MatchResult match = e.targeting->match(context.doc);
        if (!match.matched)
            return assign_result(fcinfo, std::nullopt, std::nullopt, false,
                                 "not_targeted: " + match.reason);
    }
    HashDecision decision = decide(e.salt, subject, e.coverage, e.weights);
    if (!decision.covered)
        return assign_result(fcinfo, std::nullopt, std::nullopt, false, "not_in_coverage");
    std::int32_t variant_id = e.variant_ids[decision.variant];

    spi_connect();
    Args ins(6);
    ins.set(0, Int64GetDatum(e.id))
        .set(1, Int64GetDatum(e.organization_scope))
        .set(2, text_datum(subject))
        .set(3, Int32GetDatum(variant_id))
        .set(4, TimestampTzGetDatum(abx_now()));
    if (context.stored)
        ins.set(5, *context.stored);
    else
        ins.null(5);
    if (insert_assignment.run(ins.values(), ins.nulls(), false) == 0) {
        // Another transaction assigned this subject first and has committed. Its row is newer
        // than this statement's snapshot: read it with a fresh one (a new SPI statement).
        Lookup winner = run_lookup(experiment, subject, org, false);
        spi_finish();
        return assign_result(fcinfo, winner.variant, winner.config, false, "existing");
    }
    spi_finish();
    const CachedVariant& v = e.variants.at(variant_id);
    return assign_result(fcinfo, variant_key_datum(v), variant_config_datum(v), true, "assigned");
}

}  // namespace
}  // namespace abx::pg

using namespace abx;
using namespace abx::pg;

ABX_SQL_FUNCTION(abx_assign) {
    std::string experiment = arg_text(fcinfo, 0, "experiment");
    std::string subject = arg_text(fcinfo, 1, "subject");
    validate_subject(subject);
    std::optional<std::string> org =
        authorize(Right::Assign, "abx.assign", arg_text_opt(fcinfo, 3)).organization;

    // Returning subjects of a cached experiment: one index probe, no SPI. New subjects of a cached
    // running experiment: the decision in C++ and one INSERT.
    const CachedExperiment* cached = cached_experiment(experiment, org);
    if (cached && cached->promoted) {
        // Promoted: the winner for every subject, returning or new; stored assignments stay.
        auto it = cached->variants.find(*cached->promoted);
        if (it != cached->variants.end())
            return assign_result(fcinfo, variant_key_datum(it->second),
                                 variant_config_datum(it->second), false, "promoted");
    }
    if (cached) {
        if (std::optional<std::int32_t> variant_id = stored_variant(*cached, subject)) {
            auto it = cached->variants.find(*variant_id);
            if (it != cached->variants.end())
                return assign_result(fcinfo, variant_key_datum(it->second),
                                     variant_config_datum(it->second), false, "existing");
        } else if (cached->status == Status::Running) {
            return assign_new_cached(fcinfo, *cached, experiment, subject, org);
        }
    }

    spi_connect();
    if (!cached) cache_experiment(experiment, org);
    Lookup found = run_lookup(experiment, subject, org, false);
    if (found.status == Status::Completed) {
        if (std::optional<std::int32_t> promoted = promoted_variant(found.experiment_id, false)) {
            Args p(1);
            p.set(0, Int32GetDatum(*promoted));
            variant_by_id.run(p.values(), p.nulls(), false, 1);
            std::optional<Datum> key = col_datum_out(0, 1), config = col_datum_out(0, 2);
            spi_finish();
            return assign_result(fcinfo, key, config, false, "promoted");
        }
    }
    if (found.variant) {
        spi_finish();
        return assign_result(fcinfo, found.variant, found.config, false, "existing");
    }
    if (!accepts_new_assignments(found.status)) {
        spi_finish();
        return assign_result(fcinfo, std::nullopt, std::nullopt, false,
                             "experiment_" + std::string(to_string(found.status)));
    }

    // Targeting and coverage: both decided before anything is written.
    std::optional<nlohmann::json> targeting = col_jsonb(0, kTargeting);
    std::string salt = *col_text(0, kSalt);
    double coverage = *col_float8(0, kCoverage);
    Context context = read_context(fcinfo, 2);
    if (targeting && !targeting->empty()) {
        Targeting rules = Targeting::compile(*targeting);
        MatchResult match = rules.match(context.doc);
        if (!match.matched) {
            spi_finish();
            return assign_result(fcinfo, std::nullopt, std::nullopt, false,
                                 "not_targeted: " + match.reason);
        }
    }

    Args vargs(1);
    vargs.set(0, Int64GetDatum(found.experiment_id));
    std::uint64_t n = variants_of.run(vargs.values(), vargs.nulls(), false);
    std::vector<double> weights(n);
    for (std::uint64_t i = 0; i < n; ++i) weights[i] = *col_float8(i, 2);
    HashDecision decision = decide(salt, subject, coverage, weights);
    if (!decision.covered) {
        spi_finish();
        return assign_result(fcinfo, std::nullopt, std::nullopt, false, "not_in_coverage");
    }
    std::int64_t variant_id = *col_int64(decision.variant, 1);
    std::optional<Datum> variant = col_datum_out(decision.variant, 3);
    std::optional<Datum> config = col_datum_out(decision.variant, 4);

    Args ins(6);
    ins.set(0, Int64GetDatum(found.experiment_id))
        .set(1, Int64GetDatum(found.organization_scope))
        .set(2, text_datum(subject))
        .set(3, Int32GetDatum((int)variant_id))
        .set(4, TimestampTzGetDatum(abx_now()));
    if (context.stored)
        ins.set(5, *context.stored);
    else
        ins.null(5);
    if (insert_assignment.run(ins.values(), ins.nulls(), false) == 1) {
        spi_finish();
        return assign_result(fcinfo, variant, config, true, "assigned");
    }
    // Another transaction assigned this subject first and has committed: return its choice.
    Lookup winner = run_lookup(experiment, subject, org, false);
    spi_finish();
    return assign_result(fcinfo, winner.variant, winner.config, false, "existing");
}

ABX_SQL_FUNCTION(abx_get_assignment) {
    std::string experiment = arg_text(fcinfo, 0, "experiment");
    std::string subject = arg_text(fcinfo, 1, "subject");
    validate_subject(subject);
    std::optional<std::string> org =
        authorize(Right::Assign, "abx.assignment", arg_text_opt(fcinfo, 2)).organization;
    spi_connect();
    Lookup found = run_lookup(experiment, subject, org, true);
    spi_finish();
    Datum values[3] = {found.variant.value_or(0), found.config.value_or(0),
                       found.assigned_at.value_or(0)};
    bool nulls[3] = {!found.variant, !found.config, !found.assigned_at};
    return make_record(fcinfo, values, nulls, 3);
}
