// SQL API of the SLO guardrails on Prometheus (seed 000; docs/operations.md "SLO watcher"):
// abx.slo_config, abx.set_slo, abx.slo_record (the watcher's call: record, decide, act),
// abx.slo_status.
#include "access.hpp"
#include "audit.hpp"
#include "guardrail_action.hpp"
#include "outbox.hpp"
#include "store.hpp"
#include "workers.hpp"

#include "abx/slo.hpp"

#include <cmath>

using namespace abx;
using namespace abx::pg;

namespace {

Statement slo_documents("SELECT sla_target, prometheus FROM abx.experiments WHERE id = $1",
                        {INT8OID});
Statement store_documents(R"SQL(
UPDATE abx.experiments SET sla_target = $2, prometheus = $3, updated_at = $4 WHERE id = $1)SQL",
                          {INT8OID, JSONBOID, JSONBOID, TIMESTAMPTZOID});
Statement latest_observation(R"SQL(
SELECT outcome, consecutive, action FROM abx.slo_observations
 WHERE experiment_id = $1 ORDER BY at DESC, id DESC LIMIT 1)SQL",
                             {INT8OID});
Statement insert_observation(R"SQL(
INSERT INTO abx.slo_observations (experiment_id, organization_id, at, latency_p95_ms, error_rate,
                                  outcome, message, consecutive, action)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id)SQL",
                             {INT8OID, INT8OID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID, TEXTOID,
                              TEXTOID, INT4OID, TEXTOID});
// Observations are kept 30 days (one a check: 2,880 a day at the default interval).
Statement prune_observations(R"SQL(
DELETE FROM abx.slo_observations WHERE experiment_id = $1 AND at < $2 - interval '30 days')SQL",
                             {INT8OID, TIMESTAMPTZOID});
Statement status_of(R"SQL(
SELECT e.sla_target, e.prometheus, e.status, e.promoted_variant_id IS NOT NULL,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'id', o.id, 'at', o.at, 'latency_p95_ms', o.latency_p95_ms,
                 'error_rate', o.error_rate, 'outcome', o.outcome, 'message', o.message,
                 'consecutive', o.consecutive, 'action', o.action) ORDER BY o.at DESC, o.id DESC), '[]')
          FROM (SELECT * FROM abx.slo_observations o WHERE o.experiment_id = e.id
                 ORDER BY o.at DESC, o.id DESC LIMIT 20) o)
  FROM abx.experiments e WHERE e.id = $1)SQL",
                    {INT8OID});

nlohmann::json json_or_null(const std::optional<nlohmann::json>& v) {
    return v ? *v : nlohmann::json(nullptr);
}

nlohmann::json number_or_null(const std::optional<double>& v) {
    if (!v) return nullptr;
    if (std::isinf(*v)) return "+Inf";  // JSON has no infinity
    return *v;
}

std::optional<double> float_arg(FunctionCallInfo fcinfo, int i) {
    if (PG_ARGISNULL(i)) return std::nullopt;
    double v = PG_GETARG_FLOAT8(i);
    if (std::isnan(v) || v == -INFINITY) return std::nullopt;  // Prometheus's NaN: no data
    return v;
}

// A breach counter restarts after the action it led to.
int counter_after(const std::string& action, int consecutive) {
    return action == "rolled_back" || action == "paused" ? 0 : consecutive;
}

}  // namespace

ABX_SQL_FUNCTION(abx_slo_config) {
    if (PG_ARGISNULL(0)) null_field("prometheus");
    return jsonb_datum(slo::parse_config(arg_jsonb(fcinfo, 1), arg_jsonb(fcinfo, 0)).to_json());
}

