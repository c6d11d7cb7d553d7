// Deterministic bucketing; the algorithm is documented for clients in docs/assignment.md.
//
// Performance notes (this runs for every assignment):
//  - OpenSSL 3's one-shot SHA256() fetches the digest implementation from the provider store on
//  every
//    call (EVP_Q_digest), which costs more than the hash itself for short keys. We fetch SHA-256
//    once per process and reuse one digest context per thread, so a call allocates nothing.
//  - The key salt ":" purpose ":" subject is assembled in a stack buffer when it fits; longer keys
//  are
//    fed to the digest piecewise, which yields the same digest without any heap allocation.
#include "abx/hashing.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <cstring>
#include <string>

namespace abx {

namespace {

constexpr std::size_t kStackKeyBytes = 256;
constexpr std::size_t kSha256Bytes = 32;

[[noreturn]] void digest_failure(const char* step) {
    throw Error(sqlstate::kInternalError,
                std::string("SHA-256 digest failed in OpenSSL (") + step + ")");
}

// SHA-256 fetched once per process. Never freed: it lives as long as the process, like OpenSSL's
// own provider store.
const EVP_MD* sha256_md() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) digest_failure("EVP_MD_fetch");
    return md;
}

// One reusable digest context per thread, freed when the thread exits.
class ThreadDigest {
  public:
    ThreadDigest() = default;
    ThreadDigest(const ThreadDigest&) = delete;
    ThreadDigest& operator=(const ThreadDigest&) = delete;
    ~ThreadDigest() { EVP_MD_CTX_free(ctx_); }

    EVP_MD_CTX* get() {
        if (ctx_ == nullptr) {
            ctx_ = EVP_MD_CTX_new();
            if (ctx_ == nullptr) throw std::bad_alloc();
        }
        return ctx_;
    }

  private:
    EVP_MD_CTX* ctx_ = nullptr;
};

thread_local ThreadDigest thread_digest;

// First 8 bytes of SHA-256(salt ":" purpose ":" subject) as a big-endian unsigned integer.
std::uint64_t hash_prefix(std::string_view salt, std::string_view purpose,
                          std::string_view subject) {
    const EVP_MD* md = sha256_md();
    EVP_MD_CTX* ctx = thread_digest.get();
    if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1) digest_failure("EVP_DigestInit_ex2");

    const std::size_t key_len = salt.size() + purpose.size() + subject.size() + 2;
    if (key_len <= kStackKeyBytes) {
        char key[kStackKeyBytes];
        char* p = key;
        std::memcpy(p, salt.data(), salt.size());
        p += salt.size();
        *p++ = ':';
        std::memcpy(p, purpose.data(), purpose.size());
        p += purpose.size();
        *p++ = ':';
        std::memcpy(p, subject.data(), subject.size());
        if (EVP_DigestUpdate(ctx, key, key_len) != 1) digest_failure("EVP_DigestUpdate");
    } else {
        const std::string_view parts[] = {salt, ":", purpose, ":", subject};
        for (std::string_view part : parts) {
            if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) {
                digest_failure("EVP_DigestUpdate");
            }
        }
    }

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 || digest_len != kSha256Bytes) {
        digest_failure("EVP_DigestFinal_ex");
    }
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
    return value;
}

void check_bucket(std::uint32_t bucket, const char* field) {
    if (bucket >= kBucketCount) {
        invalid_field(field, std::to_string(bucket) + " is outside [0, " +
                                 std::to_string(kBucketCount) + ")");
    }
}

void check_coverage(double coverage) {
    if (!std::isfinite(coverage) || coverage < 0.0 || coverage > 1.0) {
        invalid_field("coverage", "must be a number in [0, 1]");
    }
}

// Validates the weights and returns their total W (summed left to right, the same order in which
// the cumulative sums are formed, so the last cumulative sum equals W exactly).
double checked_total(std::span<const double> weights) {
    if (weights.empty()) invalid_field("weights", "at least one variant weight is required");
    double total = 0.0;
    InterruptPoll poll;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        poll.tick();
        const double w = weights[i];
        if (!std::isfinite(w) || w < 0.0) {
            invalid_field("weights",
                          "weight #" + std::to_string(i + 1) + " must be a finite number >= 0");
        }
        total += w;
    }
    if (!(total > 0.0) || !std::isfinite(total)) {
        invalid_field("weights", "the total weight must be finite and greater than 0");
    }
    return total;
}

std::size_t variant_for_checked(std::span<const double> weights, double total,
                                std::uint32_t bucket) {
    const std::size_t last = weights.size() - 1;
    double cumulative = 0.0;
    InterruptPoll poll;
    for (std::size_t i = 0; i < last; ++i) {
        poll.tick();
        cumulative += weights[i];
        // Upper boundary of variant i. A zero-weight variant has the same boundary as the one
        // before it, so a bucket below it was already claimed and it never wins.
        const long long boundary = std::llround(cumulative / total * kBucketCount);
        if (bucket < boundary) return i;
    }
    // The last boundary is forced to kBucketCount. If the last variant has zero weight, the
    // previous boundary already rounds to kBucketCount (its cumulative sum equals the total), so no
    // bucket gets here; walk back to the last variant that owns buckets anyway, for robustness.
    std::size_t i = last;
    while (i > 0 && weights[i] == 0.0) --i;
    return i;
}

}  // namespace

std::string_view purpose_name(HashPurpose purpose) {
    switch (purpose) {
        case HashPurpose::Coverage:
            return "coverage";
        case HashPurpose::Variant:
            return "variant";
    }
    throw Error(sqlstate::kInternalError, "unknown hash purpose");
}

std::uint32_t bucket_of(std::string_view salt, HashPurpose purpose, std::string_view subject) {
    return static_cast<std::uint32_t>(hash_prefix(salt, purpose_name(purpose), subject) %
                                      kBucketCount);
}

bool in_coverage(double coverage, std::uint32_t coverage_bucket) {
    check_coverage(coverage);
    check_bucket(coverage_bucket, "coverage_bucket");
    return coverage_bucket < std::llround(coverage * kBucketCount);
}

std::size_t variant_for_bucket(std::span<const double> weights, std::uint32_t variant_bucket) {
    const double total = checked_total(weights);
    check_bucket(variant_bucket, "variant_bucket");
    return variant_for_checked(weights, total, variant_bucket);
}

HashDecision decide(std::string_view salt, std::string_view subject, double coverage,
                    std::span<const double> weights) {
    check_coverage(coverage);
    const double total = checked_total(weights);

    HashDecision d;
    d.coverage_bucket = bucket_of(salt, HashPurpose::Coverage, subject);
    d.covered = d.coverage_bucket < std::llround(coverage * kBucketCount);
    if (d.covered) {
        // The variant hash is only computed for covered subjects; otherwise variant and
        // variant_bucket stay 0.
        d.variant_bucket = bucket_of(salt, HashPurpose::Variant, subject);
        d.variant = variant_for_checked(weights, total, d.variant_bucket);
    }
    return d;
}

}  // namespace abx
