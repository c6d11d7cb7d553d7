// Bayesian analysis: see include/abx/stats/bayesian.hpp and docs/statistics-bayesian.md.
#include "abx/stats/bayesian.hpp"

#include "posterior_helpers.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

namespace abx::stats {

using detail::arm_name;
using detail::check_rate;
using detail::orient;

namespace {

namespace bm = boost::math;

// Boost.Math policy: errors throw (the default), but double computations stay in double instead of
// being promoted to long double, which is several times faster and still accurate to a few ulps.
using Policy = bm::policies::policy<bm::policies::promote_double<false>>;
using BetaDist = bm::beta_distribution<double, Policy>;
using NormalDist = bm::normal_distribution<double, Policy>;

// Mass left out of each tail of the integration domain of a density (bounds the truncation error).
constexpr double kTail = 1e-15;
// Relative tolerance requested from tanh-sinh (relative to the integral of |f|).
constexpr double kQuadTolerance = 1e-10;
// Absolute tolerance of one smooth piece (probabilities are at most 1) and its bisection depth.
constexpr double kPieceTolerance = 1e-12;
constexpr double kPieceRelTolerance = 1e-9;
constexpr int kMaxBisections = 12;
// A forced closed-form sum refuses to run longer than this many terms (about a second).
constexpr double kExactSumHardLimit = 1e8;

void check_beta(const BetaPosterior& p, const std::string& name) {
    if (!(std::isfinite(p.alpha) && p.alpha > 0))
        invalid_field(name + ".alpha", "must be finite and > 0");
    if (!(std::isfinite(p.beta) && p.beta > 0))
        invalid_field(name + ".beta", "must be finite and > 0");
}

void check_normal(const NormalPosterior& p, const std::string& name) {
    if (!std::isfinite(p.mean)) invalid_field(name + ".mean", "must be finite");
    if (!(std::isfinite(p.sd) && p.sd >= 0)) invalid_field(name + ".sd", "must be finite and >= 0");
}

void check_level(double level) {
    if (!(level > 0 && level < 1)) invalid_field("level", "must be in (0, 1)");
}

// ----- Evan Miller's closed-form sum -------------------------------------------------------------
//
// For A ~ Beta(aa, ba), B ~ Beta(ab, bb) independent and ab a positive integer:
//   P(B > A) = sum_{i=0}^{ab-1} B(aa+i, ba+bb) / ((bb+i) B(1+i, bb) B(aa, ba)).
// Successive terms satisfy t_{i+1} = t_i (aa+i)(bb+i) / ((aa+ba+bb+i)(i+1)) and
// t_0 = B(aa, ba+bb) / B(aa, ba) = Γ(ba+bb) Γ(aa+ba) / (Γ(aa+ba+bb) Γ(ba)).
// The sum runs in log space (terms can underflow when the counts are large), in long double so that
// the log-gamma differences of arguments near 1e7 keep ~1e-11 absolute accuracy.
double miller_sum(double aa, double ba, double ab, double bb) {
    using LD = long double;
    const LD a = aa, b = ba, c = bb;
    LD log_t = bm::lgamma(b + c) + bm::lgamma(a + b) - bm::lgamma(a + b + c) - bm::lgamma(b);
    LD max_log = log_t;
    LD scaled_sum = 1.0L;  // sum of exp(log_t_i - max_log)
    const auto terms = static_cast<long long>(ab);
    InterruptPoll poll;  // a forced exact sum may run 10^8 terms
    for (long long i = 0; i + 1 < terms; ++i) {
        poll.tick();
        const LD k = static_cast<LD>(i);
        log_t += std::log(((a + k) * (c + k)) / ((a + b + c + k) * (k + 1.0L)));
        if (log_t > max_log) {
            scaled_sum = scaled_sum * std::exp(max_log - log_t) + 1.0L;
            max_log = log_t;
        } else {
            scaled_sum += std::exp(log_t - max_log);
        }
    }
    return static_cast<double>(std::exp(max_log) * scaled_sum);
}

bool is_integer(double v) {
    return v == std::floor(v);
}

// The four equivalent closed forms of P(X > Y), X ~ Beta(ax, bx), Y ~ Beta(ay, by):
//   sum over ax terms:      P(X > Y)     = S(A=Y, B=X)
//   sum over ay terms:  1 - P(Y > X)     = 1 - S(A=X, B=Y)
//   sum over by terms:      P(1-Y > 1-X) = S(A=1-X, B=1-Y)
//   sum over bx terms:  1 - P(1-X > 1-Y) = 1 - S(A=1-Y, B=1-X)
// Returns the smallest number of terms among the forms whose summation parameter is an integer,
// or +inf when none is.
struct ExactForm {
    double terms = std::numeric_limits<double>::infinity();
    int which = -1;
};

ExactForm best_exact_form(const BetaPosterior& x, const BetaPosterior& y) {
    ExactForm best;
    const double candidates[4] = {x.alpha, y.alpha, y.beta, x.beta};
    for (int i = 0; i < 4; ++i) {
        if (is_integer(candidates[i]) && candidates[i] < best.terms) {
            best.terms = candidates[i];
            best.which = i;
        }
    }
    return best;
}

double exact_prob_greater(const BetaPosterior& x, const BetaPosterior& y, const ExactForm& form) {
    double p = 0;
    switch (form.which) {
        case 0:
            p = miller_sum(y.alpha, y.beta, x.alpha, x.beta);
            break;
        case 1:
            p = 1.0 - miller_sum(x.alpha, x.beta, y.alpha, y.beta);
            break;
        case 2:
            p = miller_sum(x.beta, x.alpha, y.beta, y.alpha);
            break;
        case 3:
            p = 1.0 - miller_sum(y.beta, y.alpha, x.beta, x.alpha);
            break;
        default:
            invalid_field("method",
                          "exact_sum needs an integer alpha or beta in one of the posteriors");
    }
    return std::clamp(p, 0.0, 1.0);
}

// ----- quadrature --------------------------------------------------------------------------------
//
// Integrals ∫ f_i(t) ∏_j F_j(t) dt are split at breakpoints (the density's mean and mean ± 3 sd,
// the steps of much narrower arms, t = 1/2). A piece that ends where a Beta density is unbounded
// (a parameter below 1) is integrated with tanh-sinh quadrature, which is built for endpoint
// singularities; every other piece with a pair of Gauss-Legendre rules (15 and 25 points),
// bisected until they agree to an absolute tolerance. Boost 1.74's adaptive Gauss-Kronrod is not
// used: it compares an unscaled error estimate with a scaled tolerance and over-refines narrow
// intervals (10^5 evaluations for one piece).

// One integrator per thread: construction precomputes the abscissas, and in Boost 1.74 integrate()
// is not callable on a const object.
bm::quadrature::tanh_sinh<double>& tanh_sinh_integrator() {
    thread_local bm::quadrature::tanh_sinh<double> integrator;
    return integrator;
}

template <class F>
double singular_piece(const F& f, double a, double b) {
    if (!(b > a)) return 0.0;
    return tanh_sinh_integrator().integrate(f, a, b, kQuadTolerance);
}

template <class F>
double gauss_piece(const F& f, double a, double b, double abs_tol, int depth) {
    if (!(b > a)) return 0.0;
    check_interrupt();  // 40 evaluations per call, up to 2^12 calls per piece
    const double coarse = bm::quadrature::gauss<double, 15>::integrate(f, a, b);
    const double fine = bm::quadrature::gauss<double, 25>::integrate(f, a, b);
    // The relative term stops the bisection at the evaluation noise of the Beta density, ~1e-10
    // relative when its parameters are near 1e7.
    const double tol = std::max(abs_tol, kPieceRelTolerance * std::abs(fine));
    if (std::abs(fine - coarse) <= tol || depth == 0) return fine;
    const double mid = a + (b - a) / 2;
    return gauss_piece(f, a, mid, abs_tol / 2, depth - 1) +
           gauss_piece(f, mid, b, abs_tol / 2, depth - 1);
}

template <class F>
double smooth_piece(const F& f, double a, double b) {
    return gauss_piece(f, a, b, kPieceTolerance, kMaxBisections);
}

std::vector<double> sorted_inside(std::vector<double> points, double lo, double hi) {
    points.erase(
        std::remove_if(points.begin(), points.end(), [&](double p) { return !(p > lo && p < hi); }),
        points.end());
    points.push_back(lo);
    points.push_back(hi);
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());
    return points;
}

// A Beta arm with what the integrals need. Right of t = 1/2 the integrals run in the reflected
// variable s = 1 - t, where doubles resolve the neighbourhood of t = 1 as finely as that of t = 0:
// the density of Beta(a, b) at 1 - s is the density of Beta(b, a) at s, and F(1 - s) = S_r(s).
struct BetaArm {
    BetaDist d;  // Beta(alpha, beta)
    BetaDist r;  // Beta(beta, alpha), the law of 1 - X
    double mean, sd;
    double t_lo;  // left end of the bulk: quantile kTail, or 0 when alpha < 1
    double s_lo;  // right end of the bulk in s = 1 - t: quantile kTail of r, or 0 when beta < 1
    double t_hi() const { return 1.0 - s_lo; }
};

BetaArm make_arm(const BetaPosterior& p) {
    BetaArm arm{BetaDist(p.alpha, p.beta),
                BetaDist(p.beta, p.alpha),
                p.mean(),
                std::sqrt(p.variance()),
                0.0,
                0.0};
    arm.t_lo = p.alpha < 1 ? 0.0 : bm::quantile(arm.d, kTail);
    arm.s_lo = p.beta < 1 ? 0.0 : bm::quantile(arm.r, kTail);
    return arm;
}

// f_self(t) ∏_j F_j(t), or the same at t = 1 - x when reflected. A named type rather than a lambda:
// Boost 1.74's tanh_sinh overload resolution trips over lambdas of function templates with GCC 12.
struct BetaBestIntegrand {
    const BetaArm* self;
    const std::vector<const BetaArm*>* others;
    bool reflected;
    double operator()(double x) const {
        double v = reflected ? bm::pdf(self->r, x) : bm::pdf(self->d, x);
        for (const BetaArm* o : *others) {
            if (v == 0) break;
            v *= reflected ? bm::cdf(bm::complement(o->r, x)) : bm::cdf(o->d, x);
        }
        return v;
    }
};

// P(self > every other) = ∫ f_self(t) ∏_j F_j(t) dt over self's bulk (the neglected tails hold
// at most 2·kTail of probability).
double integrate_best(const BetaArm& self, const std::vector<const BetaArm*>& others) {
    const double lo = self.t_lo, hi = self.t_hi();
    std::vector<const BetaArm*> active;
    std::vector<double> points{0.5, self.mean, self.mean - 3 * self.sd, self.mean + 3 * self.sd};
    for (const BetaArm* o : others) {
        if (o->t_lo >= hi) return 0.0;  // the other arm lies above self's whole bulk
        if (o->t_hi() <= lo) continue;  // F_o = 1 on self's whole bulk
        active.push_back(o);
        if (o->sd < 0.25 * self.sd)  // a step much narrower than self's density: resolve it
            for (double k : {-4.0, 0.0, 4.0}) points.push_back(o->mean + k * o->sd);
    }
    points = sorted_inside(std::move(points), lo, hi);
    const BetaBestIntegrand direct{&self, &active, false}, reflected{&self, &active, true};
    double total = 0;
    for (std::size_t i = 0; i + 1 < points.size(); ++i) {
        const double a = points[i], b = points[i + 1];
        const bool first = i == 0, last = i + 2 == points.size();
        if (b <= 0.5) {
            total += first && a == 0.0 ? singular_piece(direct, a, b) : smooth_piece(direct, a, b);
        } else {
            const double s_from = last ? self.s_lo : 1.0 - b;
            total += last && s_from == 0.0 ? singular_piece(reflected, s_from, 1.0 - a)
                                           : smooth_piece(reflected, s_from, 1.0 - a);
        }
    }
    return total;
}

double quadrature_prob_greater(const BetaPosterior& x, const BetaPosterior& y) {
    // P(X > Y) = ∫ f_X(t) F_Y(t) dt = 1 - ∫ f_Y(t) F_X(t) dt. Integrating against the narrower
    // density keeps the integrand's peak inside a well-resolved range.
    const BetaArm ax = make_arm(x), ay = make_arm(y);
    if (ax.sd <= ay.sd) return std::clamp(integrate_best(ax, {&ay}), 0.0, 1.0);
    return std::clamp(1.0 - integrate_best(ay, {&ax}), 0.0, 1.0);
}

// Normal arms with sd > 0.
struct NormalBestIntegrand {
    const NormalDist* self;
    const std::vector<const NormalDist*>* others;
    double operator()(double t) const {
        double v = bm::pdf(*self, t);
        for (const NormalDist* o : *others) {
            if (v == 0) break;
            v *= bm::cdf(*o, t);
        }
        return v;
    }
};

// ∫_{max(floor, bulk)} f_self(t) ∏_j F_j(t) dt; `floor` is where point masses start to lose.
double integrate_best(const NormalDist& self, const std::vector<NormalDist>& others, double floor) {
    const double z = -bm::quantile(NormalDist(0.0, 1.0), kTail);
    const double m = self.mean(), sd = self.standard_deviation();
    const double lo = std::max(m - z * sd, floor), hi = m + z * sd;
    if (!(hi > lo)) return 0.0;
    std::vector<const NormalDist*> active;
    std::vector<double> points{m, m - 3 * sd, m + 3 * sd};
    for (const NormalDist& o : others) {
        const double om = o.mean(), osd = o.standard_deviation();
        if (om - z * osd >= hi) return 0.0;
        if (om + z * osd <= lo) continue;
        active.push_back(&o);
        if (osd < 0.25 * sd)
            for (double k : {-4.0, 0.0, 4.0}) points.push_back(om + k * osd);
    }
    points = sorted_inside(std::move(points), lo, hi);
    const NormalBestIntegrand f{&self, &active};
    double total = 0;
    for (std::size_t i = 0; i + 1 < points.size(); ++i)
        total += smooth_piece(f, points[i], points[i + 1]);
    return total;
}

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
}
double normal_pdf(double z) {
    return std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
}

