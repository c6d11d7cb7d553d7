// abx.aggregate(): folds newly committed events into time buckets, per-subject totals and
// per-variant sufficient statistics, then takes one sequential look and refreshes bandit state.
//
// Exactness. Every event row stores the top-level xid of the transaction that inserted it. A run
// reads the window  xid_done <= xid < xmin(S)  where S is the snapshot of the statement that reads
// it: every transaction below xmin(S) has finished, so its committed rows are all visible in S and
// no row can later appear below that bound; rows of transactions still running (or started later)
// have xid >= xmin(S) and are left for a later run. The next run starts at this run's bound, so
// each committed event falls in exactly one window. Runs on one experiment are serialised by an
// advisory lock and the bound is stored in the same transaction as the aggregates, so a rolled
// back run changes nothing and two concurrent runs cannot both take one window.
#include "access.hpp"
#include "analysis_input.hpp"
#include "guardrail_metrics.hpp"
#include "result_looks.hpp"
#include "settings.hpp"

#include "abx/aggregation.hpp"
#include "abx/stats/bandit.hpp"

#include <map>
#include <tuple>

namespace abx::pg {
namespace {

constexpr int kAdvisoryClass = 0x616278;  // 'abx'

Statement lock_experiment("SELECT pg_catalog.pg_advisory_xact_lock($1, $2)", {INT4OID, INT4OID});

// A new experiment's bound belongs to this cluster from its first run on.
Statement ensure_state(R"SQL(
INSERT INTO abx.aggregation_state (experiment_id, system_identifier)
SELECT $1, system_identifier FROM pg_catalog.pg_control_system() ON CONFLICT DO NOTHING)SQL",
                       {INT8OID});
Statement read_state(R"SQL(
SELECT s.xid_done::text, s.metrics_signature, s.system_identifier IS NOT DISTINCT FROM c.system_identifier
  FROM abx.aggregation_state s, pg_catalog.pg_control_system() c WHERE s.experiment_id = $1)SQL",
                     {INT8OID});

// After a restore into another cluster the stored bound and the restored rows' xids count in the
// old cluster's transaction ids, which mean nothing here. The experiment's aggregates are rebuilt
// from its events: every restored row that sits at or above this cluster's horizon is stamped
// below it (xid 0), so that the run that follows counts each visible row exactly once and every
// later window, which starts at that run's bound, counts only rows of later transactions. The
// sequential memory is kept: the same data gives the same statistics.
Statement reset_for_rebuild[] = {
    {"DELETE FROM abx.metric_buckets WHERE experiment_id = $1", {INT8OID}},
    {"DELETE FROM abx.subject_events WHERE experiment_id = $1", {INT8OID}},
    {"DELETE FROM abx.variant_assignments WHERE experiment_id = $1", {INT8OID}},
    {"UPDATE abx.variant_metric_stats SET n = 0, sum = 0, sum_sq = 0 WHERE experiment_id = $1",
     {INT8OID}},
    {"UPDATE abx.events SET xid = '0' WHERE experiment_id = $1 "
     "AND xid >= pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())",
     {INT8OID}},
    {"UPDATE abx.assignments SET xid = '0' WHERE experiment_id = $1 "
     "AND xid >= pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())",
     {INT8OID}},
    {"UPDATE abx.aggregation_state SET xid_done = '0', events_total = 0, system_identifier = "
     "(SELECT system_identifier FROM pg_catalog.pg_control_system()) WHERE experiment_id = $1",
     {INT8OID}},
};

// One statement, one snapshot: the bound, the bucket upsert, the per-subject upsert, and what the
// core needs to update the per-variant statistics: the window's per-subject totals ("added") and
// the totals those subjects had before ("before"; every CTE sees the snapshot from before `up`).
Statement take_window(R"SQL(
WITH bound AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS hi),
w AS MATERIALIZED (
  SELECT e.organization_id, e.subject, e.variant_id, e.event_key, e.value, e.ts
    FROM abx.events e, bound
   WHERE e.experiment_id = $1 AND e.xid >= $2::xid8 AND e.xid < bound.hi),
buckets AS (
  INSERT INTO abx.metric_buckets AS m (experiment_id, variant_id, event_key, bucket_start,
                                       bucket_seconds, count, sum, sum_sq, min, max)
  SELECT $1, variant_id, event_key, date_bin(make_interval(secs => $3), ts, 'epoch'), $3,
         count(*), sum(value), sum(value * value), min(value), max(value)
    FROM w GROUP BY variant_id, event_key, 4
  ON CONFLICT (experiment_id, variant_id, event_key, bucket_seconds, bucket_start) DO UPDATE
     SET count = m.count + excluded.count, sum = m.sum + excluded.sum,
         sum_sq = m.sum_sq + excluded.sum_sq, min = least(m.min, excluded.min),
         max = greatest(m.max, excluded.max)
  RETURNING 1),
