// SQL API of winners and promotion (seeds 001, 004): abx.promote, abx.rollback, abx.approve,
// abx.reject, abx.promotion_history, abx.auto_promote (the hourly job), abx.set_autonomy. Every
// change is audited and written to the outbox in its transaction (docs/operations.md).
#include "access.hpp"
#include "analysis_input.hpp"
#include "audit.hpp"
#include "autonomy.hpp"
#include "outbox.hpp"
#include "settings.hpp"

#include "abx/promotion.hpp"
#include "jsonb_reader.hpp"

using namespace abx;
using namespace abx::pg;

namespace {

void audit_experiment_as(const std::string& action, const AnalysisInput& in, nlohmann::json change,
                         std::optional<AuditRecord::Refusal> refused) {
    AuditRecord r;
    r.action = action;
    r.target = "experiment:" + std::to_string(in.experiment.id);
    r.organization_id = in.experiment.organization_id;
    r.experiment_id = in.experiment.id;
    r.change = std::move(change);
    r.refused = std::move(refused);
    append_audit(r);
}

Statement state_of(R"SQL(
SELECT status, jsonb_build_object('status', status, 'completed_at', completed_at,
                                  'winner_variant', winner_variant,
                                  'winner_decided_at', winner_decided_at,
                                  'winner_reason', winner_reason),
       promoted_variant_id IS NOT NULL, winner_variant
  FROM abx.experiments WHERE id = $1 FOR UPDATE)SQL",
                   {INT8OID});
Statement results_snapshot(
    "SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM abx.results($1, $2) r", {TEXTOID, TEXTOID});
Statement set_promoted(R"SQL(
UPDATE abx.experiments SET status = 'completed', completed_at = $2, updated_at = $2,
       promoted_variant_id = $3, winner_variant = $4, winner_decided_at = $2, winner_reason = $5
 WHERE id = $1)SQL",
                       {INT8OID, TIMESTAMPTZOID, INT4OID, TEXTOID, TEXTOID});
Statement insert_promotion(R"SQL(
INSERT INTO abx.promotions (experiment_id, organization_id, winner_variant, control_variant,
                            confidence, improvement, sample_size, type, promoted_by, promoted_at,
                            warnings, evaluation, metrics_snapshot, experiment_before)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id)SQL",
                           {INT8OID, INT8OID, TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
                            TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID,
                            JSONBOID});
Statement active_promotion(R"SQL(
SELECT id, experiment_before, winner_variant FROM abx.promotions
 WHERE experiment_id = $1 AND rolled_back_at IS NULL FOR UPDATE)SQL",
                           {INT8OID});
Statement restore(R"SQL(
UPDATE abx.experiments SET status = $2 ->> 'status', completed_at = ($2 ->> 'completed_at')::timestamptz,
       winner_variant = $2 ->> 'winner_variant',
       winner_decided_at = ($2 ->> 'winner_decided_at')::timestamptz,
       winner_reason = $2 ->> 'winner_reason', promoted_variant_id = NULL, updated_at = $3
 WHERE id = $1)SQL",
                  {INT8OID, JSONBOID, TIMESTAMPTZOID});
Statement mark_rolled_back(R"SQL(
UPDATE abx.promotions SET rolled_back_at = $2, rolled_back_by = $3, rollback_reason = $4
 WHERE id = $1)SQL",
                           {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID});
Statement history_of(R"SQL(
SELECT coalesce(jsonb_agg(jsonb_build_object(
         'id', id, 'winner', winner_variant, 'control', control_variant, 'confidence', confidence,
         'improvement', improvement, 'sample_size', sample_size, 'type', type,
         'promoted_by', promoted_by, 'promoted_at', promoted_at, 'warnings', warnings,
         'rolled_back_at', rolled_back_at, 'rolled_back_by', rolled_back_by,
         'rollback_reason', rollback_reason, 'metrics_snapshot', metrics_snapshot)
         ORDER BY promoted_at DESC, id DESC), '[]')
  FROM abx.promotions WHERE experiment_id = $1)SQL",
                     {INT8OID});