template <class P>
std::vector<P> oriented(std::span<const P> arms, Better better) {
    std::vector<P> out;
    out.reserve(arms.size());
    for (const P& a : arms) out.push_back(orient(a, better));
    return out;
}

std::vector<double> normalised(std::vector<double> p) {
    double sum = 0;
    for (double v : p) sum += v;
    if (sum > 0)
        for (double& v : p) v = std::clamp(v / sum, 0.0, 1.0);
    return p;
}

}  // namespace

// ----- posteriors --------------------------------------------------------------------------------

BetaPosterior beta_posterior(const Summary& rate, const BetaPrior& prior) {
    check_rate(rate, "summary");
    if (!(std::isfinite(prior.alpha) && prior.alpha > 0))
        invalid_field("prior.alpha", "must be finite and > 0");
    if (!(std::isfinite(prior.beta) && prior.beta > 0))
        invalid_field("prior.beta", "must be finite and > 0");
    return {rate.sum + prior.alpha, rate.n - rate.sum + prior.beta};
}

NormalPosterior normal_posterior(const Summary& values) {
    if (!(std::isfinite(values.n) && values.n >= 2))
        invalid_field("summary.n", "a normal posterior needs at least 2 subjects");
    if (!std::isfinite(values.sum)) invalid_field("summary.sum", "must be finite");
    if (!(std::isfinite(values.sum_sq) && values.sum_sq >= 0))
        invalid_field("summary.sum_sq", "must be finite and >= 0");
    return {values.mean(), std::sqrt(values.variance() / values.n)};
}

