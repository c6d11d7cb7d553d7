#include "analysis_input.hpp"

#include "abx/aggregation.hpp"
#include "settings.hpp"

namespace abx::pg {
namespace {

// Exposed subjects per variant (a subject who saw the page ten times is one exposure), as of the
// last abx.aggregate() like every other figure.
Statement exposures_of(R"SQL(
SELECT variant_id, count(*)::int8 FROM abx.subject_events
 WHERE experiment_id = $1 AND event_key = $2 AND count > 0 GROUP BY variant_id)SQL",
                       {INT8OID, TEXTOID});

// As of the last abx.aggregate(), like the event statistics they are compared with.
Statement assigned_counts(
    "SELECT variant_id, assigned FROM abx.variant_assignments WHERE experiment_id = $1", {INT8OID});

Statement metric_stats(
    "SELECT variant_id, metric_key, n, sum, sum_sq, seq_looks, seq_p_value, seq_lower, seq_upper, "
    "harm_looks, harm_p_value, harm_lower FROM abx.variant_metric_stats WHERE experiment_id = $1",
    {INT8OID});

Statement started("SELECT started_at FROM abx.experiments WHERE id = $1", {INT8OID});

Statement last_metrics(
    "SELECT metrics_signature FROM abx.aggregation_state WHERE experiment_id = $1 AND runs > 0",
    {INT8OID});

std::vector<bool> aggregated_metrics(std::int64_t experiment_id,
                                     const std::vector<analysis::MetricSpec>& current,
                                     bool read_only) {
    Args args(1);
    args.set(0, Int64GetDatum(experiment_id));
    if (last_metrics.run(args.values(), args.nulls(), read_only, 1) == 0)
        return std::vector<bool>(current.size(), false);
    return unchanged_metrics(*col_text(0, 1), current);
}

Statement save_memory(R"SQL(
INSERT INTO abx.variant_metric_stats AS s (experiment_id, variant_id, metric_key, seq_looks,
                                           seq_p_value, seq_lower, seq_upper, harm_looks,
                                           harm_p_value, harm_lower, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
ON CONFLICT (experiment_id, variant_id, metric_key) DO UPDATE
   SET seq_looks = excluded.seq_looks, seq_p_value = excluded.seq_p_value,
       seq_lower = excluded.seq_lower, seq_upper = excluded.seq_upper,
       harm_looks = excluded.harm_looks, harm_p_value = excluded.harm_p_value,
       harm_lower = excluded.harm_lower, updated_at = now())SQL",
                      {INT8OID, INT4OID, TEXTOID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID,
                       FLOAT8OID, FLOAT8OID});

}  // namespace

std::vector<bool> unchanged_metrics(const std::string& signature,
                                    const std::vector<analysis::MetricSpec>& current) {
    std::vector<bool> same(current.size(), false);
    std::vector<analysis::MetricSpec> before;
    try {
        before = analysis::parse_metrics(nlohmann::json::parse(signature));
    } catch (const std::exception&) {
        return same;  // no or an unreadable signature: nothing carries over
    }
    // A metric's figures follow its definition: the same key with another event, kind or
    // denominator is another metric.
    for (std::size_t m = 0; m < current.size(); ++m)
        for (const analysis::MetricSpec& b : before)
            if (current[m].key == b.key && current[m].kind == b.kind &&
                current[m].event == b.event && current[m].denominator == b.denominator)
                same[m] = true;
    return same;
}

AnalysisInput load_analysis_input(std::int64_t experiment_id, bool read_only) {
    auto [code, org] = experiment_name(experiment_id, read_only);
    return load_analysis_input(code, org, read_only);
}