Statement pending_of(R"SQL(
SELECT id, winner_variant FROM abx.approvals WHERE experiment_id = $1 AND status = 'pending'
   FOR UPDATE)SQL",
                     {INT8OID});
Statement insert_approval(R"SQL(
INSERT INTO abx.approvals (experiment_id, organization_id, winner_variant, evaluation, requested_at,
                           requested_by)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)SQL",
                          {INT8OID, INT8OID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TEXTOID});
Statement decide_approval(R"SQL(
UPDATE abx.approvals SET status = $2, decided_at = $3, decided_by = $4, reason = $5 WHERE id = $1)SQL",
                          {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID});
Statement running("SELECT id FROM abx.experiments WHERE status = 'running' ORDER BY id", {});
Statement organization_autonomy(R"SQL(
SELECT p.allow_autonomy FROM abx.organizations o
  LEFT JOIN abx.autonomy_policies p ON p.organization_id = o.id
 WHERE o.id = $1 FOR SHARE OF o)SQL",
                                {INT8OID});
Statement lock_organization("SELECT id FROM abx.organizations WHERE id = $1 FOR UPDATE", {INT8OID});
Statement rolled_back_before(R"SQL(
SELECT EXISTS (SELECT 1 FROM abx.promotions
                WHERE experiment_id = $1 AND winner_variant = $2 AND rolled_back_at IS NOT NULL))SQL",
                             {INT8OID, TEXTOID});
Statement set_winner(R"SQL(
UPDATE abx.experiments SET winner_variant = $2, winner_decided_at = $3, winner_reason = $4
 WHERE id = $1)SQL",
                     {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID});

}  // namespace

void abx::pg::audit_experiment(const std::string& action, const AnalysisInput& in,
                               nlohmann::json change) {
    audit_experiment_as(action, in, std::move(change), std::nullopt);
}

void abx::pg::audit_policy_denial(const AnalysisInput& in, const std::string& feature,
                                  const std::string& reason, const nlohmann::json& detail) {
    nlohmann::json change = {{"feature", feature}, {"reason", reason}};
    change.update(detail);
    audit_experiment_as(
        "policy.deny", in, std::move(change),
        AuditRecord::Refusal{calling_role(), std::nullopt, std::nullopt, "policy", abx_now()});
}

bool abx::pg::organization_allows_autonomy(const std::optional<std::int64_t>& organization_id) {
    if (!organization_id) return true;
    Args o(1);
    o.set(0, Int64GetDatum(*organization_id));
    if (organization_autonomy.run(o.values(), o.nulls(), false, 1) == 0) return true;
    return col_bool(0, 1).value_or(true);
}