// SQL NULL keeps a document, JSON null removes it.
ABX_SQL_FUNCTION(abx_set_slo) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access = authorize(Right::ExperimentsWrite, "abx.set_slo", arg_text_opt(fcinfo, 3));
    if (!access.organization)
        require_no_organization(access, Right::ExperimentsAdmin,
                                "abx.set_slo of a global experiment");
    spi_connect();
    std::optional<std::int64_t> id = find_experiment_id(code, access.organization);
    if (!id) experiment_not_found(code, access.organization);
    GuardedExperiment e = lock_guarded_experiment(*id);
    Args k(1);
    k.set(0, Int64GetDatum(*id));
    slo_documents.run(k.values(), k.nulls(), false, 1);
    nlohmann::json before = {{"sla_target", json_or_null(col_jsonb(0, 1))},
                             {"prometheus", json_or_null(col_jsonb(0, 2))}};
    nlohmann::json sla = PG_ARGISNULL(1) ? before["sla_target"] : arg_jsonb(fcinfo, 1);
    nlohmann::json prom = PG_ARGISNULL(2) ? before["prometheus"] : arg_jsonb(fcinfo, 2);
    // Checked as the watcher reads them; targets without a source are checked on their own.
    nlohmann::json effective = nullptr;
    if (!prom.is_null())
        effective = slo::parse_config(sla, prom).to_json();
    else if (!sla.is_null())
        (void)slo::parse_config(sla, {{"baseUrl", "http://localhost"}});
    Args u(4);
    u.set(0, Int64GetDatum(*id)).set(3, TimestampTzGetDatum(abx_now()));
    if (sla.is_null())
        u.null(1);
    else
        u.set(1, jsonb_datum(sla));
    if (prom.is_null())
        u.null(2);
    else
        u.set(2, jsonb_datum(prom));
    store_documents.run(u.values(), u.nulls(), false);
    nlohmann::json after = {{"sla_target", sla}, {"prometheus", prom}};
    AuditRecord r;
    r.action = "experiment.slo";
    r.target = "experiment:" + std::to_string(*id);
    r.organization_id = e.organization_id;
    r.experiment_id = *id;
    r.change = {{"before", before}, {"after", after}};
    append_audit(r);
    spi_finish();
    wake_scheduler_at_commit();  // it starts the SLO watcher
    return jsonb_datum(
        {{"experiment", code},
         {"organization",
          access.organization ? nlohmann::json(*access.organization) : nlohmann::json(nullptr)},
         {"watched", !prom.is_null() && slo::remedy_for(e.status, e.promoted) != slo::Remedy::None},
         {"config", effective}});
}