CredibleInterval credible_interval(const BetaPosterior& posterior, double level) {
    check_beta(posterior, "posterior");
    check_level(level);
    const BetaDist d(posterior.alpha, posterior.beta);
    const double tail = (1 - level) / 2;
    return {bm::quantile(d, tail), bm::quantile(bm::complement(d, tail))};
}

CredibleInterval credible_interval(const NormalPosterior& posterior, double level) {
    check_normal(posterior, "posterior");
    check_level(level);
    if (posterior.sd == 0) return {posterior.mean, posterior.mean};
    const NormalDist d(posterior.mean, posterior.sd);
    const double tail = (1 - level) / 2;
    return {bm::quantile(d, tail), bm::quantile(bm::complement(d, tail))};
}

// ----- two Beta posteriors -----------------------------------------------------------------------

BetaMethod auto_method(const BetaPosterior& x, const BetaPosterior& y) {
    check_beta(x, "x");
    check_beta(y, "y");
    return best_exact_form(x, y).terms <= kExactSumMaxTerms ? BetaMethod::ExactSum
                                                            : BetaMethod::Quadrature;
}

double prob_greater(const BetaPosterior& x, const BetaPosterior& y, BetaMethod method) {
    check_beta(x, "x");
    check_beta(y, "y");
    const ExactForm form = best_exact_form(x, y);
    if (method == BetaMethod::Auto)
        method = form.terms <= kExactSumMaxTerms ? BetaMethod::ExactSum : BetaMethod::Quadrature;
    if (method == BetaMethod::ExactSum) {
        if (form.which >= 0 && form.terms > kExactSumHardLimit)
            invalid_field("method", "exact_sum would need more than 1e8 terms; use quadrature");
        return exact_prob_greater(x, y, form);
    }
    return quadrature_prob_greater(x, y);
}