batch AS MATERIALIZED (
  SELECT organization_id, subject, event_key, variant_id, count(*) AS n, sum(value) AS total
    FROM w GROUP BY 1, 2, 3, 4),
before AS (
  SELECT s.organization_id, s.subject, s.event_key, s.variant_id, s.count, s.sum
    FROM abx.subject_events s
   WHERE s.experiment_id = $1
     AND (s.organization_id, s.subject) IN (SELECT organization_id, subject FROM batch)),
up AS (
  INSERT INTO abx.subject_events AS s (experiment_id, organization_id, subject, event_key,
                                       variant_id, count, sum)
  SELECT $1, organization_id, subject, event_key, variant_id, n, total FROM batch
   ORDER BY organization_id, subject, event_key
  ON CONFLICT (experiment_id, organization_id, subject, event_key) DO UPDATE
     SET count = s.count + excluded.count, sum = s.sum + excluded.sum
  RETURNING 1),
new_assignments AS MATERIALIZED (
  SELECT a.variant_id, count(*) AS n FROM abx.assignments a, bound
   WHERE a.experiment_id = $1 AND a.xid >= $2::xid8 AND a.xid < bound.hi
   GROUP BY a.variant_id),
assigned AS (
  INSERT INTO abx.variant_assignments AS v (experiment_id, variant_id, assigned)
  SELECT $1, variant_id, n FROM new_assignments
  ON CONFLICT (experiment_id, variant_id) DO UPDATE SET assigned = v.assigned + excluded.assigned)
SELECT bound.hi::text, (SELECT count(*) FROM buckets), (SELECT coalesce(sum(n), 0)::int8 FROM new_assignments), r.*
  FROM bound LEFT JOIN (
    SELECT true AS added, organization_id, subject, event_key, variant_id, n, total FROM batch
    UNION ALL
    SELECT false, organization_id, subject, event_key, variant_id, count, sum FROM before) r ON true
)SQL",
                      {INT8OID, TEXTOID, INT4OID});

Statement all_totals(
    "SELECT organization_id, subject, event_key, count, sum, variant_id FROM abx.subject_events "
    "WHERE experiment_id = $1",
    {INT8OID});

// A rebuild keeps the sequential memory of metrics whose definition did not change (their looks
// stay valid); the rows of other metrics go.
Statement clear_stats(
    "UPDATE abx.variant_metric_stats SET n = 0, sum = 0, sum_sq = 0 WHERE experiment_id = $1",
    {INT8OID});
Statement drop_changed_stats(
    "DELETE FROM abx.variant_metric_stats WHERE experiment_id = $1 AND metric_key <> ALL ($2)",
    {INT8OID, TEXTARRAYOID});

Statement add_stats(R"SQL(
INSERT INTO abx.variant_metric_stats AS s (experiment_id, variant_id, metric_key, n, sum, sum_sq)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (experiment_id, variant_id, metric_key) DO UPDATE
   SET n = s.n + excluded.n, sum = s.sum + excluded.sum, sum_sq = s.sum_sq + excluded.sum_sq,
       updated_at = now())SQL",
                    {INT8OID, INT4OID, TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID});

Statement save_state(R"SQL(
UPDATE abx.aggregation_state
   SET xid_done = greatest(xid_done, $2::xid8), metrics_signature = $3, runs = runs + 1, failures = 0,
       events_total = events_total + $4, last_events = $4, last_run_at = $5
 WHERE experiment_id = $1
RETURNING events_total, runs)SQL",
                     {INT8OID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID});

Statement save_arm(R"SQL(
INSERT INTO abx.bandit_arms AS b (experiment_id, variant_id, alpha, beta, share, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (variant_id) DO UPDATE
   SET alpha = excluded.alpha, beta = excluded.beta, share = excluded.share,
       updated_at = excluded.updated_at)SQL",
                   {INT8OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, TIMESTAMPTZOID});

Statement touch_experiment("UPDATE abx.experiments SET updated_at = updated_at WHERE id = $1",
                           {INT8OID});

