// Deterministic bucketing. The algorithm is published in docs/assignment.md so that any client can
// reproduce it: bucket = (first 8 bytes of SHA-256(salt ":" purpose ":" subject), big-endian) mod
// 10000.
#pragma once
#include "abx/core_only.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace abx {

inline constexpr std::uint32_t kBucketCount = 10000;

// The two independent decisions an assignment makes; each hashes with its own purpose string so
// that being inside the traffic coverage says nothing about which variant a subject gets.
enum class HashPurpose { Coverage, Variant };
std::string_view purpose_name(HashPurpose purpose);  // "coverage" | "variant"

// Bucket in [0, kBucketCount) of a subject for one purpose of one experiment (identified by its
// salt).
std::uint32_t bucket_of(std::string_view salt, HashPurpose purpose, std::string_view subject);

// True when the coverage bucket falls inside the covered share (coverage in [0, 1]):
// bucket < round(coverage * 10000).
bool in_coverage(double coverage, std::uint32_t coverage_bucket);

// Index of the variant owning `variant_bucket` under cumulative weights: variant i owns the buckets
// [round(W_{i-1} / W * 10000), round(W_i / W * 10000)) where W_i is the sum of the first i+1
// weights and W the total. Zero-weight variants own no bucket. Weights must be finite, >= 0, total
// > 0.
std::size_t variant_for_bucket(std::span<const double> weights, std::uint32_t variant_bucket);

struct HashDecision {
    bool covered = false;     // false: the subject is outside the experiment's traffic coverage
    std::size_t variant = 0;  // index into the weights, meaningful only when covered
    std::uint32_t coverage_bucket = 0;
    std::uint32_t variant_bucket = 0;
};

// The whole deterministic decision for one subject.
HashDecision decide(std::string_view salt, std::string_view subject, double coverage,
                    std::span<const double> weights);

}  // namespace abx
