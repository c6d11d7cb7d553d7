// End-to-end tests of abx::analysis::analyze (include/abx/analysis.hpp).
//
// Every expected number comes from R 4.2 (Debian r-base-core); the command is next to each value.
// Bayesian references integrate the posterior densities with R's integrate(); the mSPRT reference
// evaluates the formula of Johari et al. in R with tau^2 found by uniroot (docs/statistics.md §2).
#include "abx/analysis.hpp"
#include "abx/error.hpp"

#include <gtest/gtest.h>

#include "analysis_fixtures.hpp"
#include "expect_error.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

using abx_test::arm;
using abx_test::rate;

using abx::analysis::Analysis;
using abx::analysis::ExperimentData;
using abx::analysis::MetricResult;
using abx::analysis::SequentialMemory;
using abx::stats::Summary;
using nlohmann::json;

ExperimentData experiment(const char* metrics_json) {
    ExperimentData d;
    d.metrics = abx::analysis::parse_metrics(json::parse(metrics_json));
    return d;
}

const MetricResult& find(const Analysis& a, const std::string& variant, const std::string& metric) {
    for (const auto& r : a.rows)
        if (r.variant == variant && r.metric == metric) return r;
    throw std::runtime_error("no row " + variant + "/" + metric);
}

const char* kConversion = R"({"primary": {"key": "conversion", "kind": "rate", "event": "buy"}})";

// ---- A/B, rates ------------------------------------------------------------------------------

TEST(AnalysisAnalyze, RateExperimentEndToEnd) {
    ExperimentData d = experiment(kConversion);
    d.variants = {arm("control", true, 1000, {rate(1000, 100)}),
                  arm("green", false, 1000, {rate(1000, 130)})};
    const Analysis a = abx::analysis::analyze(d, true);
    ASSERT_EQ(a.rows.size(), 2u);

    const MetricResult& c = a.rows[0];
    EXPECT_EQ(c.variant, "control");
    EXPECT_TRUE(c.is_control);
    EXPECT_DOUBLE_EQ(c.mean, 0.1);
    EXPECT_DOUBLE_EQ(c.sd, std::sqrt(0.09));
    // R: prop.test(100, 1000, correct=FALSE)$conf.int
    EXPECT_NEAR(c.mean_lower, 0.082909443593095711, 1e-12);
    EXPECT_NEAR(c.mean_upper, 0.120151963195348391, 1e-12);
    EXPECT_TRUE(std::isnan(c.p_value));
    EXPECT_TRUE(std::isnan(c.abs_lift));
    EXPECT_TRUE(std::isnan(c.chance_to_beat_control));

    const MetricResult& t = a.rows[1];
    EXPECT_EQ(t.variant, "green");
    EXPECT_EQ(t.metric, "conversion");
    EXPECT_EQ(t.n, 1000);
    // R: prop.test(130, 1000, correct=FALSE)$conf.int
    EXPECT_NEAR(t.mean_lower, 0.11056377462484195, 1e-12);
    EXPECT_NEAR(t.mean_upper, 0.15226802665446890, 1e-12);
    // R: r <- prop.test(c(130,100), c(1000,1000), correct=FALSE); r$p.value; r$conf.int
    EXPECT_NEAR(t.p_value, 0.035488450466474711, 1e-12);
    EXPECT_NEAR(t.abs_lift, 0.03, 1e-15);
    EXPECT_NEAR(t.abs_lift_lower, 0.0020679344393763725, 1e-12);
    EXPECT_NEAR(t.abs_lift_upper, 0.0579320655606236218, 1e-12);
    // R (delta method): pt<-.13; pc<-.1; g<-c(1/pc,-pt/pc^2);
    //   se<-sqrt(sum(g^2*c(pt*(1-pt),pc*(1-pc))/1000)); pt/pc-1 + c(-1,1)*qnorm(.975)*se
    EXPECT_NEAR(t.rel_lift, 0.3, 1e-12);
    EXPECT_NEAR(t.rel_lift_lower, -0.019179397713586954, 1e-12);
    EXPECT_NEAR(t.rel_lift_upper, 0.619179397713587099, 1e-12);
    // One hypothesis in the Holm family: adjusted = raw.
    EXPECT_NEAR(t.p_value_holm, t.p_value, 1e-15);
    // R: integrate(function(x) dbeta(x,131,871)*pbeta(x,101,901), 0, 1, rel.tol=1e-12)
    EXPECT_NEAR(t.chance_to_beat_control, 0.98216506611635079, 1e-8);
    // R: E[max(C - T, 0)]: integrate(function(t) dbeta(t,131,871)*(101/1002*(1-pbeta(t,102,901))
    //                                   - t*(1-pbeta(t,101,901))), 0, 1, rel.tol=1e-12)
    EXPECT_NEAR(t.expected_loss, 9.2374491504706936e-05, 1e-9);
    // prob_best with two arms: the chance to beat the control, and its complement.
    EXPECT_NEAR(t.prob_best, 0.98216506611635079, 1e-7);
    EXPECT_NEAR(c.prob_best + t.prob_best, 1.0, 1e-12);
    // R: xs <- uniroot(function(x) x-log(1+x)-2*log(20), c(1,100), tol=1e-14)$root
    //    tau2 <- xs*(.13*.87+.1*.9)/1e4; V <- (.13*.87+.1*.9)/1000; th <- .03
    //    lam <- sqrt(V/(V+tau2))*exp(th^2/(2*V)*tau2/(V+tau2)); min(1,1/lam)
    //    hw <- sqrt(V*(V+tau2)/tau2*(log((V+tau2)/V)+2*log(20))); th + c(-1,1)*hw
    EXPECT_NEAR(t.seq_p_value, 0.49692495313074647, 1e-9);
    EXPECT_NEAR(t.seq_lower, -0.024485891563997601, 1e-9);
    EXPECT_NEAR(t.seq_upper, 0.084485891563997606, 1e-9);
    EXPECT_TRUE(t.note.empty()) << t.note;

    // Memory: one look folded in for the treatment, nothing for the control.
    ASSERT_EQ(a.sequential.size(), 2u);
    ASSERT_EQ(a.sequential[1].size(), 1u);
    EXPECT_EQ(a.sequential[1][0].looks, 1);
    EXPECT_NEAR(a.sequential[1][0].p_value, t.seq_p_value, 1e-15);
    EXPECT_EQ(a.sequential[0][0].looks, 0);

    EXPECT_FALSE(a.srm.mismatch);
    EXPECT_TRUE(a.fail_fast.empty());

    const json j = abx::analysis::to_json(a, d);
    ASSERT_EQ(j["rows"].size(), 2u);
    EXPECT_TRUE(j["rows"][0]["p_value"].is_null());  // NaN becomes null
    EXPECT_NEAR(j["rows"][1]["p_value"].get<double>(), t.p_value, 1e-15);
    EXPECT_EQ(j["rows"][1]["kind"], "rate");
    EXPECT_EQ(j["srm"]["observed"]["green"], 1000);
}

