// Thompson-sampling bandit: see include/abx/stats/bandit.hpp and docs/statistics-bayesian.md.
#include "abx/stats/bandit.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"

#include <cmath>
#include <string>

namespace abx::stats {

namespace {

constexpr std::size_t kMaxDraws = 10'000'000;

void check_arm(const BetaPosterior& p, const std::string& name) {
    if (!(std::isfinite(p.alpha) && p.alpha > 0))
        invalid_field(name + ".alpha", "must be finite and > 0");
    if (!(std::isfinite(p.beta) && p.beta > 0))
        invalid_field(name + ".beta", "must be finite and > 0");
}

std::string arm_name(std::size_t i) {
    return "arms[" + std::to_string(i) + "]";
}

void check_arms(std::span<const BetaPosterior> arms) {
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    for (std::size_t i = 0; i < arms.size(); ++i) check_arm(arms[i], arm_name(i));
}

// Index of the best draw; the first one on ties.
std::size_t pick_unchecked(std::span<const BetaPosterior> arms, BanditRng& rng, Better better) {
    std::size_t best = 0;
    double best_draw = 0;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        const double draw = sample_beta(arms[i], rng);
        const bool wins =
            i == 0 || (better == Better::Higher ? draw > best_draw : draw < best_draw);
        if (wins) {
            best = i;
            best_draw = draw;
        }
    }
    return best;
}

void check_shares(std::span<const double> shares, const char* field) {
    if (shares.empty()) invalid_field(field, "at least one share is required");
    double total = 0;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        if (!(std::isfinite(shares[i]) && shares[i] >= 0))
            invalid_field(std::string(field) + "[" + std::to_string(i) + "]",
                          "must be finite and >= 0");
        total += shares[i];
    }
    if (!(total > 0 && std::isfinite(total))) invalid_field(field, "total must be > 0");
}

}  // namespace

double sample_beta(const BetaPosterior& posterior, BanditRng& rng) {
    check_arm(posterior, "posterior");
    std::gamma_distribution<double> gx(posterior.alpha, 1.0);
    const double x = gx(rng);
    std::gamma_distribution<double> gy(posterior.beta, 1.0);
    const double y = gy(rng);
    if (!(x + y > 0)) return posterior.mean();
    return x / (x + y);
}

std::size_t thompson_pick(std::span<const BetaPosterior> arms, BanditRng& rng, Better better) {
    check_arms(arms);
    return pick_unchecked(arms, rng, better);
}

std::size_t thompson_pick(std::span<const BetaPosterior> arms, std::uint64_t subject_seed,
                          Better better) {
    check_arms(arms);
    BanditRng rng(subject_seed);
    return pick_unchecked(arms, rng, better);
}

std::size_t pick_by_shares(std::span<const double> shares, std::uint64_t subject_hash) {
    check_shares(shares, "shares");
    double total = 0;
    for (double s : shares) total += s;
    const double u = static_cast<double>(subject_hash >> 11) * 0x1.0p-53;
    double cumulative = 0;
    std::size_t last_positive = 0;
    InterruptPoll poll;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        poll.tick();
        if (shares[i] <= 0) continue;
        last_positive = i;
        cumulative += shares[i];
        if (u < cumulative / total) return i;
    }
    return last_positive;  // u within rounding of 1
}

std::vector<double> apply_min_share(std::span<const double> shares, double min_share) {
    check_shares(shares, "shares");
    const auto k = static_cast<double>(shares.size());
    if (!(std::isfinite(min_share) && min_share >= 0 && min_share * k <= 1.0 + 1e-12))
        invalid_field("min_share", "must be between 0 and 1 / number of arms");
    double total = 0;
    for (double s : shares) total += s;
    std::vector<double> in(shares.begin(), shares.end());
    for (double& s : in) s /= total;

    std::vector<bool> floored(in.size(), false);
    std::vector<double> out(in.size());
    std::size_t n_floored = 0;
    InterruptPoll poll;
    for (;;) {
        poll.tick();                   // at most one round per arm, each over every arm
        if (n_floored == in.size()) {  // only when min_share * k == 1
            for (double& s : out) s = 1.0 / k;
            return out;
        }
        const double free_mass = 1.0 - min_share * static_cast<double>(n_floored);
        double free_total = 0;
        for (std::size_t i = 0; i < in.size(); ++i)
            if (!floored[i]) free_total += in[i];
        const auto n_free = static_cast<double>(in.size() - n_floored);
        bool changed = false;
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (floored[i]) {
                out[i] = min_share;
                continue;
            }
            out[i] = free_total > 0 ? in[i] * free_mass / free_total : free_mass / n_free;
            if (out[i] < min_share) {
                floored[i] = true;
                ++n_floored;
                changed = true;
            }
        }
        if (!changed) return out;
    }
}

