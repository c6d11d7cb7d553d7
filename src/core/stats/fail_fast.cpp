// Fail-fast: the probability that each arm is worse than the best one (see
// include/abx/stats/bayesian.hpp and docs/statistics-bayesian.md).
#include "abx/stats/bayesian.hpp"

#include "posterior_helpers.hpp"

#include <limits>
#include <optional>
#include <vector>

namespace abx::stats {

using detail::arm_name;
using detail::check_rate;
using detail::orient;

namespace {

void check_fail_fast(const FailFastConfig& c) {
    if (!(c.threshold > 0 && c.threshold < 1)) invalid_field("threshold", "must be in (0, 1)");
    if (!(std::isfinite(c.min_samples) && c.min_samples >= 0))
        invalid_field("min_samples", "must be finite and >= 0");
}

// `defined[i]`: arm i has a posterior; `eligible[i]`: it also has enough samples.
template <class P>
FailFastResult fail_fast_impl(const std::vector<std::optional<P>>& posts,
                              const std::vector<bool>& eligible, Better better,
                              const FailFastConfig& config) {
    FailFastResult r;
    r.arms.resize(posts.size());
    std::vector<P> pool;
    std::vector<std::size_t> pool_index;
    for (std::size_t i = 0; i < posts.size(); ++i) {
        r.arms[i].eligible = eligible[i];
        if (eligible[i]) {
            pool.push_back(*posts[i]);
            pool_index.push_back(i);
        }
    }
    if (pool.empty()) {
        for (std::size_t i = 0; i < posts.size(); ++i)
            r.arms[i].prob_worse_than_best = std::numeric_limits<double>::quiet_NaN();
        return r;
    }
    const std::vector<double> pb = prob_best(std::span<const P>(pool), better);
    std::size_t best_k = 0;
    for (std::size_t k = 1; k < pb.size(); ++k)
        if (pb[k] > pb[best_k]) best_k = k;
    const std::size_t best = pool_index[best_k];
    r.best = best;
    const P best_post = orient(*posts[best], better);
    for (std::size_t i = 0; i < posts.size(); ++i) {
        FailFastArm& arm = r.arms[i];
        if (i == best) {
            arm.prob_worse_than_best = 0.0;
        } else if (!posts[i]) {
            arm.prob_worse_than_best = std::numeric_limits<double>::quiet_NaN();
        } else {
            arm.prob_worse_than_best = prob_greater(best_post, orient(*posts[i], better));
            arm.flagged = eligible[i] && arm.prob_worse_than_best > config.threshold;
        }
    }
    return r;
}

}  // namespace

FailFastResult fail_fast_rates(std::span<const Summary> arms, Better better,
                               const FailFastConfig& config, const BetaPrior& prior) {
    check_fail_fast(config);
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    std::vector<std::optional<BetaPosterior>> posts;
    std::vector<bool> eligible;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        check_rate(arms[i], arm_name(i));
        posts.emplace_back(beta_posterior(arms[i], prior));
        eligible.push_back(arms[i].n >= config.min_samples);
    }
    return fail_fast_impl(posts, eligible, better, config);
}

FailFastResult fail_fast_means(std::span<const Summary> arms, Better better,
                               const FailFastConfig& config) {
    check_fail_fast(config);
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    std::vector<std::optional<NormalPosterior>> posts;
    std::vector<bool> eligible;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        if (!(std::isfinite(arms[i].n) && arms[i].n >= 0))
            invalid_field(arm_name(i) + ".n", "must be finite and >= 0");
        if (arms[i].n >= 2) {
            posts.emplace_back(normal_posterior(arms[i]));
        } else {
            posts.emplace_back(std::nullopt);
        }
        eligible.push_back(arms[i].n >= 2 && arms[i].n >= config.min_samples);
    }
    return fail_fast_impl(posts, eligible, better, config);
}

}  // namespace abx::stats