// ---- A/B/n: Holm, prob_best, fail-fast on a guardrail ----------------------------------------

TEST(AnalysisAnalyze, ThreeArmsHolmAndProbBest) {
    ExperimentData d = experiment(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "secondary": [{"key": "signup", "kind": "rate", "event": "signup"}],
        "guardrails": [{"key": "errors", "kind": "rate", "event": "error",
                        "objective": "minimize"}]})");
    d.variants = {arm("a", true, 2000, {rate(2000, 200), rate(2000, 400), rate(2000, 20)}),
                  arm("b", false, 2000, {rate(2000, 240), rate(2000, 430), rate(2000, 45)}),
                  arm("c", false, 2000, {rate(2000, 250), rate(2000, 390), rate(2000, 22)})};
    const Analysis a = abx::analysis::analyze(d, true);
    ASSERT_EQ(a.rows.size(), 9u);
    // Variant-major order.
    EXPECT_EQ(a.rows[3].variant, "b");
    EXPECT_EQ(a.rows[3].metric, "conversion");
    EXPECT_EQ(a.rows[5].metric, "errors");

    // R: p <- c(prop.test(c(240,200), c(2000,2000), correct=FALSE)$p.value,
    //           prop.test(c(430,400), c(2000,2000), correct=FALSE)$p.value,
    //           prop.test(c(250,200), c(2000,2000), correct=FALSE)$p.value,
    //           prop.test(c(390,400), c(2000,2000), correct=FALSE)$p.value)
    //    p.adjust(p, "holm")
    EXPECT_NEAR(find(a, "b", "conversion").p_value, 0.043244928043021637, 1e-12);
    EXPECT_NEAR(find(a, "b", "conversion").p_value_holm, 0.129734784129064917, 1e-12);
    EXPECT_NEAR(find(a, "b", "signup").p_value_holm, 0.484225907983594328, 1e-12);
    EXPECT_NEAR(find(a, "c", "conversion").p_value_holm, 0.049403790844765601, 1e-12);
    EXPECT_NEAR(find(a, "c", "signup").p_value_holm, 0.691250534419747154, 1e-12);
    // Guardrails are outside the Holm family; their raw p-value is still there.
    // R: prop.test(c(45,20), c(2000,2000), correct=FALSE)$p.value
    EXPECT_NEAR(find(a, "b", "errors").p_value, 0.0017697620551871017, 1e-12);
    EXPECT_TRUE(std::isnan(find(a, "b", "errors").p_value_holm));
    EXPECT_TRUE(std::isnan(find(a, "a", "conversion").p_value_holm));

    // R: A <- list(c(201,1801), c(241,1761), c(251,1751))
    //    sapply(1:3, function(i) integrate(function(x) { v <- dbeta(x,A[[i]][1],A[[i]][2])
    //      for (j in setdiff(1:3,i)) v <- v*pbeta(x,A[[j]][1],A[[j]][2]); v }, 0, 1,
    //      rel.tol=1e-12, subdivisions=1000)$value)
    EXPECT_NEAR(find(a, "a", "conversion").prob_best, 0.0015909967575514071, 1e-7);
    EXPECT_NEAR(find(a, "b", "conversion").prob_best, 0.3143424041496978849, 1e-7);
    EXPECT_NEAR(find(a, "c", "conversion").prob_best, 0.6840665990927510265, 1e-7);
    for (const char* m : {"conversion", "signup", "errors"}) {
        const double sum =
            find(a, "a", m).prob_best + find(a, "b", m).prob_best + find(a, "c", m).prob_best;
        EXPECT_NEAR(sum, 1.0, 1e-9) << m;
    }
    // errors, lower is better: same integral with 1 - pbeta for the others.
    // R: E <- list(c(21,1981), c(46,1956), c(23,1979)); ... v*(1-pbeta(x,...)) ...
    EXPECT_NEAR(find(a, "a", "errors").prob_best, 0.62020445972362414633, 1e-7);
    EXPECT_NEAR(find(a, "b", "errors").prob_best, 0.00005937949173689113, 1e-7);

    // Fail-fast: b is clearly worse than a (the best arm) on the errors guardrail.
    // R: integrate(function(x) dbeta(x,46,1956)*pbeta(x,21,1981), 0, 1, rel.tol=1e-12)
    ASSERT_EQ(a.fail_fast.size(), 1u);
    EXPECT_EQ(a.fail_fast[0].variant, "b");
    EXPECT_EQ(a.fail_fast[0].metric, "errors");
    EXPECT_EQ(a.fail_fast[0].best, "a");
    EXPECT_NEAR(a.fail_fast[0].prob_worse_than_best, 0.99914795334557549, 1e-8);
    // ... which is not 1 - prob_best (0.99994), the quantity the rule must not use.
    EXPECT_GT(
        std::fabs(a.fail_fast[0].prob_worse_than_best - (1 - find(a, "b", "errors").prob_best)),
        5e-4);
}