ABX_SQL_FUNCTION(abx_slo_record) {
    require_platform(Right::ExperimentsAdmin, "abx.slo_record");
    if (PG_ARGISNULL(0)) null_field("experiment_id");
    std::int64_t id = PG_GETARG_INT64(0);
    std::optional<double> latency = float_arg(fcinfo, 1), error_rate = float_arg(fcinfo, 2);
    std::optional<std::string> failure = arg_text_opt(fcinfo, 3);
    spi_connect();
    GuardedExperiment e = lock_guarded_experiment(id);
    Args k(1);
    k.set(0, Int64GetDatum(id));
    slo_documents.run(k.values(), k.nulls(), false, 1);
    std::optional<nlohmann::json> sla = col_jsonb(0, 1), prom = col_jsonb(0, 2);
    if (!prom)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "experiment \"" + e.code + "\" has no prometheus source: it is not watched", "",
                    "set one with abx.set_slo");
    std::optional<std::string> previous_outcome;
    int previous = 0;
    if (latest_observation.run(k.values(), k.nulls(), false, 1) == 1) {
        previous_outcome = col_text(0, 1);
        previous = counter_after(*col_text(0, 3), (int)*col_int64(0, 2));
    }

    slo::Observation o;
    slo::Config config;
    bool configured = true;
    try {
        config = slo::parse_config(json_or_null(sla), *prom);
        o = slo::judge(config, latency, error_rate, failure);
    } catch (const Error& err) {
        // A configuration stored before it was checked this strictly: an error, never a breach.
        configured = false;
        o.outcome = slo::Outcome::Error;
        o.message = std::string("invalid SLO configuration: ") + err.what();
    }
    slo::Decision d = slo::decide(previous, o.outcome, configured ? config.breach_checks : 1,
                                  e.status, e.promoted);
    GuardrailOutcome acted{"none", ""};
    nlohmann::json about = {
        {"experiment", e.code},
        {"organization", e.organization ? nlohmann::json(*e.organization) : nullptr}};
    // An outage is announced once (warning) and its end once (info), not at every check.
    bool was_error = previous_outcome == std::string("error");
    if (o.outcome == slo::Outcome::Error && !was_error) {
        nlohmann::json p = about;
        p.update({{"message", o.message},
                  {"prometheus", configured ? nlohmann::json(config.base_url) : nullptr}});
        emit(OutboxEvent{"experiment.slo_unavailable", "warning", e.organization_id, id, p});
    } else if (o.outcome != slo::Outcome::Error && was_error) {
        nlohmann::json p = about;
        p.update({{"outcome", slo::to_string(o.outcome)}});
        emit(OutboxEvent{"experiment.slo_recovered", "info", e.organization_id, id, p});
    }
    if (d.threshold_reached && configured) {
        nlohmann::json evidence = {
            {"latency_p95_ms", number_or_null(o.latency_p95_ms)},
            {"error_rate", number_or_null(o.error_rate)},
            {"sla_target", config.to_json()["sla_target"]},
            {"consecutive", d.consecutive},
            {"breach_checks", config.breach_checks},
            {"prometheus", config.base_url},
            {"window", config.window},
            {"interval_ms", config.interval_ms},
            {"queries",
             {{"latency", slo::substitute(config.query_latency, e.code, config.window,
                                          e.organization.value_or(""))},
              {"error_rate", slo::substitute(config.query_error_rate, e.code, config.window,
                                             e.organization.value_or(""))}}}};
        acted = act_on_guardrail_breach(e, kSloBreach, o.message, evidence, d.first_at_threshold);
    }
    const std::string& action = acted.action;
    TimestampTz now = abx_now();
    Args a(9);
    a.set(0, Int64GetDatum(id)).set_or_null(1, e.organization_id).set(2, TimestampTzGetDatum(now));
    if (o.latency_p95_ms)
        a.set(3, Float8GetDatum(*o.latency_p95_ms));
    else
        a.null(3);
    if (o.error_rate)
        a.set(4, Float8GetDatum(*o.error_rate));
    else
        a.null(4);
    a.set(5, text_datum(slo::to_string(o.outcome)));
    std::string message = o.message;
    if (!acted.message.empty()) message += (message.empty() ? "" : " -> ") + acted.message;
    if (message.empty())
        a.null(6);
    else
        a.set(6, text_datum(message));
    a.set(7, Int32GetDatum(d.consecutive)).set(8, text_datum(action));
    insert_observation.run(a.values(), a.nulls(), false, 1);
    std::int64_t observation = *col_int64(0, 1);
    Args pr(2);
    pr.set(0, Int64GetDatum(id)).set(1, TimestampTzGetDatum(now));
    prune_observations.run(pr.values(), pr.nulls(), false);
    spi_finish();
    nlohmann::json out = about;
    out.update({{"observation", observation},
                {"outcome", slo::to_string(o.outcome)},
                {"latency_p95_ms", number_or_null(o.latency_p95_ms)},
                {"error_rate", number_or_null(o.error_rate)},
                {"message", message.empty() ? nlohmann::json(nullptr) : nlohmann::json(message)},
                {"consecutive", d.consecutive},
                {"breach_checks", configured ? nlohmann::json(config.breach_checks) : nullptr},
                {"action", action}});
    return jsonb_datum(out);
}

ABX_SQL_FUNCTION(abx_slo_status) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access = authorize(Right::ExperimentsRead, "abx.slo_status", arg_text_opt(fcinfo, 1));
    spi_connect();
    std::optional<std::int64_t> id = find_experiment_id(code, access.organization);
    if (!id) experiment_not_found(code, access.organization);
    Args k(1);
    k.set(0, Int64GetDatum(*id));
    status_of.run(k.values(), k.nulls(), true, 1);
    std::optional<nlohmann::json> sla = col_jsonb(0, 1), prom = col_jsonb(0, 2);
    Status status = parse_status(*col_text(0, 3));
    bool promoted = *col_bool(0, 4);
    nlohmann::json observations = *col_jsonb(0, 5);
    spi_finish();
    nlohmann::json out = {
        {"experiment", code},
        {"status", to_string(status)},
        {"watched", prom.has_value() && slo::remedy_for(status, promoted) != slo::Remedy::None},
        {"config", nullptr},
        {"consecutive", 0},
        {"last", nullptr},
        {"observations", observations}};
    if (prom) {
        try {
            out["config"] = slo::parse_config(json_or_null(sla), *prom).to_json();
        } catch (const Error& err) {
            out["config_error"] = err.what();
        }
    }
    if (!observations.empty()) {
        const nlohmann::json& last = observations[0];
        out["last"] = last;
        out["consecutive"] =
            counter_after(last.value("action", "none"), last.value("consecutive", 0));
    }
    return jsonb_datum(out);
}
