#include "abx/timeline.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

using abx::timeline::evenly_spaced;
using V = std::vector<std::size_t>;

TEST(TimelineEvenlySpaced, KeepsEveryLookWithinTheLimit) {
    EXPECT_EQ(evenly_spaced(0, 5), V{});
    EXPECT_EQ(evenly_spaced(3, 3), (V{0, 1, 2}));
    EXPECT_EQ(evenly_spaced(3, 500), (V{0, 1, 2}));
}

TEST(TimelineEvenlySpaced, SpreadsOverTheWholeSpan) {
    // 11 looks into 3: the first, the middle and the last.
    EXPECT_EQ(evenly_spaced(11, 3), (V{0, 5, 10}));
    // 10 into 4: 0, 3, 6, 9 (a step of exactly 3).
    EXPECT_EQ(evenly_spaced(10, 4), (V{0, 3, 6, 9}));
    // 7 into 3: 0, 3, 6; 8 into 3: 0, 3.5 -> 4 (half up), 7.
    EXPECT_EQ(evenly_spaced(7, 3), (V{0, 3, 6}));
    EXPECT_EQ(evenly_spaced(8, 3), (V{0, 4, 7}));
    // 5 into 2: both ends.
    EXPECT_EQ(evenly_spaced(5, 2), (V{0, 4}));
}

TEST(TimelineEvenlySpaced, LimitOneKeepsTheLatestAndZeroNothing) {
    EXPECT_EQ(evenly_spaced(9, 1), V{8});
    EXPECT_EQ(evenly_spaced(9, 0), V{});
}

TEST(TimelineEvenlySpaced, ExactlyLimitDistinctIncreasingIndicesWithBothEnds) {
    for (std::size_t count : {2u, 3u, 10u, 501u, 999u, 5001u, 123457u})
        for (std::size_t limit : {2u, 3u, 7u, 500u, 5000u}) {
            if (count <= limit) continue;
            V kept = evenly_spaced(count, limit);
            ASSERT_EQ(kept.size(), limit) << count << " " << limit;
            EXPECT_EQ(kept.front(), 0u);
            EXPECT_EQ(kept.back(), count - 1);
            for (std::size_t j = 1; j < kept.size(); ++j) {
                ASSERT_LT(kept[j - 1], kept[j]);
                // Evenly: every gap is the ideal step rounded one way or the other.
                const double step = (double)(count - 1) / (double)(limit - 1);
                EXPECT_LE((double)(kept[j] - kept[j - 1]), step + 1) << count << " " << limit;
                EXPECT_GE((double)(kept[j] - kept[j - 1]), step - 1) << count << " " << limit;
            }
        }
}
