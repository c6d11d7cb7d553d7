// Tests of deterministic bucketing (include/abx/hashing.hpp).
#include "abx/error.hpp"
#include "abx/hashing.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/chi_squared.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace {

using abx::HashPurpose;
using abx::kBucketCount;

// ---------------------------------------------------------------------------------------------
// Test vectors. The expected buckets were NOT produced by the C++ code under test: they were
// computed with Python's hashlib, one vector at a time, with this exact one-liner (SALT PURPOSE
// SUBJECT are the three columns; the long subjects were passed as
// "$(python3 -c 'print("x"*1000, end="")')" and so on):
//
// clang-format off
//   python3 -c 'import hashlib,sys; s,p,u=sys.argv[1:4]; print(int.from_bytes(hashlib.sha256(f"{s}:{p}:{u}".encode("utf-8")).digest()[:8],"big")%10000)' SALT PURPOSE SUBJECT
//
// The first vector was also cross-checked with coreutils:
//   printf '%s' 'exp-salt-1:coverage:user-42' | sha256sum | cut -c1-16 | python3 -c 'print(int(input(),16)%10000)'
// clang-format on
// The same table is published in docs/assignment.md, without the subjects abx.assign refuses
// (empty, or longer than 256 bytes: validate_subject): the hash itself takes any string, and the
// long ones exercise the piecewise digest of keys beyond the stack buffer.
// ---------------------------------------------------------------------------------------------
struct Vector {
    const char* salt;
    HashPurpose purpose;
    std::string subject;
    std::uint32_t expected;
};

// "ü用户" must reach the hash as UTF-8: ü = C3 BC, 用 = E7 94 A8, 户 = E6 88 B7.
static_assert(sizeof("ü用户") == 9,
              "the test source must be compiled with a UTF-8 execution charset");
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kUuid = "3f2b8c1e-8d5a-4c1e-9b7a-0c6e2f4d1a9b";

std::string repeat(const std::string& unit, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += unit;
    return out;
}

std::vector<Vector> vectors() {
    return {
        {"exp-salt-1", HashPurpose::Coverage, "user-42", 1059},
        {"exp-salt-1", HashPurpose::Variant, "user-42", 4839},
        {"exp-salt-1", HashPurpose::Coverage, "", 2869},  // empty subject
        {"exp-salt-1", HashPurpose::Variant, "", 6026},
        {"", HashPurpose::Variant, "user-1", 4861},  // empty salt
        {"exp-salt-1", HashPurpose::Coverage, "ü用户", 9703},
        {"exp-salt-1", HashPurpose::Variant, "ü用户", 6888},
        {"exp-salt-1", HashPurpose::Variant, "\xF0\x9F\x98\x80 user", 1340},  // "😀 user"
        {kUuid, HashPurpose::Coverage, "42", 7456},
        {kUuid, HashPurpose::Variant, "42", 7099},
        {"s", HashPurpose::Variant, "a:b", 7550},  // ':' inside the subject is not escaped
        {"exp-salt-1", HashPurpose::Variant, "user-999999", 7712},
        {"exp-salt-1", HashPurpose::Variant, repeat("x", 1000), 9303},  // long subject
        {"exp-salt-1", HashPurpose::Coverage, repeat("x", 1000), 6041},
        {"exp-salt-1", HashPurpose::Variant, repeat("ü", 300), 6836},  // 600 bytes of UTF-8
        {"exp-salt-1", HashPurpose::Variant, repeat("x", 256), 2554},  // the longest subject
        {"exp-salt-1", HashPurpose::Coverage, repeat("x", 256), 9538},
        {"exp-salt-1", HashPurpose::Variant, repeat("ü", 128), 9729},  // 256 bytes of UTF-8
        // Keys of exactly 256 and 257 bytes ("exp-salt-1:variant:" is 19 bytes).
        {"exp-salt-1", HashPurpose::Variant, repeat("k", 237), 8327},
        {"exp-salt-1", HashPurpose::Variant, repeat("k", 238), 1423},
    };
}

