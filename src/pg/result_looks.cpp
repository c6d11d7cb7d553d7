// Recording an aggregation run's look, and abx.timeline(), which serves the recorded looks.
#include "result_looks.hpp"

#include "access.hpp"

#include "abx/timeline.hpp"

#include <cmath>

namespace abx::pg {
namespace {

Statement insert_result_look(R"SQL(
INSERT INTO abx.result_looks (experiment_id, run, look_at, variant_id, metric_key, n, mean,
                              mean_lower, mean_upper, p_value, seq_p_value,
                              chance_to_beat_control, prob_best)
SELECT $1, $2, $3, r.*
  FROM unnest($4::int4[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::float8[],
              $10::float8[], $11::float8[], $12::float8[], $13::float8[]) r)SQL",
                             {INT8OID, INT8OID, TIMESTAMPTZOID, INT4ARRAYOID, TEXTARRAYOID,
                              FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
                              FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID});

Statement insert_bandit_look(R"SQL(
INSERT INTO abx.bandit_looks (experiment_id, run, look_at, variant_id, alpha, beta, share)
SELECT $1, $2, $3, a.* FROM unnest($4::int4[], $5::float8[], $6::float8[], $7::float8[]) a)SQL",
                             {INT8OID, INT8OID, TIMESTAMPTZOID, INT4ARRAYOID, FLOAT8ARRAYOID,
                              FLOAT8ARRAYOID, FLOAT8ARRAYOID});

// A float column: NULL where the statistic is undefined (NaN), as abx.results reports it.
struct FloatColumn {
    std::vector<Datum> values;
    std::vector<bool> nulls;
    void add(double v) {
        values.push_back(Float8GetDatum(std::isnan(v) ? 0 : v));
        nulls.push_back(std::isnan(v));
    }
    Datum datum() const { return array_datum(FLOAT8OID, values, nulls); }
};

}  // namespace

void record_result_look(const AnalysisInput& in, const analysis::Analysis& look, std::int64_t run,
                        TimestampTz at) {
    const std::size_t metrics = in.metrics.size();
    if (metrics == 0) return;
    std::vector<Datum> variants, keys;
    FloatColumn columns[8];
    for (std::size_t row = 0; row < look.rows.size(); ++row) {
        const analysis::MetricResult& r = look.rows[row];
        variants.push_back(Int32GetDatum((int)in.variant_ids[row / metrics]));
        keys.push_back(text_datum(r.metric));
        const double figures[8] = {r.n,
                                   r.mean,
                                   r.mean_lower,
                                   r.mean_upper,
                                   r.p_value,
                                   r.seq_p_value,
                                   r.chance_to_beat_control,
                                   r.prob_best};
        for (int c = 0; c < 8; ++c) columns[c].add(figures[c]);
    }
    Args a(13);
    a.set(0, Int64GetDatum(in.experiment.id))
        .set(1, Int64GetDatum(run))
        .set(2, TimestampTzGetDatum(at))
        .set(3, array_datum(INT4OID, variants))
        .set(4, array_datum(TEXTOID, keys));
    for (int c = 0; c < 8; ++c) a.set(5 + c, columns[c].datum());
    insert_result_look.run(a.values(), a.nulls(), false);
}

void record_bandit_look(std::int64_t experiment_id, const std::vector<BanditArmLook>& arms,
                        std::int64_t run, TimestampTz at) {
    if (arms.empty()) return;
    std::vector<Datum> variants;
    FloatColumn alpha, beta, share;
    for (const BanditArmLook& arm : arms) {
        variants.push_back(Int32GetDatum((int)arm.variant_id));
        alpha.add(arm.alpha);
        beta.add(arm.beta);
        share.add(arm.share);
    }
    Args a(7);
    a.set(0, Int64GetDatum(experiment_id))
        .set(1, Int64GetDatum(run))
        .set(2, TimestampTzGetDatum(at))
        .set(3, array_datum(INT4OID, variants))
        .set(4, alpha.datum())
        .set(5, beta.datum())
        .set(6, share.datum());
    insert_bandit_look.run(a.values(), a.nulls(), false);
}

}  // namespace abx::pg