// ---- means -----------------------------------------------------------------------------------

// Data with exact means and sds. R: set.seed(1)
//   xc <- as.numeric(scale(rnorm(50)))*3 + 10;  xt <- as.numeric(scale(rnorm(60)))*4 + 11.5
//   c(sum(xc), sum(xc^2), sum(xt), sum(xt^2))  ->  500 5441 690 8879
ExperimentData means_experiment(const char* objective) {
    ExperimentData d = experiment((std::string(R"({"primary": {"key": "revenue", "kind": "avg",
        "event": "buy", "objective": ")") +
                                   objective + R"("}})")
                                      .c_str());
    d.variants = {arm("control", true, 50, {Summary{50, 500, 5441}}),
                  arm("t", false, 60, {Summary{60, 690, 8879}})};
    return d;
}

TEST(AnalysisAnalyze, MeansMetricWelch) {
    const Analysis a = abx::analysis::analyze(means_experiment("maximize"), false);
    const MetricResult& c = find(a, "control", "revenue");
    const MetricResult& t = find(a, "t", "revenue");
    EXPECT_NEAR(c.mean, 10, 1e-12);
    EXPECT_NEAR(c.sd, 3, 1e-12);
    // R: t.test(xc)$conf.int ; t.test(xt)$conf.int
    EXPECT_NEAR(c.mean_lower, 9.1474094335128093, 1e-9);
    EXPECT_NEAR(c.mean_upper, 10.8525905664871907, 1e-9);
    EXPECT_NEAR(t.mean_lower, 10.466690429976817, 1e-9);
    EXPECT_NEAR(t.mean_upper, 12.533309570023182, 1e-9);
    // R: r <- t.test(xt, xc, var.equal=FALSE); r$p.value; r$conf.int
    EXPECT_NEAR(t.p_value, 0.026866970407424719, 1e-9);
    EXPECT_NEAR(t.abs_lift, 1.5, 1e-12);
    EXPECT_NEAR(t.abs_lift_lower, 0.17509573201573661, 1e-8);
    EXPECT_NEAR(t.abs_lift_upper, 2.82490426798426286, 1e-8);
    EXPECT_NEAR(t.rel_lift, 0.15, 1e-12);
    // R: s <- sqrt(9/50 + 16/60); pnorm(1.5/s)
    EXPECT_NEAR(t.chance_to_beat_control, 0.98759653337333742, 1e-9);
    // R: mu <- -1.5; mu*pnorm(mu/s) + s*dnorm(mu/s)
    EXPECT_NEAR(t.expected_loss, 0.0028762268598182608, 1e-9);
    EXPECT_NEAR(t.prob_best, 0.98759653337333742, 1e-7);
}

