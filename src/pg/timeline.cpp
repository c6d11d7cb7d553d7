// abx.timeline(): an experiment's recorded looks (abx.result_looks, abx.bandit_looks) as one JSON
// document for the results page's charts. Reads only; the looks are written by abx.aggregate().
#include "access.hpp"
#include "store.hpp"

#include "abx/analysis.hpp"
#include "abx/timeline.hpp"

#include <cmath>

using namespace abx;
using namespace abx::pg;

namespace {

// The runs with a recorded look from `since` on, in time order, with their time as the document
// gives it (UTC, milliseconds).
Statement runs_since(R"SQL(
SELECT run, pg_catalog.to_char(pg_catalog.timezone('UTC', look_at), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  FROM (SELECT run, look_at FROM abx.result_looks
         WHERE experiment_id = $1 AND ($2::timestamptz IS NULL OR look_at >= $2)
        UNION
        SELECT run, look_at FROM abx.bandit_looks
         WHERE experiment_id = $1 AND ($2::timestamptz IS NULL OR look_at >= $2)) l
 ORDER BY look_at, run)SQL",
                     {INT8OID, TIMESTAMPTZOID});

// The rows of the chosen runs ($2, in time order), each run's variants in position order and
// their metrics in the document's order ($4).
Statement looks_of_runs(R"SQL(
SELECT k.ord, l.metric_key, v.key, l.n, l.mean, l.mean_lower, l.mean_upper, l.p_value,
       l.seq_p_value, l.chance_to_beat_control, l.prob_best
  FROM unnest($2::int8[]) WITH ORDINALITY AS k(run, ord)
  JOIN abx.result_looks l ON l.experiment_id = $1 AND l.run = k.run
  JOIN abx.variants v ON v.id = l.variant_id
 WHERE $3::text IS NULL OR l.metric_key = $3
 ORDER BY k.ord, v.position, pg_catalog.array_position($4, l.metric_key), l.metric_key)SQL",
                        {INT8OID, INT8ARRAYOID, TEXTOID, TEXTARRAYOID});

Statement bandit_of_runs(R"SQL(
SELECT k.ord, v.key, l.alpha, l.beta, l.share
  FROM unnest($2::int8[]) WITH ORDINALITY AS k(run, ord)
  JOIN abx.bandit_looks l ON l.experiment_id = $1 AND l.run = k.run
  JOIN abx.variants v ON v.id = l.variant_id
 ORDER BY k.ord, v.position)SQL",
                         {INT8OID, INT8ARRAYOID});

// A whole number as an integer (counts: "n": 120, not 120.0, as /results prints them).
nlohmann::json number_or_null(std::uint64_t row, int col) {
    std::optional<double> v = col_float8(row, col);
    if (!v) return nullptr;
    if (std::trunc(*v) == *v && std::fabs(*v) < 9007199254740992.0) return (std::int64_t)*v;
    return *v;
}

}  // namespace

