// SQL API for defining experiments: create, update, read, and the lifecycle transitions.
#include "access.hpp"
#include "outbox.hpp"
#include "partitions.hpp"
#include "store.hpp"

#include "abx/audit.hpp"
#include "abx/json_limits.hpp"
#include "audit.hpp"
#include "jsonb_reader.hpp"

extern "C" {
#include "port.h"
}

#include <array>

namespace abx::pg {
namespace {

Statement insert_experiment(R"SQL(
INSERT INTO abx.experiments (organization_id, code, name, description, kind, targeting, coverage,
                             salt, metrics, winner_policy, created_at, updated_at, analysis)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id)SQL",
                            {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, FLOAT8OID,
                             TEXTOID, JSONBOID, JSONBOID, TIMESTAMPTZOID, JSONBOID});

Statement update_experiment_row(R"SQL(
UPDATE abx.experiments SET code = $2, name = $3, description = $4, kind = $5, targeting = $6,
       coverage = $7, metrics = $8, winner_policy = $9, updated_at = $10, analysis = $11
 WHERE id = $1)SQL",
                                {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, FLOAT8OID,
                                 JSONBOID, JSONBOID, TIMESTAMPTZOID, JSONBOID});

Statement insert_variant(R"SQL(
INSERT INTO abx.variants (experiment_id, key, name, weight, config, is_control, position)
VALUES ($1, $2, $3, $4, $5, $6, $7))SQL",
                         {INT8OID, TEXTOID, TEXTOID, FLOAT8OID, JSONBOID, BOOLOID, INT4OID});

Statement update_variant(R"SQL(
UPDATE abx.variants SET name = $3, weight = $4, config = $5, position = $6
 WHERE experiment_id = $1 AND key = $2)SQL",
                         {INT8OID, TEXTOID, TEXTOID, FLOAT8OID, JSONBOID, INT4OID});

Statement delete_variants("DELETE FROM abx.variants WHERE experiment_id = $1", {INT8OID});

Statement set_status(R"SQL(
UPDATE abx.experiments
   SET status = $2, updated_at = $3,
       started_at   = CASE WHEN $2 = 'running' AND started_at IS NULL THEN $3 ELSE started_at END,
       paused_at    = CASE WHEN $2 = 'paused' THEN $3 WHEN $2 = 'running' THEN NULL ELSE paused_at END,
       completed_at = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_at END,
       archived_at  = CASE WHEN $2 = 'archived' THEN $3 ELSE archived_at END
 WHERE id = $1)SQL",
                     {INT8OID, TEXTOID, TIMESTAMPTZOID});

Statement code_taken(
    "SELECT 1 FROM abx.experiments WHERE code = $1 AND organization_id IS NOT DISTINCT FROM $2",
    {TEXTOID, INT8OID});

std::string random_salt() {
    std::array<unsigned char, 12> bytes{};
    bool ok = pg_call([&] { return pg_strong_random(bytes.data(), bytes.size()); });
    if (!ok) throw Error(sqlstate::kInternalError, "could not generate a random salt");
    static const char* hex = "0123456789abcdef";
    std::string salt;
    for (unsigned char b : bytes) {
        salt += hex[b >> 4];
        salt += hex[b & 15];
    }
    return salt;
}

void ensure_code_free(const std::string& code, const std::optional<std::int64_t>& org_id,
                      const std::optional<std::string>& org_key) {
    Args args(2);
    args.set(0, text_datum(code));
    args.set_or_null(1, org_id);
    if (code_taken.run(args.values(), args.nulls(), false, 1) > 0) {
        std::string scope = org_key ? "organization \"" + *org_key + "\"" : "the global scope";
        throw Error(sqlstate::kUniqueViolation,
                    "experiment \"" + code + "\" already exists in " + scope);
    }
}

void insert_variant_at(std::int64_t experiment_id, const VariantSpec& v, std::size_t position) {
    Args args(7);
    args.set(0, Int64GetDatum(experiment_id))
        .set(1, text_datum(v.key))
        .set(2, text_datum(v.name))
        .set(3, Float8GetDatum(v.weight))
        .set(4, jsonb_datum(v.config))
        .set(5, BoolGetDatum(v.is_control))
        .set(6, Int32GetDatum((int)position));
    insert_variant.run(args.values(), args.nulls(), false);
}

void insert_variants(std::int64_t experiment_id, const std::vector<VariantSpec>& variants) {
    for (std::size_t i = 0; i < variants.size(); ++i)
        insert_variant_at(experiment_id, variants[i], i);
}

bool has_variant(const StoredExperiment& e, const std::string& key) {
    for (const StoredVariant& s : e.variants)
        if (s.spec.key == key) return true;
    return false;
}