TEST(AnalysisAnalyze, MinimizeObjectiveFlipsChanceToBeat) {
    const Analysis up = abx::analysis::analyze(means_experiment("maximize"), false);
    const Analysis down = abx::analysis::analyze(means_experiment("minimize"), false);
    const MetricResult& t = find(down, "t", "revenue");
    // R: pnorm(-1.5/s)
    EXPECT_NEAR(t.chance_to_beat_control, 0.012403466626662578, 1e-9);
    EXPECT_NEAR(t.chance_to_beat_control + find(up, "t", "revenue").chance_to_beat_control, 1,
                1e-12);
    // Risk of shipping t when lower is better: E[max(T - C, 0)]. R: mu <- 1.5; same formula
    EXPECT_NEAR(t.expected_loss, 1.5028762268598181, 1e-9);
    EXPECT_NEAR(find(down, "control", "revenue").prob_best, 0.98759653337333742, 1e-7);
    // The frequentist numbers do not depend on the objective.
    EXPECT_EQ(t.p_value, find(up, "t", "revenue").p_value);
    EXPECT_EQ(t.abs_lift, 1.5);
}

TEST(AnalysisAnalyze, MeansNeedTwoSubjectsPerArmForBayes) {
    ExperimentData d = means_experiment("maximize");
    d.variants.push_back(arm("tiny", false, 1, {Summary{1, 12, 144}}));
    const Analysis a = abx::analysis::analyze(d, false);
    for (const auto& r : a.rows) {
        EXPECT_TRUE(std::isnan(r.prob_best)) << r.variant;
        EXPECT_NE(r.note.find("prob_best"), std::string::npos) << r.note;
    }
    const MetricResult& tiny = find(a, "tiny", "revenue");
    EXPECT_TRUE(std::isnan(tiny.chance_to_beat_control));
    EXPECT_TRUE(std::isnan(tiny.p_value));
    EXPECT_TRUE(std::isnan(tiny.sd));
    EXPECT_NE(tiny.note.find("fewer than 2 subjects"), std::string::npos) << tiny.note;
    // The other treatment still has its comparison.
    EXPECT_NEAR(find(a, "t", "revenue").chance_to_beat_control, 0.98759653337333742, 1e-9);
}

// ---- SRM -------------------------------------------------------------------------------------