std::vector<double> thompson_shares(std::span<const BanditArm> arms, const AllocationConfig& config,
                                    Better better) {
    if (arms.empty()) invalid_field("arms", "at least one arm is required");
    for (std::size_t i = 0; i < arms.size(); ++i) {
        check_arm(arms[i].posterior, arm_name(i));
        if (!(std::isfinite(arms[i].n) && arms[i].n >= 0))
            invalid_field(arm_name(i) + ".n", "must be finite and >= 0");
    }
    if (config.draws < 1 || config.draws > kMaxDraws)
        invalid_field("draws", "must be between 1 and 10000000");
    if (!(std::isfinite(config.min_samples) && config.min_samples >= 0))
        invalid_field("min_samples", "must be finite and >= 0");

    // 1. base shares
    std::vector<double> base(arms.size(), 1.0);
    if (!config.base_weights.empty()) {
        if (config.base_weights.size() != arms.size())
            invalid_field("base_weights", "must have one weight per arm");
        check_shares(config.base_weights, "base_weights");
        base = config.base_weights;
    }
    double base_total = 0;
    for (double w : base) base_total += w;
    for (double& w : base) w /= base_total;

    // 2. warm-up and Thompson reweighting of the mature arms
    std::vector<double> shares = base;
    std::vector<std::size_t> mature;
    double mature_mass = 0;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        if (base[i] > 0 && arms[i].n >= config.min_samples) {
            mature.push_back(i);
            mature_mass += base[i];
        }
    }
    if (mature.size() >= 2) {
        std::vector<BetaPosterior> posts;
        for (std::size_t i : mature) posts.push_back(arms[i].posterior);
        std::vector<std::size_t> wins(mature.size(), 0);
        BanditRng rng(config.seed);
        InterruptPoll poll;
        for (std::size_t d = 0; d < config.draws; ++d) {
            poll.tick();
            ++wins[pick_unchecked(posts, rng, better)];
        }
        for (std::size_t m = 0; m < mature.size(); ++m)
            shares[mature[m]] =
                mature_mass * static_cast<double>(wins[m]) / static_cast<double>(config.draws);
    }

    // 3. floor over the arms that are on
    std::vector<std::size_t> on;
    std::vector<double> on_shares;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        if (base[i] > 0) {
            on.push_back(i);
            on_shares.push_back(shares[i]);
        }
    }
    if (!(std::isfinite(config.min_share) && config.min_share >= 0 &&
          config.min_share * static_cast<double>(on.size()) <= 1.0 + 1e-12))
        invalid_field("min_share",
                      "must be between 0 and 1 / number of arms with a positive weight");
    const std::vector<double> floored = apply_min_share(on_shares, config.min_share);
    std::vector<double> out(arms.size(), 0.0);
    for (std::size_t m = 0; m < on.size(); ++m) out[on[m]] = floored[m];
    return out;
}

std::vector<double> thompson_shares_rates(std::span<const Summary> arms,
                                          const AllocationConfig& config, Better better,
                                          const BetaPrior& prior) {
    std::vector<BanditArm> bandit_arms;
    for (std::size_t i = 0; i < arms.size(); ++i) {
        const Summary& s = arms[i];
        if (!(std::isfinite(s.n) && s.n >= 0))
            invalid_field(arm_name(i) + ".n", "must be finite and >= 0");
        if (!(std::isfinite(s.sum) && s.sum >= 0 && s.sum <= s.n))
            invalid_field(arm_name(i) + ".sum", "conversions must be between 0 and n");
        bandit_arms.push_back({beta_posterior(s, prior), s.n});
    }
    return thompson_shares(bandit_arms, config, better);
}

}  // namespace abx::stats