double expected_excess(const BetaPosterior& x, const BetaPosterior& y, BetaMethod method) {
    check_beta(x, "x");
    check_beta(y, "y");
    const BetaPosterior x_up{x.alpha + 1, x.beta}, y_up{y.alpha + 1, y.beta};
    const double v =
        x.mean() * prob_greater(x_up, y, method) - y.mean() * prob_greater(x, y_up, method);
    return std::max(v, 0.0);
}

// ----- two normal posteriors ---------------------------------------------------------------------

double prob_greater(const NormalPosterior& x, const NormalPosterior& y) {
    check_normal(x, "x");
    check_normal(y, "y");
    const double mu = x.mean - y.mean;
    const double sigma = std::hypot(x.sd, y.sd);
    if (sigma == 0) return mu > 0 ? 1.0 : (mu < 0 ? 0.0 : 0.5);
    return normal_cdf(mu / sigma);
}

double expected_excess(const NormalPosterior& x, const NormalPosterior& y) {
    check_normal(x, "x");
    check_normal(y, "y");
    const double mu = x.mean - y.mean;
    const double sigma = std::hypot(x.sd, y.sd);
    if (sigma == 0) return std::max(mu, 0.0);
    const double z = mu / sigma;
    return std::max(mu * normal_cdf(z) + sigma * normal_pdf(z), 0.0);
}

