// Helpers shared by the Bayesian computations (bayesian.cpp) and fail-fast (fail_fast.cpp):
// orientation of posteriors and the checks of per-arm inputs. Internal to src/core/stats.
#pragma once
#include "abx/core_only.hpp"
#include "abx/error.hpp"
#include "abx/stats/bayesian.hpp"

#include <cmath>
#include <string>

namespace abx::stats::detail {

// Better::Lower is reduced to Better::Higher by reflecting the posteriors:
// p ~ Beta(a, b)  =>  1 - p ~ Beta(b, a);   m ~ N(mu, sd)  =>  -m ~ N(-mu, sd).
inline BetaPosterior reflect(const BetaPosterior& p) {
    return {p.beta, p.alpha};
}
inline NormalPosterior reflect(const NormalPosterior& p) {
    return {-p.mean, p.sd};
}

template <class P>
P orient(const P& p, Better better) {
    return better == Better::Higher ? p : reflect(p);
}

inline void check_rate(const Summary& s, const std::string& name) {
    if (!(std::isfinite(s.n) && s.n >= 0)) invalid_field(name + ".n", "must be finite and >= 0");
    if (!(std::isfinite(s.sum) && s.sum >= 0 && s.sum <= s.n))
        invalid_field(name + ".sum", "conversions must be between 0 and n");
}

inline std::string arm_name(std::size_t i) {
    return "arms[" + std::to_string(i) + "]";
}

}  // namespace abx::stats::detail