// $1: only this organization's experiments; $2: only global ones (else every one).
Statement experiments_to_aggregate(R"SQL(
SELECT e.id FROM abx.experiments e LEFT JOIN abx.organizations o ON o.id = e.organization_id
 WHERE e.status IN ('running', 'paused', 'completed')
   AND ($1::text IS NULL OR o.key = $1) AND (NOT $2 OR e.organization_id IS NULL)
 ORDER BY e.id)SQL",
                                   {TEXTOID, BOOLOID});

using SubjectKey = std::pair<std::int64_t, std::string>;  // organization scope, subject

void add_deltas(std::int64_t experiment_id, const std::vector<analysis::MetricSpec>& metrics,
                const std::vector<aggregation::TouchedSubject>& touched) {
    for (const auto& [variant_id, row] : aggregation::metric_deltas(metrics, touched)) {
        for (std::size_t m = 0; m < metrics.size(); ++m) {
            Args a(6);
            a.set(0, Int64GetDatum(experiment_id))
                .set(1, Int32GetDatum((int)variant_id))
                .set(2, text_datum(metrics[m].key))
                .set(3, Float8GetDatum(row[m].n))
                .set(4, Float8GetDatum(row[m].sum))
                .set(5, Float8GetDatum(row[m].sum_sq));
            add_stats.run(a.values(), a.nulls(), false);
        }
    }
}

// Recomputes the per-variant statistics from the per-subject totals: after the metric
// definitions changed (or on the first run with metrics).
void rebuild_stats(std::int64_t experiment_id, const std::vector<analysis::MetricSpec>& metrics,
                   const std::string& old_signature) {
    Args id(1);
    id.set(0, Int64GetDatum(experiment_id));
    std::vector<bool> unchanged = unchanged_metrics(old_signature, metrics);
    std::vector<Datum> kept;
    for (std::size_t m = 0; m < metrics.size(); ++m)
        if (unchanged[m]) kept.push_back(text_datum(metrics[m].key));
    Args drop(2);
    drop.set(0, Int64GetDatum(experiment_id)).set(1, array_datum(TEXTOID, kept));
    drop_changed_stats.run(drop.values(), drop.nulls(), false);
    clear_stats.run(id.values(), id.nulls(), false);
    std::uint64_t n = all_totals.run(id.values(), id.nulls(), false);
    std::map<SubjectKey, aggregation::TouchedSubject> subjects;
    for (std::uint64_t r = 0; r < n; ++r) {
        auto& s = subjects[{*col_int64(r, 1), *col_text(r, 2)}];
        s.variant_id = *col_int64(r, 6);
        s.added[*col_text(r, 3)] = {(double)*col_int64(r, 4), *col_float8(r, 5)};
    }
    std::vector<aggregation::TouchedSubject> touched;
    for (auto& [key, s] : subjects) touched.push_back(std::move(s));
    add_deltas(experiment_id, metrics, touched);
}

struct RunResult {
    std::string code;
    std::optional<std::string> organization;
    bool rebuilt = false;
    std::int64_t events = 0, subjects = 0, assignments = 0, buckets = 0, events_total = 0, runs = 0;
    std::optional<SubtransactionFailure> failure;
};

// Returns the arms' new state (none when the experiment is no bandit with a primary rate).
std::vector<BanditArmLook> refresh_bandit(const AnalysisInput& in) {
    std::vector<BanditArmLook> stored;
    if (in.experiment.spec.kind != ExperimentKind::Bandit || in.metrics.empty()) return stored;
    const analysis::MetricSpec& primary = in.metrics.front();
    if (primary.role != analysis::MetricRole::Primary || primary.kind != analysis::MetricKind::Rate)
        return stored;
    std::vector<stats::Summary> arms;
    // The variants' weights are the arms' base shares: weight 0 switches an arm off (share 0,
    // whatever min_share says), as docs/sql-api.md promises.
    stats::AllocationConfig allocation = in.data.settings.bandit;
    allocation.base_weights.clear();
    for (const auto& v : in.data.variants) {
        arms.push_back(v.metrics.front());
        allocation.base_weights.push_back(v.weight);
    }
    std::vector<double> shares =
        stats::thompson_shares_rates(arms, allocation, primary.better, in.data.settings.prior);
    TimestampTz now = abx_now();
    for (std::size_t i = 0; i < arms.size(); ++i) {
        stats::BetaPosterior post = stats::beta_posterior(arms[i], in.data.settings.prior);
        Args a(6);
        a.set(0, Int64GetDatum(in.experiment.id))
            .set(1, Int32GetDatum((int)in.variant_ids[i]))
            .set(2, Float8GetDatum(post.alpha))
            .set(3, Float8GetDatum(post.beta))
            .set(4, Float8GetDatum(shares[i]))
            .set(5, TimestampTzGetDatum(now));
        save_arm.run(a.values(), a.nulls(), false);
        stored.push_back({in.variant_ids[i], post.alpha, post.beta, shares[i]});
    }
    // A new row version of the experiment tells every session's assignment cache (fast_lookup.hpp)
    // that the shares changed.
    Args id(1);
    id.set(0, Int64GetDatum(in.experiment.id));
    touch_experiment.run(id.values(), id.nulls(), false);
    return stored;
}