namespace {

Datum float_datum(double v) {
    return Float8GetDatum(v);
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
}

nlohmann::json about(const AnalysisInput& in) {
    return {{"experiment", in.experiment.spec.code},
            {"organization", in.organization ? nlohmann::json(*in.organization) : nullptr}};
}

std::int32_t variant_id_of(const AnalysisInput& in, const std::string& key) {
    for (const StoredVariant& v : in.experiment.variants)
        if (v.spec.key == key) return (std::int32_t)v.id;
    invalid_field("variant",
                  "experiment \"" + in.experiment.spec.code + "\" has no variant \"" + key + "\"");
}

void emit_for(const AnalysisInput& in, const std::string& type, const std::string& level,
              nlohmann::json payload) {
    OutboxEvent e{type, level, in.experiment.organization_id, in.experiment.id, about(in)};
    e.payload.update(payload);
    emit(e);
}

// Promotes `variant`: the experiment completes and serves it to everyone. Inside spi_connect.
nlohmann::json promote(const AnalysisInput& in, const std::string& variant, const char* type,
                       const std::string& reason, const analysis::WinnerEvaluation& evaluation) {
    Args id(1);
    id.set(0, Int64GetDatum(in.experiment.id));
    state_of.run(id.values(), id.nulls(), false, 1);
    Status status = parse_status(*col_text(0, 1));
    nlohmann::json before = *col_jsonb(0, 2);
    bool promoted = *col_bool(0, 3);
    std::optional<std::string> previous_winner = col_text(0, 4);
    check_promotable(status, promoted, in.experiment.spec.code);
    std::int32_t variant_id = variant_id_of(in, variant);

    Args s(2);
    s.set(0, text_datum(in.experiment.spec.code)).set_or_null(1, in.organization);
    results_snapshot.run(s.values(), s.nulls(), false, 1);
    nlohmann::json snapshot = *col_jsonb(0, 1);
    TimestampTz now = abx_now();
    std::string winner_reason =
        std::string(type) + " promotion" + (reason.empty() ? "" : ": " + reason);
    Args u(5);
    u.set(0, Int64GetDatum(in.experiment.id))
        .set(1, TimestampTzGetDatum(now))
        .set(2, Int32GetDatum(variant_id))
        .set(3, text_datum(variant))
        .set(4, text_datum(winner_reason));
    set_promoted.run(u.values(), u.nulls(), false);

    nlohmann::json warnings = evaluation.warnings;
    std::string by = calling_role();
    Args p(14);
    p.set(0, Int64GetDatum(in.experiment.id)).set_or_null(1, in.experiment.organization_id);
    p.set(2, text_datum(variant)).set(3, text_datum(evaluation.control));
    p.set(4, float_datum(evaluation.confidence)).set(5, float_datum(evaluation.improvement));
    p.set(6, float_datum(evaluation.sample_size)).set(7, text_datum(type));
    p.set(8, text_datum(by)).set(9, TimestampTzGetDatum(now)).set(10, jsonb_datum(warnings));
    p.set(11, jsonb_datum(evaluation.to_json())).set(12, jsonb_datum(snapshot));
    p.set(13, jsonb_datum(before));
    insert_promotion.run(p.values(), p.nulls(), false, 1);
    std::int64_t promotion_id = *col_int64(0, 1);

    nlohmann::json record = {
        {"promotion", promotion_id}, {"winner", variant},    {"type", type},
        {"promoted_by", by},         {"warnings", warnings}, {"reason", reason}};
    audit_experiment("experiment.promote", in,
                     {{"before", before},
                      {"after", {{"status", "completed"}, {"promoted_variant", variant}}},
                      {"promotion", record}});
    emit_for(in, "experiment.promoted", warnings.empty() ? "info" : "warning", record);
    emit_for(in, "experiment.status_changed", "info",
             {{"from", to_string(status)}, {"to", "completed"}});
    if (previous_winner != variant)
        emit_for(in, "experiment.winner_changed", "info",
                 {{"winnerVariantKey", variant},
                  {"previous",
                   previous_winner ? nlohmann::json(*previous_winner) : nlohmann::json(nullptr)}});
    return record;
}

// The experiment named by a lifecycle-like call, after the gate (global ones: ops admins).
AnalysisInput load_for_change(FunctionCallInfo fcinfo, int org_arg, const char* function) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access = authorize(Right::ExperimentsLifecycle, function, arg_text_opt(fcinfo, org_arg));
    if (!access.organization)
        require_no_organization(access, Right::ExperimentsAdmin,
                                std::string(function) + " of a global experiment");
    spi_connect();
    return load_analysis_input(code, access.organization, false);
}

}  // namespace

ABX_SQL_FUNCTION(abx_promote) {
    AnalysisInput in = load_for_change(fcinfo, 3, "abx.promote");
    analysis::WinnerEvaluation evaluation = evaluate_winner_now(in);
    std::optional<std::string> variant = arg_text_opt(fcinfo, 1);
    if (!variant) variant = evaluation.winner;
    if (!variant)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + in.experiment.spec.code + "\" has no winner to promote", "",
                    "name the variant: abx.promote(experiment, variant)");
    nlohmann::json record =
        promote(in, *variant, "manual", arg_text_opt(fcinfo, 2).value_or(""), evaluation);
    record["evaluation"] = evaluation.to_json();
    spi_finish();
    return jsonb_datum(record);
}