TEST(AnalysisAnalyze, SrmFlagsA5000To5400Split) {
    ExperimentData d = experiment(kConversion);
    d.variants = {arm("control", true, 5000, {rate(5000, 500)}, 50),
                  arm("t", false, 5400, {rate(5400, 540)}, 50)};
    const Analysis a = abx::analysis::analyze(d, false);
    // R: r <- chisq.test(c(5000,5400), p=c(.5,.5)); r$statistic; r$p.value
    ASSERT_TRUE(a.srm.defined);
    EXPECT_NEAR(a.srm.chi_square, 15.384615384615385, 1e-10);
    EXPECT_NEAR(a.srm.p_value, 8.7699423755902318e-05, 1e-12);
    EXPECT_TRUE(a.srm.mismatch);
    // 5000/5100 is fine. R: chisq.test(c(5000,5100))$p.value = 0.3197
    d.variants[1].assigned = 5100;
    EXPECT_FALSE(abx::analysis::analyze(d, false).srm.mismatch);
    // A stricter or looser threshold comes from the settings.
    d.variants[1].assigned = 5400;
    d.settings.srm_threshold = 1e-5;
    EXPECT_FALSE(abx::analysis::analyze(d, false).srm.mismatch);
}

// ---- sequential memory -----------------------------------------------------------------------

TEST(AnalysisAnalyze, SequentialMemoryAcrossLooks) {
    ExperimentData d = experiment(kConversion);
    const double looks[][4] = {// control n, x, treatment n, x
                               {1000, 100, 1000, 130},
                               {2000, 190, 2000, 250},
                               {3000, 300, 3000, 330},
                               {4000, 410, 4000, 420},
                               {5000, 520, 5000, 515}};
    double previous_p = 1.0;
    double previous_lower = -INFINITY, previous_upper = INFINITY;
    for (int k = 0; k < 5; ++k) {
        const auto& l = looks[k];
        d.variants = {arm("control", true, 0, {rate(l[0], l[1])}),
                      arm("t", false, 0, {rate(l[2], l[3])})};
        const Analysis a = abx::analysis::analyze(d, true);
        const MetricResult& t = find(a, "t", "conversion");
        EXPECT_LE(t.seq_p_value, previous_p) << "look " << k;    // running minimum
        EXPECT_GE(t.seq_lower, previous_lower) << "look " << k;  // running intersection
        EXPECT_LE(t.seq_upper, previous_upper) << "look " << k;
        EXPECT_EQ(a.sequential[1][0].looks, k + 1);
        previous_p = t.seq_p_value;
        previous_lower = t.seq_lower;
        previous_upper = t.seq_upper;
        d.sequential = a.sequential;
    }
    // The data drifted back to no effect while the p-value kept its minimum: the fixed-horizon
    // p-value of the last look is large.
    d.variants = {arm("control", true, 0, {rate(5000, 520)}),
                  arm("t", false, 0, {rate(5000, 515)})};
    const Analysis last = abx::analysis::analyze(d, false);
    EXPECT_GT(find(last, "t", "conversion").p_value, 0.8);
    EXPECT_EQ(find(last, "t", "conversion").seq_p_value, previous_p);
}

TEST(AnalysisAnalyze, LookFalseReportsButDoesNotCount) {
    ExperimentData d = experiment(kConversion);
    SequentialMemory stored;
    stored.looks = 3;
    stored.p_value = 0.6;
    stored.lower = -0.05;
    stored.upper = 0.07;
    d.sequential = {{SequentialMemory{}}, {stored}};
    d.variants = {arm("control", true, 1000, {rate(1000, 100)}),
                  arm("t", false, 1000, {rate(1000, 130)})};
    const Analysis a = abx::analysis::analyze(d, false);
    // Returned memory: identical to the input (shape and content), the look is not counted.
    ASSERT_EQ(a.sequential.size(), 2u);
    ASSERT_EQ(a.sequential[1].size(), 1u);
    EXPECT_EQ(a.sequential[1][0].looks, 3);
    EXPECT_EQ(a.sequential[1][0].p_value, 0.6);
    EXPECT_EQ(a.sequential[1][0].lower, -0.05);
    EXPECT_EQ(a.sequential[1][0].upper, 0.07);
    // Reported: the current look folded in (p of this look is 0.49692..., see the end-to-end
    // test), the interval intersected with [-0.02449, 0.08449].
    const MetricResult& t = find(a, "t", "conversion");
    EXPECT_NEAR(t.seq_p_value, 0.49692495313074647, 1e-9);
    EXPECT_NEAR(t.seq_lower, -0.024485891563997601, 1e-9);
    EXPECT_EQ(t.seq_upper, 0.07);

    // Without stored memory, look = false returns no memory either (shape unchanged: empty).
    d.sequential.clear();
    EXPECT_TRUE(abx::analysis::analyze(d, false).sequential.empty());
    // ... while look = true creates it.
    const Analysis b = abx::analysis::analyze(d, true);
    ASSERT_EQ(b.sequential.size(), 2u);
    EXPECT_EQ(b.sequential[1][0].looks, 1);
    // And look = true on the stored memory counts the look.
    d.sequential = {{SequentialMemory{}}, {stored}};
    EXPECT_EQ(abx::analysis::analyze(d, true).sequential[1][0].looks, 4);
}