Statement save_failure(R"SQL(
INSERT INTO abx.aggregation_state AS s (experiment_id, system_identifier, failures, last_error_code,
                                        last_error_message, last_error_at)
SELECT $1, system_identifier, 1, $2, $3, $4 FROM pg_catalog.pg_control_system()
ON CONFLICT (experiment_id) DO UPDATE
   SET failures = s.failures + 1, last_error_code = excluded.last_error_code,
       last_error_message = excluded.last_error_message, last_error_at = excluded.last_error_at
RETURNING s.events_total, s.runs)SQL",
                       {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID});

// Records a failed run (in the caller's transaction, after the experiment's subtransaction was
// rolled back) and says so in the server log.
void record_failure(std::int64_t experiment_id, const SubtransactionFailure& failure,
                    RunResult& result) {
    std::tie(result.code, result.organization) = experiment_name(experiment_id, false);
    Args f(4);
    f.set(0, Int64GetDatum(experiment_id))
        .set(1, text_datum(failure.sqlstate))
        .set(2, text_datum(failure.message))
        .set(3, TimestampTzGetDatum(abx_now()));
    save_failure.run(f.values(), f.nulls(), false, 1);
    result.events_total = *col_int64(0, 1);
    result.runs = *col_int64(0, 2);
    const char* code = result.code.c_str();
    const char* state = failure.sqlstate.c_str();
    const char* message = failure.message.c_str();
    pg_guard([&] {
        ereport(WARNING, (errmsg("abx.aggregate: experiment \"%s\" failed and was skipped: %s: %s",
                                 code, state, message)));
    });
}

RunResult aggregate_one(std::int64_t experiment_id) {
    Args id(1);
    id.set(0, Int64GetDatum(experiment_id));
    Args lock(2);
    lock.set(0, Int32GetDatum(kAdvisoryClass)).set(1, Int32GetDatum((int)experiment_id));
    lock_experiment.run(lock.values(), lock.nulls(), false);
    ensure_state.run(id.values(), id.nulls(), false);
    read_state.run(id.values(), id.nulls(), false, 1);
    std::string xid_done = *col_text(0, 1);
    std::string signature = *col_text(0, 2);
    RunResult result;
    if (!*col_bool(0, 3)) {
        for (Statement& step : reset_for_rebuild) step.run(id.values(), id.nulls(), false);
        xid_done = "0";
        result.rebuilt = true;
    }

    // The metric definitions decide what the per-variant statistics mean; when they changed
    // since the last run, rebuild those from the per-subject totals first.
    StoredExperiment experiment = load_experiment_by_id(experiment_id);
    std::vector<analysis::MetricSpec> metrics = analysis::parse_metrics(experiment.spec.metrics);
    std::string new_signature = experiment.spec.metrics.dump();
    if (new_signature != signature) rebuild_stats(experiment_id, metrics, signature);

    Args w(3);
    w.set(0, Int64GetDatum(experiment_id))
        .set(1, text_datum(xid_done))
        .set(2, Int32GetDatum(kBucketSeconds));
    std::uint64_t rows = take_window.run(w.values(), w.nulls(), false);
    std::string hi = *col_text(0, 1);
    result.buckets = *col_int64(0, 2);
    result.assignments = *col_int64(0, 3);
    std::map<SubjectKey, aggregation::TouchedSubject> touched;
    for (std::uint64_t r = 0; r < rows; ++r) {
        std::optional<bool> added = col_bool(r, 4);
        if (!added) break;  // the bound row of an empty window
        auto& t = touched[{*col_int64(r, 5), *col_text(r, 6)}];
        t.variant_id = *col_int64(r, 8);
        aggregation::EventTotals totals{(double)*col_int64(r, 9), *col_float8(r, 10)};
        (*added ? t.added : t.before)[*col_text(r, 7)] = totals;
        if (*added) result.events += (std::int64_t)totals.count;
    }
    result.subjects = (std::int64_t)touched.size();
    if (!touched.empty()) {
        std::vector<aggregation::TouchedSubject> list;
        list.reserve(touched.size());
        for (auto& [key, t] : touched) list.push_back(std::move(t));
        add_deltas(experiment_id, metrics, list);
    }

    const TimestampTz now = abx_now();
    Args st(5);
    st.set(0, Int64GetDatum(experiment_id))
        .set(1, text_datum(hi))
        .set(2, text_datum(new_signature))
        .set(3, Int64GetDatum(result.events))
        .set(4, TimestampTzGetDatum(now));
    save_state.run(st.values(), st.nulls(), false, 1);
    result.events_total = *col_int64(0, 1);
    result.runs = *col_int64(0, 2);

    // One look of the sequential test per run, and the bandit's allocation from fresh posteriors.
    // A run that changed the statistics records its look for the charts (abx.timeline); an idle
    // run's look repeats the figures of the one before, so it adds no row.
    const bool changed =
        result.rebuilt || new_signature != signature || result.events > 0 || result.assignments > 0;
    AnalysisInput after = load_analysis_input(experiment_id, false);
    if (!after.metrics.empty()) {
        analysis::Analysis look = analysis::analyze(after.data, true);
        store_sequential_memory(after, look);
        if (changed) record_result_look(after, look, result.runs, now);
        act_on_new_guardrail_failures(after, look);
    }
    std::vector<BanditArmLook> arms = refresh_bandit(after);
    if (changed) record_bandit_look(experiment_id, arms, result.runs, now);
    result.code = after.experiment.spec.code;
    result.organization = after.organization;
    return result;
}

}  // namespace
}  // namespace abx::pg