// abx.timeline(experiment, metric, organization, since, max_looks)
ABX_SQL_FUNCTION(abx_timeline) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    std::optional<std::string> metric = arg_text_opt(fcinfo, 1);
    Access access = authorize(Right::ExperimentsRead, "abx.timeline", arg_text_opt(fcinfo, 2));
    std::optional<TimestampTz> since;
    if (!arg_is_null(fcinfo, 3)) since = PG_GETARG_TIMESTAMPTZ(3);
    if (arg_is_null(fcinfo, 4)) null_field("max_looks");
    const std::int32_t max_looks = PG_GETARG_INT32(4);
    if (max_looks < 1 || (std::size_t)max_looks > timeline::kMaxLooks)
        out_of_range("max_looks", "must be from 1 to " + std::to_string(timeline::kMaxLooks));

    spi_connect();
    // The experiment whose figures the session may read, as abx.results finds it (never the
    // global fallback: a global experiment's figures pool every organization's subjects).
    StoredExperiment e = load_experiment(code, access.organization, false);
    std::vector<analysis::MetricSpec> metrics = analysis::parse_metrics(e.spec.metrics);
    nlohmann::json metric_keys = nlohmann::json::array(), primary = nullptr, control = nullptr;
    std::vector<Datum> key_datums;
    bool metric_known = !metric;
    std::string all_keys;
    for (const analysis::MetricSpec& m : metrics) {
        metric_keys.push_back(m.key);
        key_datums.push_back(text_datum(m.key));
        all_keys += (all_keys.empty() ? "" : ", ") + m.key;
        if (m.role == analysis::MetricRole::Primary && primary.is_null()) primary = m.key;
        if (metric && *metric == m.key) metric_known = true;
    }
    if (!metric_known)
        invalid_field("metric", "experiment \"" + code + "\" has no metric \"" + *metric +
                                    "\" (its metrics: " + (all_keys.empty() ? "none" : all_keys) +
                                    ")");
    for (const StoredVariant& v : e.variants)
        if (v.spec.is_control) control = v.spec.key;

    Args r(2);
    r.set(0, Int64GetDatum(e.id));
    if (since)
        r.set(1, TimestampTzGetDatum(*since));
    else
        r.null(1);
    std::uint64_t count = runs_since.run(r.values(), r.nulls(), true);
    std::vector<std::pair<std::int64_t, std::string>> all_runs;  // run, at
    all_runs.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i)
        all_runs.emplace_back(*col_int64(i, 1), *col_text(i, 2));
    std::vector<const std::pair<std::int64_t, std::string>*> chosen;
    std::vector<Datum> runs;
    for (std::size_t i : timeline::evenly_spaced(all_runs.size(), (std::size_t)max_looks)) {
        chosen.push_back(&all_runs[i]);
        runs.push_back(Int64GetDatum(all_runs[i].first));
    }
    Datum run_array = array_datum(INT8OID, runs);
    // The run of a row: its 1-based position in `chosen`.
    auto run_of = [&](std::uint64_t row) { return chosen.at((std::size_t)*col_int64(row, 1) - 1); };

    nlohmann::json looks = nlohmann::json::array(), bandit = nlohmann::json::array();
    Args l(4);
    l.set(0, Int64GetDatum(e.id)).set(1, run_array).set_or_null(2, metric);
    l.set(3, array_datum(TEXTOID, key_datums));
    std::uint64_t n = looks_of_runs.run(l.values(), l.nulls(), true);
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto* run = run_of(i);
        looks.push_back({{"at", run->second},
                         {"run", run->first},
                         {"metric", *col_text(i, 2)},
                         {"variant", *col_text(i, 3)},
                         {"n", number_or_null(i, 4)},
                         {"mean", number_or_null(i, 5)},
                         {"mean_lower", number_or_null(i, 6)},
                         {"mean_upper", number_or_null(i, 7)},
                         {"p_value", number_or_null(i, 8)},
                         {"seq_p_value", number_or_null(i, 9)},
                         {"chance_to_beat_control", number_or_null(i, 10)},
                         {"prob_best", number_or_null(i, 11)}});
    }
    Args b(2);
    b.set(0, Int64GetDatum(e.id)).set(1, run_array);
    n = bandit_of_runs.run(b.values(), b.nulls(), true);
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto* run = run_of(i);
        bandit.push_back({{"at", run->second},
                          {"run", run->first},
                          {"variant", *col_text(i, 2)},
                          {"alpha", number_or_null(i, 3)},
                          {"beta", number_or_null(i, 4)},
                          {"share", number_or_null(i, 5)}});
    }
    spi_finish();
    nlohmann::json out = {{"experiment", code},
                          {"control", control},
                          {"primary_metric", primary},
                          {"metrics", metric_keys},
                          {"total_runs", all_runs.size()},
                          {"downsampled", runs.size() < all_runs.size()},
                          {"looks", looks},
                          {"bandit", bandit}};
    return jsonb_datum(out);
}