TEST(AnalysisAnalyze, EmptyIntersectionShowsLatestLook) {
    ExperimentData d = experiment(kConversion);
    SequentialMemory stored;
    stored.looks = 2;
    stored.p_value = 0.01;
    stored.lower = 0.5;  // disjoint from this look's [-0.024, 0.084]
    stored.upper = 0.6;
    d.sequential = {{SequentialMemory{}}, {stored}};
    d.variants = {arm("control", true, 1000, {rate(1000, 100)}),
                  arm("t", false, 1000, {rate(1000, 130)})};
    const Analysis a = abx::analysis::analyze(d, true);
    const MetricResult& t = find(a, "t", "conversion");
    EXPECT_NEAR(t.seq_lower, -0.024485891563997601, 1e-9);
    EXPECT_NEAR(t.seq_upper, 0.084485891563997606, 1e-9);
    EXPECT_EQ(t.seq_p_value, 0.01);
    EXPECT_NE(t.note.find("do not overlap"), std::string::npos) << t.note;
    EXPECT_EQ(a.sequential[1][0].looks, 3);
    EXPECT_GT(a.sequential[1][0].lower, a.sequential[1][0].upper);  // stays empty
}

TEST(AnalysisAnalyze, SequentialMemoryShapeIsChecked) {
    ExperimentData d = experiment(kConversion);
    d.variants = {arm("control", true, 10, {rate(10, 1)}), arm("t", false, 10, {rate(10, 2)})};
    d.sequential = {{SequentialMemory{}}};
    try {
        abx::analysis::analyze(d, true);
        ADD_FAILURE() << "no error";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_EQ(std::string(e.what()).rfind("invalid sequential:", 0), 0u) << e.what();
    }
}

// ---- fail-fast -------------------------------------------------------------------------------

TEST(AnalysisAnalyze, FailFastAroundMinSamples) {
    ExperimentData d = experiment(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "secondary": [{"key": "other", "kind": "rate", "event": "x"}]})");
    d.variants = {arm("control", true, 100, {rate(100, 30), rate(100, 30)}),
                  arm("t", false, 100, {rate(100, 12), rate(100, 12)})};
    d.settings.fail_fast.min_samples = 100;
    Analysis a = abx::analysis::analyze(d, false);
    // Only the primary metric (secondary metrics are not fail-fast checked).
    ASSERT_EQ(a.fail_fast.size(), 1u);
    EXPECT_EQ(a.fail_fast[0].variant, "t");
    EXPECT_EQ(a.fail_fast[0].metric, "conversion");
    EXPECT_EQ(a.fail_fast[0].best, "control");
    // R: integrate(function(x) dbeta(x,31,71)*pbeta(x,13,89), 0, 1, rel.tol=1e-12)
    EXPECT_NEAR(a.fail_fast[0].prob_worse_than_best, 0.99912166307056893, 1e-8);

    // One subject short in one arm: no flag.
    d.settings.fail_fast.min_samples = 101;
    EXPECT_TRUE(abx::analysis::analyze(d, false).fail_fast.empty());
    // Enough samples but a threshold above the probability: no flag.
    d.settings.fail_fast.min_samples = 100;
    d.settings.fail_fast.threshold = 0.9995;
    EXPECT_TRUE(abx::analysis::analyze(d, false).fail_fast.empty());
}

// ---- degenerate data -------------------------------------------------------------------------