// ----- comparisons -------------------------------------------------------------------------------

namespace {
template <class P>
BayesComparison compare_oriented(const P& control, const P& treatment, double control_mean,
                                 double treatment_mean, Better better) {
    const P c = orient(control, better), t = orient(treatment, better);
    BayesComparison r;
    r.control_mean = control_mean;
    r.treatment_mean = treatment_mean;
    r.chance_to_beat_control = prob_greater(t, c);
    r.expected_loss_treatment = expected_excess(c, t);
    r.expected_loss_control = expected_excess(t, c);
    return r;
}
}  // namespace

BayesComparison compare(const BetaPosterior& control, const BetaPosterior& treatment,
                        Better better) {
    check_beta(control, "control");
    check_beta(treatment, "treatment");
    return compare_oriented(control, treatment, control.mean(), treatment.mean(), better);
}

BayesComparison compare(const NormalPosterior& control, const NormalPosterior& treatment,
                        Better better) {
    check_normal(control, "control");
    check_normal(treatment, "treatment");
    return compare_oriented(control, treatment, control.mean, treatment.mean, better);
}

BayesComparison compare_rates(const Summary& control, const Summary& treatment, Better better,
                              const BetaPrior& prior) {
    check_rate(control, "control");
    check_rate(treatment, "treatment");
    return compare(beta_posterior(control, prior), beta_posterior(treatment, prior), better);
}