ABX_SQL_FUNCTION(abx_rollback) {
    AnalysisInput in = load_for_change(fcinfo, 2, "abx.rollback");
    std::string reason = arg_text(fcinfo, 1, "reason");
    Args id(1);
    id.set(0, Int64GetDatum(in.experiment.id));
    // The experiment as it is now, locked: only a completed, promoted experiment rolls back (one
    // archived since keeps its archive).
    state_of.run(id.values(), id.nulls(), false, 1);
    Status status = parse_status(*col_text(0, 1));
    bool promoted = *col_bool(0, 3);
    if (promoted && status != Status::Completed)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + in.experiment.spec.code + "\" is " +
                        std::string(to_string(status)) + ": only a completed promotion rolls back");
    bool active = active_promotion.run(id.values(), id.nulls(), false, 1) == 1;
    check_rollback(active && promoted, in.experiment.spec.code);
    std::int64_t promotion_id = *col_int64(0, 1);
    nlohmann::json before = *col_jsonb(0, 2);
    std::string winner = *col_text(0, 3);
    TimestampTz now = abx_now();
    Args r(3);
    r.set(0, Int64GetDatum(in.experiment.id))
        .set(1, jsonb_datum(before))
        .set(2, TimestampTzGetDatum(now));
    restore.run(r.values(), r.nulls(), false);
    std::string by = calling_role();
    Args m(4);
    m.set(0, Int64GetDatum(promotion_id)).set(1, TimestampTzGetDatum(now));
    m.set(2, text_datum(by)).set(3, text_datum(reason));
    mark_rolled_back.run(m.values(), m.nulls(), false);
    nlohmann::json record = {{"promotion", promotion_id},
                             {"rolled_back", winner},
                             {"rolled_back_by", by},
                             {"reason", reason},
                             {"restored", before}};
    // The reason is part of the audited change: the audit log is what the ops page shows.
    audit_experiment("experiment.rollback", in,
                     {{"before", {{"status", "completed"}, {"promoted_variant", winner}}},
                      {"after", before},
                      {"reason", reason}});
    emit_for(in, "experiment.rolled_back", "critical", record);  // seed 001: rollback is critical
    emit_for(in, "experiment.status_changed", "info",
             {{"from", "completed"}, {"to", before.value("status", "running")}});
    spi_finish();
    return jsonb_datum(record);
}

namespace {

struct PendingApproval {
    std::int64_t id;
    std::string winner;
};

// The experiment's open approval request, locked (P0002 without one).
PendingApproval pending_approval(const AnalysisInput& in) {
    Args id(1);
    id.set(0, Int64GetDatum(in.experiment.id));
    if (pending_of.run(id.values(), id.nulls(), false, 1) == 0)
        throw Error(sqlstate::kNoDataFound,
                    "experiment \"" + in.experiment.spec.code + "\" has no pending approval");
    return {*col_int64(0, 1), *col_text(0, 2)};
}

void close_approval(std::int64_t approval, const char* status, const std::string& by,
                    const std::optional<std::string>& reason) {
    Args d(5);
    d.set(0, Int64GetDatum(approval)).set(1, text_datum(status));
    d.set(2, TimestampTzGetDatum(abx_now())).set(3, text_datum(by)).set_or_null(4, reason);
    decide_approval.run(d.values(), d.nulls(), false);
}

}  // namespace

ABX_SQL_FUNCTION(abx_approve) {
    AnalysisInput in = load_for_change(fcinfo, 1, "abx.approve");
    // The reason argument exists since 0.6.0 (a 0.5.0 schema calls with two arguments).
    std::optional<std::string> reason = PG_NARGS() > 2 ? arg_text_opt(fcinfo, 2) : std::nullopt;
    if (reason && reason->empty()) reason.reset();
    PendingApproval pending = pending_approval(in);
    analysis::WinnerEvaluation evaluation = evaluate_winner_now(in);
    nlohmann::json record =
        promote(in, pending.winner, "auto", reason.value_or("approved"), evaluation);
    close_approval(pending.id, "approved", calling_role(), reason);
    record["approval"] = pending.id;
    spi_finish();
    return jsonb_datum(record);
}