TEST(AnalysisAnalyze, AllZeroDataDoesNotThrow) {
    ExperimentData d = experiment(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "secondary": [{"key": "revenue", "kind": "sum", "event": "buy"}],
        "guardrails": [{"key": "latency", "kind": "avg", "event": "load",
                        "objective": "minimize"}]})");
    d.variants = {arm("control", true, 0, {Summary{}, Summary{}, Summary{}}),
                  arm("b", false, 0, {Summary{}, Summary{}, Summary{}}),
                  arm("c", false, 0, {Summary{}, Summary{}, Summary{}})};
    Analysis a;
    ASSERT_NO_THROW(a = abx::analysis::analyze(d, true));
    ASSERT_EQ(a.rows.size(), 9u);
    for (const auto& r : a.rows) {
        EXPECT_TRUE(std::isnan(r.mean)) << r.variant << "/" << r.metric;
        EXPECT_TRUE(std::isnan(r.prob_best));
        EXPECT_TRUE(std::isnan(r.p_value));
        EXPECT_TRUE(std::isnan(r.seq_p_value));
        EXPECT_FALSE(r.note.empty());
    }
    EXPECT_FALSE(a.srm.defined);
    EXPECT_FALSE(a.srm.mismatch);
    EXPECT_TRUE(a.fail_fast.empty());
    EXPECT_EQ(a.sequential[1][0].looks, 0);  // an undefined look is not counted
    EXPECT_NO_THROW(abx::analysis::insights(d, a));
    EXPECT_NO_THROW(abx::analysis::to_json(a, d).dump());
}

TEST(AnalysisAnalyze, ZeroConversionsAndConstantValues) {
    ExperimentData d = experiment(R"({
        "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
        "secondary": [{"key": "revenue", "kind": "sum", "event": "buy"}]})");
    d.variants = {arm("control", true, 500, {rate(500, 0), Summary{500, 0, 0}}),
                  arm("t", false, 500, {rate(500, 0), Summary{500, 0, 0}})};
    Analysis a;
    ASSERT_NO_THROW(a = abx::analysis::analyze(d, true));
    const MetricResult& t = find(a, "t", "conversion");
    EXPECT_EQ(t.mean, 0);
    EXPECT_TRUE(std::isnan(t.p_value));
    EXPECT_NE(t.note.find("no conversions in either arm"), std::string::npos) << t.note;
    EXPECT_TRUE(std::isnan(t.rel_lift));
    // The posteriors exist (Beta(1, 501) both): the chance is 1/2 and prob_best splits evenly.
    EXPECT_NEAR(t.chance_to_beat_control, 0.5, 1e-9);
    EXPECT_NEAR(t.prob_best, 0.5, 1e-7);
    const MetricResult& rev = find(a, "t", "revenue");
    EXPECT_TRUE(std::isnan(rev.p_value));
    EXPECT_NEAR(rev.chance_to_beat_control, 0.5, 1e-12);
}

TEST(AnalysisAnalyze, InvalidInputIsAnError) {
    ExperimentData d = experiment(kConversion);
    d.variants = {arm("control", true, 10, {rate(10, 11)}), arm("t", false, 10, {rate(10, 2)})};
    try {
        abx::analysis::analyze(d, false);
        ADD_FAILURE() << "no error";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_EQ(std::string(e.what()).rfind("invalid variants[0].metrics[0].sum:", 0), 0u)
            << e.what();
    }
    d.variants = {arm("a", false, 10, {rate(10, 1)}), arm("b", false, 10, {rate(10, 2)})};
    EXPECT_THROW(abx::analysis::analyze(d, false), abx::Error);  // no control
    d.variants = {arm("a", true, 10, {rate(10, 1)}), arm("b", false, 10, {})};
    EXPECT_THROW(abx::analysis::analyze(d, false), abx::Error);  // summaries missing
    d.variants = {arm("a", true, 10, {rate(10, 1)}), arm("b", false, 10, {rate(10, 1)})};
    d.settings.confidence = 1.5;
    EXPECT_THROW(abx::analysis::analyze(d, false), abx::Error);
}

}  // namespace

namespace {

// Numbers outside their range are 22003; a wrong shape or inconsistent values stay 22023.
TEST(AnalysisAnalyze, InputOutOfRangeIs22003) {
    ExperimentData d = experiment(kConversion);
    d.variants = {arm("control", true, -1, {rate(10, 1)}), arm("t", false, 10, {rate(10, 2)})};
    expect_error([&] { abx::analysis::analyze(d, false); }, "22003",
                 "invalid variants[0].assigned:");
    d.variants = {arm("control", true, 10, {rate(10, 1)}), arm("t", false, 10, {rate(NAN, 2)})};
    expect_error([&] { abx::analysis::analyze(d, false); }, "22003",
                 "invalid variants[1].metrics[0].n:");
    d.variants = {arm("control", true, 10, {rate(10, 1)}), arm("t", false, 10, {rate(10, 2)}, -1)};
    expect_error([&] { abx::analysis::analyze(d, false); }, "22003", "invalid variants[1].weight:");
    d.variants[1].weight = 1;
    d.settings.confidence = 1.5;
    expect_error([&] { abx::analysis::analyze(d, false); }, "22003",
                 "invalid analysis.confidence:");
}

}  // namespace

