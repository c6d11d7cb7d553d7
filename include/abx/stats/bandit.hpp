// Thompson-sampling bandit over Beta posteriors (conversion rates): single picks, Monte-Carlo
// allocation shares with warm-up and a floor per arm, and deterministic per-subject choices.
// See docs/statistics-bayesian.md.
//
// Reproducibility: the generator is std::mt19937_64, whose output sequence the C++ standard fixes.
// Beta draws use std::gamma_distribution, whose algorithm is implementation-defined: libstdc++ (the
// only standard library abx ships with) uses Marsaglia-Tsang. A fixed seed therefore gives
// identical picks and shares run after run on our toolchain, but not necessarily with another
// standard library.
#pragma once
#include "abx/core_only.hpp"
#include "abx/stats/bayesian.hpp"
#include "abx/stats/summary.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace abx::stats {

using BanditRng = std::mt19937_64;

// One draw from Beta(alpha, beta) as X / (X + Y), X ~ Gamma(alpha, 1), Y ~ Gamma(beta, 1), X drawn
// first. When both gamma draws underflow to 0 (parameters far below 1) the draw is the mean.
double sample_beta(const BetaPosterior& posterior, BanditRng& rng);

// Thompson sampling: one draw per arm, in arm order; returns the arm with the highest draw (lowest
// for Better::Lower), the first one on ties. At least one arm.
std::size_t thompson_pick(std::span<const BetaPosterior> arms, BanditRng& rng,
                          Better better = Better::Higher);
// The same with a generator seeded with `subject_seed` (e.g. a 64-bit hash of salt and subject):
// the pick is a pure function of the arms and the seed, so a subject's choice can be replayed.
std::size_t thompson_pick(std::span<const BetaPosterior> arms, std::uint64_t subject_seed,
                          Better better = Better::Higher);

// Deterministic choice from allocation shares: u = (subject_hash >> 11) · 2^-53 in [0, 1), and the
// arm is the first i with u < (s_0 + … + s_i) / Σs. Arms with share 0 are never chosen. Shares must
// be finite, >= 0, with a positive total.
std::size_t pick_by_shares(std::span<const double> shares, std::uint64_t subject_hash);

struct BanditArm {
    BetaPosterior posterior;
    double n = 0;  // subjects observed in this arm (compared with min_samples)
};

struct AllocationConfig {
    std::size_t draws = 10000;  // Monte-Carlo draws, 1 .. 10^7
    double min_share = 0.0;     // floor of every arm with a positive base weight, <= 1 / that count
    double min_samples = 0.0;   // arms with n < min_samples are in warm-up (see below)
    std::vector<double> base_weights;  // empty: equal; else one per arm, finite, >= 0, total > 0
    std::uint64_t seed = 0;            // seed of the Monte-Carlo generator
};

// Allocation shares, one per arm, summing to 1:
//  1. base share b_i = w_i / Σw (equal when base_weights is empty); an arm with weight 0 is off and
//     gets share 0 whatever else happens;
//  2. warm-up: an arm with n < min_samples keeps its base share b_i. The other ("mature") arms
//  split
//     their combined base share in proportion to their Monte-Carlo probability of being best
//     among the mature arms: the fraction of `draws` rounds in which their Beta draw is the highest
//     (lowest for Better::Lower). With fewer than two mature arms every arm keeps its base share;
//  3. floor: apply_min_share(shares, min_share) over the arms that are on.
std::vector<double> thompson_shares(std::span<const BanditArm> arms,
                                    const AllocationConfig& config = {},
                                    Better better = Better::Higher);
// The same from per-arm rate summaries (sum = conversions) and a prior.
std::vector<double> thompson_shares_rates(std::span<const Summary> arms,
                                          const AllocationConfig& config = {},
                                          Better better = Better::Higher,
                                          const BetaPrior& prior = {});

// Raises every share below `min_share` to exactly min_share and rescales the others proportionally
// so that the total is 1, repeating until no rescaled share falls below the floor (so the floor
// holds exactly and the order of the unfloored shares is kept). Shares are first normalised by
// their total. Requires 0 <= min_share <= 1 / shares.size(); shares finite, >= 0, total > 0.
std::vector<double> apply_min_share(std::span<const double> shares, double min_share);

}  // namespace abx::stats
