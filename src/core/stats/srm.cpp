// Sample-ratio mismatch check (Pearson chi-square goodness of fit). See
// include/abx/stats/srm.hpp and docs/statistics.md.
#include "abx/stats/srm.hpp"

#include "frequentist_internal.hpp"

#include "abx/interrupt.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace abx::stats {

SrmResult srm_check(std::span<const std::int64_t> observed, std::span<const double> weights,
                    double threshold) {
    freq_internal::require_open_unit("threshold", threshold);
    if (observed.size() != weights.size()) {
        invalid_field("weights", "must have one entry per arm (" + std::to_string(observed.size()) +
                                     " observed counts, " + std::to_string(weights.size()) +
                                     " weights)");
    }
    if (observed.size() < 2) invalid_field("observed", "must have at least 2 arms");
    double weight_total = 0;
    InterruptPoll poll;
    for (std::size_t i = 0; i < observed.size(); ++i) {
        poll.tick();
        if (observed[i] < 0) invalid_field("observed[" + std::to_string(i) + "]", "must be >= 0");
        freq_internal::require_nonnegative("weights[" + std::to_string(i) + "]", weights[i]);
        weight_total += weights[i];
    }
    if (!(weight_total > 0.0) || !std::isfinite(weight_total)) {
        invalid_field("weights", "at least one weight must be positive (and their sum finite)");
    }

    SrmResult r;
    r.expected.assign(observed.size(), 0.0);
    std::size_t positive_arms = 0;
    double counted = 0;  // assignments in arms with positive weight
    for (std::size_t i = 0; i < observed.size(); ++i) {
        poll.tick();
        r.total += static_cast<double>(observed[i]);
        if (weights[i] > 0.0) {
            ++positive_arms;
            counted += static_cast<double>(observed[i]);
        } else {
            r.unexpected += observed[i];
        }
    }
    if (r.unexpected > 0) {
        r.mismatch = true;
        r.reason = std::to_string(r.unexpected) + " assignment(s) in arms whose weight is 0";
    }
    if (positive_arms < 2) {
        if (r.reason.empty()) r.reason = "fewer than 2 arms with positive weight";
        return r;
    }
    if (counted == 0.0) {
        if (r.reason.empty()) r.reason = "no assignments yet";
        return r;
    }

    // Expected counts over the arms that can receive subjects: counted * w_i / sum(w).
    r.df = static_cast<double>(positive_arms - 1);
    double chi2 = 0;
    for (std::size_t i = 0; i < observed.size(); ++i) {
        poll.tick();
        if (!(weights[i] > 0.0)) continue;
        const double e = counted * (weights[i] / weight_total);
        r.expected[i] = e;
        r.min_expected = std::isnan(r.min_expected) ? e : std::min(r.min_expected, e);
        const double d = static_cast<double>(observed[i]) - e;
        chi2 += d * d / e;
    }
    r.chi_square = chi2;
    r.small_expected = r.min_expected < 5.0;
    r.p_value =
        boost::math::cdf(boost::math::complement(freq_internal::ChiSquared(r.df), r.chi_square));
    r.defined = std::isfinite(r.chi_square) && std::isfinite(r.p_value);
    if (!r.defined) {
        if (r.reason.empty()) r.reason = "chi-square statistic is not finite";
        return r;
    }
    if (r.p_value < threshold) {
        r.mismatch = true;
        if (r.reason.empty()) r.reason = "assignment counts do not match the configured weights";
    }
    return r;
}

}  // namespace abx::stats