ABX_SQL_FUNCTION(abx_reject) {
    AnalysisInput in = load_for_change(fcinfo, 2, "abx.reject");
    std::string reason = arg_text(fcinfo, 1, "reason");
    PendingApproval pending = pending_approval(in);
    std::int64_t approval = pending.id;
    const std::string& winner = pending.winner;
    std::string by = calling_role();
    close_approval(approval, "rejected", by, reason);
    nlohmann::json record = {{"approval", approval},
                             {"winner", winner},
                             {"status", "rejected"},
                             {"rejected_by", by},
                             {"reason", reason}};
    audit_experiment("experiment.approval_rejected", in, {{"after", record}});
    emit_for(in, "experiment.approval_rejected", "info", record);
    spi_finish();
    return jsonb_datum(record);
}

ABX_SQL_FUNCTION(abx_promotion_history) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access =
        authorize(Right::ExperimentsRead, "abx.promotion_history", arg_text_opt(fcinfo, 1));
    spi_connect();
    std::optional<std::int64_t> id = find_experiment_id(code, access.organization);
    if (!id) experiment_not_found(code, access.organization);
    Args a(1);
    a.set(0, Int64GetDatum(*id));
    history_of.run(a.values(), a.nulls(), true, 1);
    Datum out = *col_datum_out(0, 1);
    spi_finish();
    return out;
}