TEST(HashVectors, MatchPythonHashlibReference) {
    const auto all = vectors();
    ASSERT_GE(all.size(), 12u);
    for (const Vector& v : all) {
        SCOPED_TRACE(std::string("salt=") + v.salt +
                     " purpose=" + std::string(abx::purpose_name(v.purpose)) + " subject(" +
                     std::to_string(v.subject.size()) + " bytes)=" + v.subject.substr(0, 20));
        EXPECT_EQ(abx::bucket_of(v.salt, v.purpose, v.subject), v.expected);
    }
}

TEST(HashVectors, SameResultsFromManyThreads) {
    // Each thread uses its own digest context; all must reproduce the reference vectors.
    const auto all = vectors();
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < mismatches.size(); ++t) {
        threads.emplace_back([&all, &mismatches, t] {
            for (int round = 0; round < 200; ++round) {
                for (const Vector& v : all) {
                    if (abx::bucket_of(v.salt, v.purpose, v.subject) != v.expected) ++mismatches[t];
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(HashVectors, PurposeNames) {
    EXPECT_EQ(abx::purpose_name(HashPurpose::Coverage), "coverage");
    EXPECT_EQ(abx::purpose_name(HashPurpose::Variant), "variant");
}

TEST(HashVectors, DeterministicAndInRange) {
    for (int i = 0; i < 1000; ++i) {
        const std::string subject = "subject-" + std::to_string(i);
        const auto a = abx::bucket_of("salt", HashPurpose::Variant, subject);
        EXPECT_LT(a, kBucketCount);
        EXPECT_EQ(a, abx::bucket_of("salt", HashPurpose::Variant, subject));
    }
}

TEST(HashVectors, DecideComposesTheTwoHashes) {
    // decide() must be exactly: coverage hash -> in_coverage, then variant hash -> weights.
    const std::vector<double> weights = {10, 30, 60};
    for (int i = 0; i < 2000; ++i) {
        const std::string subject = "user-" + std::to_string(i);
        const auto d = abx::decide("exp-salt-1", subject, 0.5, weights);
        const auto cb = abx::bucket_of("exp-salt-1", HashPurpose::Coverage, subject);
        EXPECT_EQ(d.coverage_bucket, cb);
        EXPECT_EQ(d.covered, cb < 5000);
        if (d.covered) {
            const auto vb = abx::bucket_of("exp-salt-1", HashPurpose::Variant, subject);
            EXPECT_EQ(d.variant_bucket, vb);
            EXPECT_EQ(d.variant, abx::variant_for_bucket(weights, vb));
        }
    }
    // The published vectors through decide(): user-42 has coverage bucket 1059 and variant bucket
    // 4839, so with coverage 0.2 (covered iff bucket < 2000) and 10/30/60 (boundaries 1000, 4000,
    // 10000) it lands in variant 2; with coverage 0.1 (bucket < 1000) it is not covered.
    const auto d = abx::decide("exp-salt-1", "user-42", 0.2, weights);
    EXPECT_TRUE(d.covered);
    EXPECT_EQ(d.coverage_bucket, 1059u);
    EXPECT_EQ(d.variant_bucket, 4839u);
    EXPECT_EQ(d.variant, 2u);
    EXPECT_FALSE(abx::decide("exp-salt-1", "user-42", 0.1, weights).covered);
    // Strict comparison: coverage 0.1059 covers buckets 0..1058, 0.106 covers 0..1059.
    EXPECT_FALSE(abx::decide("exp-salt-1", "user-42", 0.1059, weights).covered);
    EXPECT_TRUE(abx::decide("exp-salt-1", "user-42", 0.106, weights).covered);
}

TEST(HashVectors, DecideValidatesInputs) {
    const std::vector<double> ok = {1, 1};
    const std::vector<double> bad = {1, -1};
    for (double coverage : {-0.01, 1.01, kNaN, kInf}) {
        try {
            abx::decide("s", "u", coverage, ok);
            ADD_FAILURE() << "coverage " << coverage << " was accepted";
        } catch (const abx::Error& e) {
            EXPECT_EQ(e.sqlstate, "22023");
            EXPECT_NE(std::string(e.what()).find("coverage"), std::string::npos) << e.what();
        }
    }
    // Weights are validated even when the subject falls outside the coverage.
    try {
        abx::decide("s", "u", 0.0, bad);
        ADD_FAILURE() << "negative weight was accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_NE(std::string(e.what()).find("weights"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage rule: covered iff bucket < round(coverage * 10000).
// ---------------------------------------------------------------------------------------------
TEST(HashCoverage, Boundaries) {
    EXPECT_FALSE(abx::in_coverage(0.0, 0));
    EXPECT_TRUE(abx::in_coverage(1.0, 0));
    EXPECT_TRUE(abx::in_coverage(1.0, 9999));
    EXPECT_TRUE(abx::in_coverage(0.2, 1999));
    EXPECT_FALSE(abx::in_coverage(0.2, 2000));
    EXPECT_TRUE(abx::in_coverage(0.0001, 0));
    EXPECT_FALSE(abx::in_coverage(0.0001, 1));
    // 0.00005 * 10000 is exactly 0.5 in doubles; llround rounds half away from zero, so 1 bucket.
    EXPECT_TRUE(abx::in_coverage(0.00005, 0));
    EXPECT_FALSE(abx::in_coverage(0.00005, 1));
    // llround(0.33333 * 10000) = 3333; llround(0.3334 * 10000) = 3334.
    EXPECT_TRUE(abx::in_coverage(0.33333, 3332));
    EXPECT_FALSE(abx::in_coverage(0.33333, 3333));
    EXPECT_TRUE(abx::in_coverage(0.3334, 3333));
}

TEST(HashCoverage, RejectsOutOfRange) {
    for (double coverage : {-0.5, 1.5, kNaN, -kInf}) {
        EXPECT_THROW(abx::in_coverage(coverage, 0), abx::Error);
    }
    try {
        abx::in_coverage(0.5, kBucketCount);
        ADD_FAILURE() << "bucket 10000 was accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
    }
}

// ---------------------------------------------------------------------------------------------
// Weight mapping. Boundaries are derived by hand from the rule
//   boundary_i = llround(W_i / W * 10000), last = 10000.
// ---------------------------------------------------------------------------------------------
std::vector<std::size_t> owners(const std::vector<double>& weights) {
    std::vector<std::size_t> counts(weights.size(), 0);
    for (std::uint32_t b = 0; b < kBucketCount; ++b)
        ++counts.at(abx::variant_for_bucket(weights, b));
    return counts;
}

TEST(WeightMapping, FiftyFifty) {
    const std::vector<double> w = {50, 50};
    EXPECT_EQ(abx::variant_for_bucket(w, 0), 0u);
    EXPECT_EQ(abx::variant_for_bucket(w, 4999), 0u);
    EXPECT_EQ(abx::variant_for_bucket(w, 5000), 1u);
    EXPECT_EQ(abx::variant_for_bucket(w, 9999), 1u);
    EXPECT_EQ(owners(w), (std::vector<std::size_t>{5000, 5000}));
}

TEST(WeightMapping, TenThirtySixty) {
    for (const std::vector<double>& w :
         {std::vector<double>{10, 30, 60}, std::vector<double>{0.1, 0.3, 0.6},
          std::vector<double>{1, 3, 6}}) {
        EXPECT_EQ(abx::variant_for_bucket(w, 0), 0u);
        EXPECT_EQ(abx::variant_for_bucket(w, 999), 0u);
        EXPECT_EQ(abx::variant_for_bucket(w, 1000), 1u);
        EXPECT_EQ(abx::variant_for_bucket(w, 3999), 1u);
        EXPECT_EQ(abx::variant_for_bucket(w, 4000), 2u);
        EXPECT_EQ(abx::variant_for_bucket(w, 9999), 2u);
        EXPECT_EQ(owners(w), (std::vector<std::size_t>{1000, 3000, 6000}));
    }
}

TEST(WeightMapping, ThirdsRoundEachCumulativeBoundary) {
    // Boundaries: llround(3333.33) = 3333, llround(6666.67) = 6667, 10000.
    // So the middle variant gets one bucket more: 3333 / 3334 / 3333.
    const std::vector<double> w = {1, 1, 1};
    EXPECT_EQ(abx::variant_for_bucket(w, 3332), 0u);
    EXPECT_EQ(abx::variant_for_bucket(w, 3333), 1u);
    EXPECT_EQ(abx::variant_for_bucket(w, 6666), 1u);
    EXPECT_EQ(abx::variant_for_bucket(w, 6667), 2u);
    EXPECT_EQ(owners(w), (std::vector<std::size_t>{3333, 3334, 3333}));
}

TEST(WeightMapping, HalfRoundsAwayFromZero) {
    // 1 / 20000 * 10000 is exactly 0.5 in IEEE doubles; llround gives 1 (Python's round() would
    // give 0, which is why the reference implementation uses floor(x + 0.5)).
    const std::vector<double> w = {1, 19999};
    EXPECT_EQ(abx::variant_for_bucket(w, 0), 0u);
    EXPECT_EQ(abx::variant_for_bucket(w, 1), 1u);
    EXPECT_EQ(owners(w), (std::vector<std::size_t>{1, 9999}));
}

TEST(WeightMapping, ZeroWeightVariantNeverChosen) {
    const std::vector<double> w = {0, 50, 0, 50, 0};
    EXPECT_EQ(owners(w), (std::vector<std::size_t>{0, 5000, 0, 5000, 0}));
    EXPECT_EQ(abx::variant_for_bucket(w, 0), 1u);
    EXPECT_EQ(abx::variant_for_bucket(w, 9999), 3u);
    // A single non-zero weight among zeros owns everything.
    EXPECT_EQ(owners({0, 0, 7}), (std::vector<std::size_t>{0, 0, 10000}));
    EXPECT_EQ(owners({7, 0, 0}), (std::vector<std::size_t>{10000, 0, 0}));
}

TEST(WeightMapping, SingleVariantOwnsEverything) {
    EXPECT_EQ(owners({3.5}), (std::vector<std::size_t>{10000}));
}

TEST(WeightMapping, InvalidWeightsThrow22023) {
    const std::vector<std::vector<double>> invalid = {
        {},              // empty
        {0, 0},          // total 0
        {50, -1},        // negative
        {50, kNaN},      // NaN
        {50, kInf},      // infinite
        {1e308, 1e308},  // total overflows to infinity
    };
    for (const auto& w : invalid) {
        try {
            abx::variant_for_bucket(w, 0);
            ADD_FAILURE() << "weights of size " << w.size() << " were accepted";
        } catch (const abx::Error& e) {
            EXPECT_EQ(e.sqlstate, "22023");
            EXPECT_NE(std::string(e.what()).find("weights"), std::string::npos) << e.what();
        }
    }
}

TEST(WeightMapping, BucketOutOfRangeThrows) {
    const std::vector<double> w = {1, 1};
    try {
        abx::variant_for_bucket(w, kBucketCount);
        ADD_FAILURE() << "bucket 10000 was accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
    }
}

// ---------------------------------------------------------------------------------------------
// χ² balance over 10^6 subjects "user-0" .. "user-999999" with a fixed salt.
// ---------------------------------------------------------------------------------------------
constexpr int kSubjects = 1'000'000;
constexpr const char* kChiSalt = "chi-square-salt";

const std::vector<std::uint32_t>& buckets(HashPurpose purpose) {
    static std::vector<std::uint32_t> cache[2];
    auto& out = cache[purpose == HashPurpose::Coverage ? 0 : 1];
    if (out.empty()) {
        out.reserve(kSubjects);
        std::string subject;
        for (int i = 0; i < kSubjects; ++i) {
            subject = "user-";
            subject += std::to_string(i);
            out.push_back(abx::bucket_of(kChiSalt, purpose, subject));
        }
    }
    return out;
}

double chi_square(const std::vector<std::uint64_t>& observed, const std::vector<double>& expected) {
    double chi2 = 0.0;
    for (std::size_t i = 0; i < observed.size(); ++i) {
        const double d = static_cast<double>(observed[i]) - expected[i];
        chi2 += d * d / expected[i];
    }
    return chi2;
}

double critical_999(double degrees_of_freedom) {
    return boost::math::quantile(boost::math::chi_squared(degrees_of_freedom), 0.999);
}

// Observed counts of each variant over the 10^6 variant buckets and the χ² against the weights.
double variant_chi_square(const std::vector<double>& weights, std::vector<std::uint64_t>* counts) {
    double total = 0;
    for (double w : weights) total += w;
    std::vector<std::uint64_t> observed(weights.size(), 0);
    for (std::uint32_t b : buckets(HashPurpose::Variant)) {
        ++observed[abx::variant_for_bucket(weights, b)];
    }
    std::vector<double> expected;
    for (double w : weights) expected.push_back(kSubjects * w / total);
    if (counts) *counts = observed;
    return chi_square(observed, expected);
}

TEST(ChiSquareBalance, CriticalValuesAreTheKnownOnes) {
    // Sanity of the reference: tabulated 99.9% quantiles for 1 and 2 degrees of freedom.
    EXPECT_NEAR(critical_999(1), 10.828, 1e-3);
    EXPECT_NEAR(critical_999(2), 13.816, 1e-3);
}

TEST(ChiSquareBalance, FiftyFifty) {
    std::vector<std::uint64_t> counts;
    const double chi2 = variant_chi_square({50, 50}, &counts);
    EXPECT_LT(chi2, critical_999(1)) << "counts " << counts[0] << " / " << counts[1];
}

TEST(ChiSquareBalance, TenThirtySixty) {
    std::vector<std::uint64_t> counts;
    const double chi2 = variant_chi_square({10, 30, 60}, &counts);
    EXPECT_LT(chi2, critical_999(2))
        << "counts " << counts[0] << " / " << counts[1] << " / " << counts[2];
}

TEST(ChiSquareBalance, BucketsAreUniform) {
    std::vector<std::uint64_t> observed(kBucketCount, 0);
    for (std::uint32_t b : buckets(HashPurpose::Variant)) ++observed[b];
    const std::vector<double> expected(kBucketCount, double(kSubjects) / kBucketCount);
    EXPECT_LT(chi_square(observed, expected), critical_999(kBucketCount - 1));
}

TEST(ChiSquareBalance, DetectsAOnePercentBias) {
    // The test has power: mapping the same buckets with 51/49 and testing against 50/50 must fail.
    const std::vector<double> biased = {51, 49};
    std::vector<std::uint64_t> observed(2, 0);
    for (std::uint32_t b : buckets(HashPurpose::Variant))
        ++observed[abx::variant_for_bucket(biased, b)];
    EXPECT_GT(chi_square(observed, {kSubjects / 2.0, kSubjects / 2.0}), critical_999(1));
}

TEST(ChiSquareCoverage, CoveredShareAndIndependence) {
    constexpr double kCoverage = 0.2;
    const std::vector<double> weights = {50, 50};

    // One pass through decide(). For subjects outside the coverage, decide() computes no variant,
    // so the variant they would get is computed from their variant bucket, for the contingency
    // table. table[covered][variant] counts subjects.
    double table[2][2] = {{0, 0}, {0, 0}};
    std::string subject;
    for (int i = 0; i < kSubjects; ++i) {
        subject = "user-";
        subject += std::to_string(i);
        const auto d = abx::decide(kChiSalt, subject, kCoverage, weights);
        const std::size_t variant =
            d.covered ? d.variant
                      : abx::variant_for_bucket(
                            weights, abx::bucket_of(kChiSalt, HashPurpose::Variant, subject));
        table[d.covered ? 1 : 0][variant] += 1;
    }

    // Covered share within 4 standard errors of the coverage.
    const double covered = table[1][0] + table[1][1];
    const double share = covered / kSubjects;
    const double se = std::sqrt(kCoverage * (1 - kCoverage) / kSubjects);
    EXPECT_LT(std::abs(share - kCoverage), 4 * se) << "covered share " << share;

    // The 50/50 split among covered subjects.
    const std::vector<std::uint64_t> covered_split = {std::uint64_t(table[1][0]),
                                                      std::uint64_t(table[1][1])};
    EXPECT_LT(chi_square(covered_split, {covered / 2.0, covered / 2.0}), critical_999(1))
        << "covered split " << covered_split[0] << " / " << covered_split[1];

    // 2x2 contingency covered x variant over all subjects: the two purposes are independent.
    double chi2 = 0;
    for (int r = 0; r < 2; ++r) {
        for (int c = 0; c < 2; ++c) {
            const double row = table[r][0] + table[r][1];
            const double col = table[0][c] + table[1][c];
            const double expected = row * col / kSubjects;
            chi2 += (table[r][c] - expected) * (table[r][c] - expected) / expected;
        }
    }
    EXPECT_LT(chi2, critical_999(1)) << "contingency " << table[0][0] << " " << table[0][1] << " / "
                                     << table[1][0] << " " << table[1][1];
}

}  // namespace
