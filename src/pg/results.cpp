// SQL API for analysis: abx.results, abx.srm, abx.insights, abx.evaluate_winner. Each loads the
// sufficient statistics maintained by abx.aggregate() and asks the core; nothing is written.
#include "access.hpp"
#include "analysis_input.hpp"

#include <cmath>

using namespace abx;
using namespace abx::pg;

namespace {

Datum float_or_null(double v, bool& is_null) {
    is_null = std::isnan(v);  // undefined statistics are SQL NULL; ±Infinity stays
    return Float8GetDatum(v);
}

// The experiment of an analysis call, in the organization the call acts for (never the global
// fallback: a global experiment's figures pool every organization's subjects).
AnalysisInput input_from_args(FunctionCallInfo fcinfo, const char* function) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access = authorize(Right::ExperimentsRead, function, arg_text_opt(fcinfo, 1));
    spi_connect();
    return load_analysis_input(code, access.organization, true);
}

}  // namespace

ABX_SQL_FUNCTION(abx_results) {
    AnalysisInput in = input_from_args(fcinfo, "abx.results");
    spi_finish();
    analysis::Analysis result = analysis::analyze(in.data, false);

    RowSink sink(fcinfo);
    const std::size_t metrics = in.metrics.size();
    for (std::size_t row = 0; row < result.rows.size(); ++row) {
        const analysis::MetricResult& r = result.rows[row];
        const std::size_t variant = metrics ? row / metrics : 0,
                          metric = metrics ? row % metrics : 0;
        Datum v[26];
        bool n[26] = {};
        v[0] = text_datum(r.variant);
        v[1] = BoolGetDatum(r.is_control);
        v[2] = text_datum(r.metric);
        v[3] = text_datum(analysis::to_string(r.kind));
        v[4] = text_datum(analysis::to_string(r.role));
        const double numbers[20] = {r.n,
                                    r.mean,
                                    r.sd,
                                    r.mean_lower,
                                    r.mean_upper,
                                    r.abs_lift,
                                    r.abs_lift_lower,
                                    r.abs_lift_upper,
                                    r.rel_lift,
                                    r.rel_lift_lower,
                                    r.rel_lift_upper,
                                    r.p_value,
                                    r.p_value_holm,
                                    r.seq_p_value,
                                    r.seq_lower,
                                    r.seq_upper,
                                    NAN,  // seq_looks, below
                                    r.chance_to_beat_control,
                                    r.expected_loss,
                                    r.prob_best};
        for (int i = 0; i < 20; ++i) v[5 + i] = float_or_null(numbers[i], n[5 + i]);
        // The sequential test's looks so far (one per aggregation run); none on the control row.
        std::int64_t looks = in.data.sequential[variant][metric].looks;
        v[21] = Int64GetDatum(looks);
        n[21] = r.is_control;
        std::string note = r.note;
        if (!in.aggregated[metric]) {
            // Not aggregated under this definition yet: no figure is better than a wrong one.
            for (int i = 5; i < 25; ++i) n[i] = true;
            note = "not aggregated yet under its current definition: run abx.aggregate()";
        }
        v[25] = text_datum(note);
        n[25] = note.empty();
        sink.put(v, n, 26);
    }
    return (Datum)0;
}

ABX_SQL_FUNCTION(abx_srm) {
    AnalysisInput in = input_from_args(fcinfo, "abx.srm");
    spi_finish();
    analysis::Analysis result = analysis::analyze(in.data, false);
    return jsonb_datum(analysis::insights(in.data, result).value("srm", nlohmann::json::object()));
}

ABX_SQL_FUNCTION(abx_insights) {
    AnalysisInput in = input_from_args(fcinfo, "abx.insights");
    spi_finish();
    analysis::Analysis result = analysis::analyze(in.data, false);
    return jsonb_datum(analysis::insights(in.data, result));
}

ABX_SQL_FUNCTION(abx_evaluate_winner) {
    AnalysisInput in = input_from_args(fcinfo, "abx.evaluate_winner");
    analysis::WinnerEvaluation evaluation = evaluate_winner_now(in);
    spi_finish();
    return jsonb_datum(evaluation.to_json());
}

// The winner alone (services read it to serve the winning variant): the organization's own
// experiment, else the global one; no statistics, so a global experiment's pooled figures stay
// hidden.
ABX_SQL_FUNCTION(abx_winner) {
    std::string code = arg_text(fcinfo, 0, "experiment");
    Access access = authorize(Right::WinnerRead, "abx.winner", arg_text_opt(fcinfo, 1));
    spi_connect();
    std::int64_t id = find_own_or_global_experiment(code, access.organization);
    AnalysisInput in = load_analysis_input(id, true);
    analysis::WinnerEvaluation evaluation = evaluate_winner_now(in);
    spi_finish();
    nlohmann::json out = {{"experiment", code},
                          {"status", to_string(in.experiment.status)},
                          {"winner", evaluation.winner ? nlohmann::json(*evaluation.winner)
                                                       : nlohmann::json(nullptr)},
                          {"eligible", evaluation.eligible}};
    return jsonb_datum(out);
}