// The hourly job: every running experiment is evaluated once; winner changes are recorded; an
// automatic policy promotes, asks for approval, or is denied by the autonomy gate (audited as a
// policy denial, counted in abx.audit_failures).
ABX_SQL_FUNCTION(abx_auto_promote) {
    require_platform(Right::ExperimentsAdmin, "abx.auto_promote");
    spi_connect();
    std::uint64_t n = running.run(nullptr, nullptr, false);
    std::vector<std::int64_t> ids;
    for (std::uint64_t r = 0; r < n; ++r) ids.push_back(*col_int64(r, 1));
    nlohmann::json outcomes = nlohmann::json::array();
    for (std::int64_t id : ids) {
        nlohmann::json outcome;
        std::optional<SubtransactionFailure> failure = run_in_subtransaction([&] {
            AnalysisInput in = load_analysis_input(id, false);
            analysis::WinnerEvaluation ev = evaluate_winner_now(in);
            analysis::WinnerPolicy policy = analysis::parse_winner_policy(
                in.experiment.spec.winner_policy, winner_policy_defaults());
            outcome = about(in);
            outcome["eligible"] = ev.eligible;
            outcome["winner"] = ev.winner ? nlohmann::json(*ev.winner) : nlohmann::json(nullptr);
            Args s(1);
            s.set(0, Int64GetDatum(id));
            state_of.run(s.values(), s.nulls(), false, 1);
            std::optional<std::string> current = col_text(0, 4);
            std::optional<std::string> winner = ev.eligible ? ev.winner : std::nullopt;
            if (winner && winner != current) {
                Args w(4);
                w.set(0, Int64GetDatum(id)).set(1, text_datum(*winner));
                w.set(2, TimestampTzGetDatum(abx_now())).set(3, text_datum(joined(ev.reasons)));
                set_winner.run(w.values(), w.nulls(), false);
                audit_experiment(
                    "experiment.winner", in,
                    {{"before", {{"winner", current ? nlohmann::json(*current) : nullptr}}},
                     {"after", {{"winner", *winner}}}});
                emit_for(in, "experiment.winner_changed", "info",
                         {{"winnerVariantKey", *winner},
                          {"previous", current ? nlohmann::json(*current) : nullptr}});
            }
            AutoPromotionFacts facts;
            facts.eligible = ev.eligible && ev.winner.has_value();
            facts.automatic = policy.automatic;
            facts.require_approval = policy.require_manual_approval;
            facts.feature_enabled = auto_promotion_enabled();
            facts.autonomy_server = allow_autonomy();
            facts.autonomy_organization =
                organization_allows_autonomy(in.experiment.organization_id);
            Args pa(1);
            pa.set(0, Int64GetDatum(id));
            facts.approval_pending = pending_of.run(pa.values(), pa.nulls(), false, 1) == 1;
            if (ev.winner) {
                Args rb(2);
                rb.set(0, Int64GetDatum(id)).set(1, text_datum(*ev.winner));
                rolled_back_before.run(rb.values(), rb.nulls(), false, 1);
                facts.rolled_back_before = *col_bool(0, 1);
            }
            AutoPromotionDecision d = decide_auto_promotion(facts);
            outcome["action"] = d.action == AutoAction::Promote           ? "promoted"
                                : d.action == AutoAction::RequestApproval ? "approval_requested"
                                : d.action == AutoAction::Denied          ? "denied"
                                                                          : "none";
            outcome["reason"] = d.reason;
            if (d.action == AutoAction::Promote) {
                promote(in, *ev.winner, "auto", "", ev);
            } else if (d.action == AutoAction::RequestApproval) {
                Args a(6);
                a.set(0, Int64GetDatum(id)).set_or_null(1, in.experiment.organization_id);
                a.set(2, text_datum(*ev.winner)).set(3, jsonb_datum(ev.to_json()));
                a.set(4, TimestampTzGetDatum(abx_now())).set(5, text_datum(calling_role()));
                insert_approval.run(a.values(), a.nulls(), false, 1);
                nlohmann::json request = {{"approval", *col_int64(0, 1)},
                                          {"winner", *ev.winner},
                                          {"warnings", ev.warnings}};
                audit_experiment("experiment.approval_requested", in, {{"after", request}});
                emit_for(in, "experiment.approval_requested", "info",
                         request);  // seed 001: info, to Slack
            } else if (d.action == AutoAction::Denied) {
                audit_policy_denial(in, "auto_promotion", d.reason, {{"winner", *ev.winner}});
            }
        });
        if (failure) {
            outcome["action"] = "error";
            outcome["error_code"] = failure->sqlstate;
            outcome["error_message"] = failure->message;
        }
        outcomes.push_back(outcome);
    }
    spi_finish();
    return jsonb_datum(outcomes);
}

namespace {
Statement upsert_autonomy(R"SQL(
INSERT INTO abx.autonomy_policies AS p (organization_id, allow_autonomy, updated_at, updated_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT (organization_id) DO UPDATE
   SET allow_autonomy = excluded.allow_autonomy, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by)SQL",
                          {INT8OID, BOOLOID, TIMESTAMPTZOID, TEXTOID});
}  // namespace

ABX_SQL_FUNCTION(abx_set_autonomy) {
    require_platform(Right::ExperimentsAdmin, "abx.set_autonomy");
    std::string org = arg_text(fcinfo, 0, "organization");
    if (PG_ARGISNULL(1)) null_field("allow");
    bool allow = PG_GETARG_BOOL(1);
    spi_connect();
    std::int64_t org_id = *resolve_organization(org);
    Args l(1);
    l.set(0, Int64GetDatum(org_id));
    lock_organization.run(l.values(), l.nulls(), false);  // the jobs wait for this change
    Args a(4);
    a.set(0, Int64GetDatum(org_id)).set(1, BoolGetDatum(allow));
    a.set(2, TimestampTzGetDatum(abx_now())).set(3, text_datum(calling_role()));
    upsert_autonomy.run(a.values(), a.nulls(), false);
    nlohmann::json record = {{"organization", org}, {"allow_autonomy", allow}};
    AuditRecord r;
    r.action = "autonomy.set";
    r.target = "organization:" + std::to_string(org_id);
    r.organization_id = org_id;
    r.change = {{"after", record}};
    append_audit(r);
    spi_finish();
    return jsonb_datum(record);
}