using namespace abx;
using namespace abx::pg;

ABX_SQL_FUNCTION(abx_aggregate) {
    std::optional<std::string> code = arg_text_opt(fcinfo, 0);
    Access access = authorize(Right::ExperimentsAnalyze, "abx.aggregate", arg_text_opt(fcinfo, 1));
    const std::optional<std::string>& org = access.organization;
    spi_connect();
    std::vector<std::int64_t> ids;
    if (code) {
        StoredExperiment e = load_experiment(*code, org, false);
        if (!accepts_events(e.status))
            throw Error(
                sqlstate::kObjectNotInPrerequisiteState,
                "experiment \"" + *code + "\" is " + std::string(to_string(e.status)) +
                    ": there is nothing to aggregate",
                "",
                "abx.aggregate() folds the events of running, paused and completed experiments");
        ids.push_back(e.id);
    } else {
        // An organization aggregates its own experiments; without one, a superuser (the
        // scheduler) aggregates every experiment and anyone else the global ones.
        Args a(2);
        a.set_or_null(0, org).set(1, BoolGetDatum(!org && !access.superuser));
        std::uint64_t n = experiments_to_aggregate.run(a.values(), a.nulls(), false);
        for (std::uint64_t r = 0; r < n; ++r) ids.push_back(*col_int64(r, 1));
    }
    // Each experiment in its own subtransaction: one that fails (whatever its data) is rolled
    // back, recorded and reported, and the others are aggregated all the same.
    std::vector<RunResult> results;
    for (std::int64_t id : ids) {
        RunResult run;
        std::optional<SubtransactionFailure> failure =
            run_in_subtransaction([&] { run = aggregate_one(id); });
        if (failure) {
            run = RunResult{};
            run.failure = failure;
            record_failure(id, *failure, run);
        }
        results.push_back(std::move(run));
    }
    spi_finish();
    RowSink sink(fcinfo);
    for (const RunResult& r : results) {
        const char* status = r.failure ? "error" : r.rebuilt ? "rebuilt" : "ok";
        Datum values[11] = {text_datum(r.code),
                            r.organization ? text_datum(*r.organization) : 0,
                            text_datum(status),
                            Int64GetDatum(r.events),
                            Int64GetDatum(r.subjects),
                            Int64GetDatum(r.assignments),
                            Int64GetDatum(r.buckets),
                            Int64GetDatum(r.events_total),
                            Int64GetDatum(r.runs),
                            r.failure ? text_datum(r.failure->sqlstate) : 0,
                            r.failure ? text_datum(r.failure->message) : 0};
        bool nulls[11] = {false, !r.organization, false, false,      false,     false,
                          false, false,           false, !r.failure, !r.failure};
        sink.put(values, nulls, 11);
    }
    return (Datum)0;
}