Datum finish_with_document(std::int64_t experiment_id) {
    Datum doc = experiment_document(experiment_id);
    spi_finish();
    return doc;
}

// The experiment document as JSON, without the bookkeeping timestamp every change moves.
nlohmann::json audited_document(Datum document) {
    nlohmann::json doc = json_from_jsonb(document);
    doc.erase("updated_at");
    return doc;
}

nlohmann::json audited_document(std::int64_t experiment_id) {
    return audited_document(experiment_document(experiment_id));
}

// Ends a change of an experiment: one audit entry with the fields that differ from `before`, and
// the new document the function returns.
Datum finish_audited(const std::string& action, std::int64_t experiment_id,
                     std::optional<std::int64_t> organization_id, const nlohmann::json& before) {
    Datum doc = experiment_document(experiment_id);
    AuditRecord r;
    r.action = action;
    r.target = "experiment:" + std::to_string(experiment_id);
    r.organization_id = organization_id;
    r.experiment_id = experiment_id;
    r.change = audit::document_change(before, audited_document(doc));
    append_audit(r);
    spi_finish();
    return doc;
}

// Changes of an organization's experiment need `right`; of a global one, an ops admin without an
// organization.
std::optional<std::string> authorize_change(Right right, const char* function,
                                            const std::optional<std::string>& org_argument) {
    Access access = authorize(right, function, org_argument);
    if (!access.organization)
        require_no_organization(access, Right::ExperimentsAdmin,
                                std::string(function) + " of a global experiment");
    return access.organization;
}

Datum transition_body(FunctionCallInfo fcinfo, Action action) {
    std::string code = arg_text(fcinfo, 0, "code");
    std::string function = "abx." + std::string(to_string(action));
    std::optional<std::string> org = authorize_change(
        action == Action::Archive ? Right::ExperimentsAdmin : Right::ExperimentsLifecycle,
        function.c_str(), arg_text_opt(fcinfo, 1));
    spi_connect();
    StoredExperiment e = load_experiment(code, org, true);
    nlohmann::json before = audited_document(e.id);
    Status next;
    try {
        next = transition(e.status, action);
    } catch (Error& err) {
        err.detail = "experiment \"" + code + "\"";
        throw;
    }
    Args args(3);
    args.set(0, Int64GetDatum(e.id))
        .set(1, text_datum(to_string(next)))
        .set(2, TimestampTzGetDatum(abx_now()));
    set_status.run(args.values(), args.nulls(), false);
    if (next == Status::Running) ensure_event_partitions(7);
    OutboxEvent changed{"experiment.status_changed",
                        "info",
                        e.organization_id,
                        e.id,
                        {{"experiment", code},
                         {"organization", org ? nlohmann::json(*org) : nlohmann::json(nullptr)},
                         {"from", to_string(e.status)},
                         {"to", to_string(next)}}};
    emit(changed);
    return finish_audited("experiment." + std::string(to_string(action)), e.id, e.organization_id,
                          before);
}

}  // namespace
}  // namespace abx::pg

using namespace abx;
using namespace abx::pg;

ABX_SQL_FUNCTION(abx_create_experiment) {
    if (PG_ARGISNULL(0)) null_field("spec");
    nlohmann::json document = arg_jsonb(fcinfo, 0);
    require_representable_numbers(document, "");
    ExperimentSpec spec = parse_experiment_spec(document);
    std::optional<std::string> org_key =
        authorize_change(Right::ExperimentsWrite, "abx.create_experiment", arg_text_opt(fcinfo, 1));

    spi_connect();
    std::optional<std::int64_t> org_id = resolve_organization(org_key);
    ensure_code_free(spec.code, org_id, org_key);
    if (spec.salt.empty()) spec.salt = random_salt();

    Args args(12);
    args.set_or_null(0, org_id);
    args.set(1, text_datum(spec.code))
        .set(2, text_datum(spec.name))
        .set(3, text_datum(spec.description))
        .set(4, text_datum(to_string(spec.kind)))
        .set(5, jsonb_datum(spec.targeting))
        .set(6, Float8GetDatum(spec.coverage))
        .set(7, text_datum(spec.salt))
        .set(8, jsonb_datum(spec.metrics))
        .set(9, jsonb_datum(spec.winner_policy))
        .set(10, TimestampTzGetDatum(abx_now()))
        .set(11, jsonb_datum(spec.analysis));
    insert_experiment.run(args.values(), args.nulls(), false);
    std::int64_t id = *col_int64(0, 1);
    insert_variants(id, spec.variants);
    return finish_audited("experiment.create", id, org_id, nlohmann::json::object());
}