BayesComparison compare_means(const Summary& control, const Summary& treatment, Better better) {
    return compare(normal_posterior(control), normal_posterior(treatment), better);
}

// ----- k arms ------------------------------------------------------------------------------------

std::vector<double> prob_best(std::span<const BetaPosterior> arms, Better better) {
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    for (std::size_t i = 0; i < arms.size(); ++i) check_beta(arms[i], arm_name(i));
    const std::vector<BetaPosterior> o = oriented(arms, better);
    std::vector<BetaArm> prepared;
    prepared.reserve(o.size());
    for (const auto& a : o) prepared.push_back(make_arm(a));
    std::vector<double> p(arms.size());
    std::vector<const BetaArm*> others;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        check_interrupt();  // one integral per arm
        others.clear();
        for (std::size_t j = 0; j < arms.size(); ++j)
            if (j != i) others.push_back(&prepared[j]);
        p[i] = integrate_best(prepared[i], others);
    }
    return normalised(std::move(p));
}

std::vector<double> prob_best(std::span<const NormalPosterior> arms, Better better) {
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    for (std::size_t i = 0; i < arms.size(); ++i) check_normal(arms[i], arm_name(i));
    const std::vector<NormalPosterior> o = oriented(arms, better);

    // Point masses (sd == 0): the best of them sits at `top`; a continuous arm can only be best
    // above it, a point mass only if it is at `top`, sharing with the other point masses there.
    double top = -std::numeric_limits<double>::infinity();
    std::size_t at_top = 0;
    for (const auto& a : o)
        if (a.sd == 0) top = std::max(top, a.mean);
    for (const auto& a : o)
        if (a.sd == 0 && a.mean == top) ++at_top;

    std::vector<double> p(o.size(), 0.0);
    std::vector<NormalDist> continuous_others;
    for (std::size_t i = 0; i < o.size(); ++i) {
        check_interrupt();  // one integral per arm
        continuous_others.clear();
        for (std::size_t j = 0; j < o.size(); ++j)
            if (j != i && o[j].sd > 0) continuous_others.emplace_back(o[j].mean, o[j].sd);
        if (o[i].sd > 0) {
            p[i] = integrate_best(NormalDist(o[i].mean, o[i].sd), continuous_others, top);
        } else if (o[i].mean == top) {
            double v = 1.0 / static_cast<double>(at_top);
            for (const auto& d : continuous_others) v *= bm::cdf(d, top);
            p[i] = v;
        }
    }
    return normalised(std::move(p));
}

std::vector<double> prob_best_rates(std::span<const Summary> arms, Better better,
                                    const BetaPrior& prior) {
    std::vector<BetaPosterior> posts;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        check_rate(arms[i], arm_name(i));
        posts.push_back(beta_posterior(arms[i], prior));
    }
    return prob_best(std::span<const BetaPosterior>(posts), better);
}

std::vector<double> prob_best_means(std::span<const Summary> arms, Better better) {
    std::vector<NormalPosterior> posts;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        if (!(arms[i].n >= 2))
            invalid_field(arm_name(i) + ".n", "a normal posterior needs at least 2 subjects");
        posts.push_back(normal_posterior(arms[i]));
    }
    return prob_best(std::span<const NormalPosterior>(posts), better);
}

}  // namespace abx::stats