AnalysisInput load_analysis_input(const std::string& code, const std::optional<std::string>& org,
                                  bool read_only) {
    AnalysisInput in;
    in.experiment = load_experiment(code, org, false);
    in.organization = org;
    in.metrics = analysis::parse_metrics(in.experiment.spec.metrics);
    in.data.metrics = in.metrics;
    in.data.settings = analysis::parse_settings(in.experiment.spec.analysis);
    in.data.adaptive_allocation = in.experiment.spec.kind == ExperimentKind::Bandit;

    Args args(1);
    args.set(0, Int64GetDatum(in.experiment.id));
    std::map<std::int64_t, std::int64_t> assigned;
    std::uint64_t n = assigned_counts.run(args.values(), args.nulls(), read_only);
    for (std::uint64_t r = 0; r < n; ++r) assigned[*col_int64(r, 1)] = *col_int64(r, 2);

    std::map<std::int64_t, std::size_t> index_of_variant;
    for (const StoredVariant& v : in.experiment.variants) {
        analysis::VariantData d;
        d.key = v.spec.key;
        d.is_control = v.spec.is_control;
        d.weight = v.spec.weight;
        d.assigned = assigned.count(v.id) ? assigned[v.id] : 0;
        d.metrics.resize(in.metrics.size());
        for (std::size_t m = 0; m < in.metrics.size(); ++m)
            if (!aggregation::population_is_active_subjects(in.metrics[m]))
                d.metrics[m].n = (double)d.assigned;
        index_of_variant[v.id] = in.data.variants.size();
        in.variant_ids.push_back(v.id);
        in.data.variants.push_back(std::move(d));
    }
    in.data.sequential.assign(in.data.variants.size(),
                              std::vector<analysis::SequentialMemory>(in.metrics.size()));

    std::map<std::string, std::size_t> index_of_metric;
    for (std::size_t m = 0; m < in.metrics.size(); ++m) index_of_metric[in.metrics[m].key] = m;
    n = metric_stats.run(args.values(), args.nulls(), read_only);
    for (std::uint64_t r = 0; r < n; ++r) {
        auto v = index_of_variant.find(*col_int64(r, 1));
        auto m = index_of_metric.find(*col_text(r, 2));
        if (v == index_of_variant.end() || m == index_of_metric.end()) continue;
        stats::Summary& s = in.data.variants[v->second].metrics[m->second];
        if (aggregation::population_is_active_subjects(in.metrics[m->second]))
            s.n = *col_float8(r, 3);
        s.sum = *col_float8(r, 4);
        s.sum_sq = *col_float8(r, 5);
        analysis::SequentialMemory& mem = in.data.sequential[v->second][m->second];
        mem.looks = *col_int64(r, 6);
        mem.p_value = *col_float8(r, 7);
        mem.lower = *col_float8(r, 8);
        mem.upper = *col_float8(r, 9);
        mem.harm_looks = *col_int64(r, 10);
        mem.harm_p_value = *col_float8(r, 11);
        mem.harm_lower = *col_float8(r, 12);
    }

    in.aggregated = aggregated_metrics(in.experiment.id, in.metrics, read_only);
    started.run(args.values(), args.nulls(), read_only, 1);
    in.started_at = col_timestamptz(0, 1);
    return in;
}

void store_sequential_memory(const AnalysisInput& input, const analysis::Analysis& result) {
    for (std::size_t v = 0; v < result.sequential.size() && v < input.variant_ids.size(); ++v) {
        for (std::size_t m = 0; m < result.sequential[v].size() && m < input.metrics.size(); ++m) {
            const analysis::SequentialMemory& mem = result.sequential[v][m];
            Args a(10);
            a.set(0, Int64GetDatum(input.experiment.id))
                .set(1, Int32GetDatum((int)input.variant_ids[v]))
                .set(2, text_datum(input.metrics[m].key))
                .set(3, Int64GetDatum(mem.looks))
                .set(4, Float8GetDatum(mem.p_value))
                .set(5, Float8GetDatum(mem.lower))
                .set(6, Float8GetDatum(mem.upper))
                .set(7, Int64GetDatum(mem.harm_looks))
                .set(8, Float8GetDatum(mem.harm_p_value))
                .set(9, Float8GetDatum(mem.harm_lower));
            save_memory.run(a.values(), a.nulls(), false);
        }
    }
}

analysis::WinnerEvaluation evaluate_winner_now(const AnalysisInput& in) {
    analysis::WinnerPolicy policy =
        analysis::parse_winner_policy(in.experiment.spec.winner_policy, winner_policy_defaults());
    analysis::WinnerContext context;
    if (in.started_at)
        context.runtime_hours = (double)(abx_now() - *in.started_at) / (3600.0 * USECS_PER_SEC);
    context.exposed_subjects.assign(in.data.variants.size(), 0);
    if (!policy.exposure_event.empty()) {
        Args a(2);
        a.set(0, Int64GetDatum(in.experiment.id)).set(1, text_datum(policy.exposure_event));
        std::uint64_t rows = exposures_of.run(a.values(), a.nulls(), true);
        for (std::uint64_t r = 0; r < rows; ++r)
            for (std::size_t i = 0; i < in.variant_ids.size(); ++i)
                if (in.variant_ids[i] == *col_int64(r, 1))
                    context.exposed_subjects[i] = *col_int64(r, 2);
    }
    analysis::Analysis result = analysis::analyze(in.data, false);
    return analysis::evaluate_winner(policy, in.data, result, context);
}

}  // namespace abx::pg