ABX_SQL_FUNCTION(abx_update_experiment) {
    std::string code = arg_text(fcinfo, 0, "code");
    if (PG_ARGISNULL(1)) null_field("patch");
    nlohmann::json patch = arg_jsonb(fcinfo, 1);
    require_representable_numbers(patch, "");
    std::optional<std::string> org_key =
        authorize_change(Right::ExperimentsWrite, "abx.update_experiment", arg_text_opt(fcinfo, 2));

    spi_connect();
    StoredExperiment current = load_experiment(code, org_key, true);
    nlohmann::json before = audited_document(current.id);
    ExperimentSpec next = apply_update(current.spec, current.status, patch);
    if (next.code != current.spec.code)
        ensure_code_free(next.code, current.organization_id, org_key);

    Args args(11);
    args.set(0, Int64GetDatum(current.id))
        .set(1, text_datum(next.code))
        .set(2, text_datum(next.name))
        .set(3, text_datum(next.description))
        .set(4, text_datum(to_string(next.kind)))
        .set(5, jsonb_datum(next.targeting))
        .set(6, Float8GetDatum(next.coverage))
        .set(7, jsonb_datum(next.metrics))
        .set(8, jsonb_datum(next.winner_policy))
        .set(9, TimestampTzGetDatum(abx_now()))
        .set(10, jsonb_datum(next.analysis));
    update_experiment_row.run(args.values(), args.nulls(), false);

    if (current.status == Status::Draft) {
        // No assignment can reference a draft's variants: replace them wholesale.
        Args del(1);
        del.set(0, Int64GetDatum(current.id));
        delete_variants.run(del.values(), del.nulls(), false);
        insert_variants(current.id, next.variants);
    } else {
        // Existing variants keep their ids (assignments point at them); new ones are inserted.
        for (std::size_t i = 0; i < next.variants.size(); ++i) {
            const VariantSpec& v = next.variants[i];
            if (!has_variant(current, v.key)) {
                insert_variant_at(current.id, v, i);
                continue;
            }
            Args u(6);
            u.set(0, Int64GetDatum(current.id))
                .set(1, text_datum(v.key))
                .set(2, text_datum(v.name))
                .set(3, Float8GetDatum(v.weight))
                .set(4, jsonb_datum(v.config))
                .set(5, Int32GetDatum((int)i));
            update_variant.run(u.values(), u.nulls(), false);
        }
    }
    return finish_audited("experiment.update", current.id, current.organization_id, before);
}

ABX_SQL_FUNCTION(abx_get_experiment) {
    std::string code = arg_text(fcinfo, 0, "code");
    Access access = authorize(Right::ExperimentsRead, "abx.experiment", arg_text_opt(fcinfo, 1));
    spi_connect();
    // An organization reads its own experiment, else the global one of that code.
    std::int64_t id = find_own_or_global_experiment(code, access.organization);
    return finish_with_document(id);
}

ABX_SQL_FUNCTION(abx_start) {
    return transition_body(fcinfo, Action::Start);
}
ABX_SQL_FUNCTION(abx_pause) {
    return transition_body(fcinfo, Action::Pause);
}
ABX_SQL_FUNCTION(abx_resume) {
    return transition_body(fcinfo, Action::Resume);
}
ABX_SQL_FUNCTION(abx_complete) {
    return transition_body(fcinfo, Action::Complete);
}
ABX_SQL_FUNCTION(abx_archive) {
    return transition_body(fcinfo, Action::Archive);
}

namespace {
Statement delete_experiment_row("DELETE FROM abx.experiments WHERE id = $1", {INT8OID});
}  // namespace

// Drafts only: nothing can reference a draft (it takes no assignment and no event). Anything that
// ran is archived instead, so its history stays.
ABX_SQL_FUNCTION(abx_delete_experiment) {
    std::string code = arg_text(fcinfo, 0, "code");
    Access access =
        authorize(Right::ExperimentsAdmin, "abx.delete_experiment", arg_text_opt(fcinfo, 1));
    spi_connect();
    StoredExperiment e = load_experiment(code, access.organization, true);
    if (e.status != Status::Draft)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + code + "\" is " + std::string(to_string(e.status)) +
                        ": only drafts can be deleted",
                    "", "archive it with abx.archive(code)");
    Datum doc = experiment_document(e.id);
    AuditRecord r;
    r.action = "experiment.delete";
    r.target = "experiment:" + std::to_string(e.id);
    r.organization_id = e.organization_id;
    r.experiment_id = e.id;
    r.change = {{"before", audited_document(doc)}};
    append_audit(r);
    Args args(1);
    args.set(0, Int64GetDatum(e.id));
    delete_experiment_row.run(args.values(), args.nulls(), false);
    spi_finish();
    return doc;
}