namespace {
const char* kGuardrailMetrics = R"({
    "primary": {"key": "conversion", "kind": "rate", "event": "buy"},
    "secondary": [{"key": "clicks", "kind": "rate", "event": "click", "objective": "minimize"}],
    "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]})";
}  // namespace

TEST(AnalysisAnalyze, GuardrailHarmTestAcrossLooks) {
    ExperimentData d = experiment(kGuardrailMetrics);
    // Look 1: the same error rate (1 %) in both arms: no harm.
    d.variants = {
        arm("control", true, 10000, {rate(10000, 1000), rate(10000, 100), rate(10000, 100)}),
        arm("green", false, 10000, {rate(10000, 1000), rate(10000, 100), rate(10000, 100)})};
    Analysis a = abx::analysis::analyze(d, true);
    EXPECT_FALSE(find(a, "green", "errors").guardrail_failed);
    EXPECT_TRUE(a.guardrail_failures.empty());
    EXPECT_EQ(a.sequential[1][2].harm_looks, 1);
    EXPECT_EQ(a.sequential[1][1].harm_looks, 0);  // a secondary metric has no harm test
    EXPECT_TRUE(std::isnan(find(a, "control", "errors").harm_p_value));
    EXPECT_TRUE(std::isnan(find(a, "green", "clicks").harm_p_value));

    // Look 2: 1.5 % errors vs 1 % on 10,000 subjects each. R (the half-normal mixture by
    // integration, tau^2 = x* V with x* = uniroot(x - log1p(x) - 2 log(20)) since V is the planned
    // variance at 10,000 per arm; see stats_sequential_test.cpp for LRp):
    //   pt <- .015; pc <- .01; V <- (pt*(1-pt)+pc*(1-pc))/1e4; 1/LRp(pt-pc, V, xs*V)
    //   -> p = 0.016614109895563268, lower bound 0.00065050523871056879
    d.sequential = a.sequential;
    d.variants[1].metrics[2] = rate(10000, 150);
    d.variants[1].metrics[1] = rate(10000, 150);  // the same harm on a secondary metric: no alarm
    a = abx::analysis::analyze(d, true);
    const MetricResult& g = find(a, "green", "errors");
    EXPECT_NEAR(g.harm_p_value, 0.016614109895563268, 1e-9);
    EXPECT_NEAR(g.harm_lower, 0.00065050523871056879, 1e-9);
    EXPECT_TRUE(g.guardrail_failed);
    EXPECT_FALSE(find(a, "green", "clicks").guardrail_failed);
    ASSERT_EQ(a.guardrail_failures.size(), 1u);
    EXPECT_EQ(a.guardrail_failures[0].variant, "green");
    EXPECT_EQ(a.guardrail_failures[0].metric, "errors");
    EXPECT_EQ(a.sequential[1][2].harm_looks, 2);
    // The two-sided sequential memory of the same row moves on as before.
    EXPECT_EQ(a.sequential[1][2].looks, 2);
    const json j = abx::analysis::to_json(a, d);
    EXPECT_EQ(j["guardrail_failures"][0]["metric"], "errors");
    EXPECT_EQ(j["rows"][5]["guardrail_failed"], true);
    const json in = abx::analysis::insights(d, a);
    EXPECT_EQ(in["guardrail_failures"].size(), 1u);

    // Harm shown once stays shown (a confidence sequence), even when the next look looks clean.
    d.sequential = a.sequential;
    d.variants[1].metrics[2] = rate(20000, 200);
    d.variants[0].metrics[2] = rate(20000, 200);
    a = abx::analysis::analyze(d, true);
    EXPECT_TRUE(find(a, "green", "errors").guardrail_failed);

    // A malformed stored harm state is refused, naming the field.
    d.sequential[1][2].harm_p_value = 2;
    expect_error([&] { abx::analysis::analyze(d, true); }, "22003", "harm_p_value");
}
