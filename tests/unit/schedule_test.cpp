// Tests of cron expressions, interval slots and retry backoff (include/abx/schedule.hpp). The
// expected instants were computed independently with Python's datetime (UTC).
#include "abx/schedule.hpp"

#include "expect_error.hpp"

#include <gtest/gtest.h>

namespace {

using abx::Cron;

constexpr std::int64_t kMinute = 60'000'000, kHour = 60 * kMinute, kDay = 24 * kHour;

struct CronCase {
    const char* expression;
    std::int64_t after, next;
};

TEST(Cron, NextMatchesIndependentReference) {
    const CronCase cases[] = {
        {"*/15 * * * *", 1773133650000000, 1773134100000000},  // 2026-03-10T09:07:30 -> 09:15
        {"0 * * * *", 1773133200000000, 1773136800000000},     // exactly on a slot: the next one
        {"30 2 * * *", 1773133200000000, 1773196200000000},    // -> next day 02:30
        {"0 0 1 * *", 1797292800000000, 1798761600000000},     // 2026-12-15 -> 2027-01-01
        {"0 12 * * 1", 1773147600000000, 1773662400000000},    // Tuesday -> Monday 2026-03-16
        {"0 12 * * 7", 1773147600000000, 1773576000000000},    // 7 is Sunday: 2026-03-15
        {"0 0 29 2 *", 1772323200000000, 1835395200000000},    // the next 29 February: 2028
        {"0 9 13 * 5", 1773100800000000, 1773392400000000},    // the 13th or a Friday
        {"0 9 1 * 5", 1773100800000000, 1773392400000000},     // a Friday comes before the 1st
        {"5-10/5 8-9 * * *", 1773129960000000, 1773130200000000},  // 08:06 -> 08:10
        {"59 23 31 12 *", 1798761540000000, 1830297540000000},     // a year later
    };
    for (const CronCase& c : cases) {
        SCOPED_TRACE(c.expression);
        EXPECT_EQ(Cron::parse(c.expression).next_after(c.after), c.next);
    }
}

TEST(Cron, RefusesMalformedExpressionsNamingTheField) {
    expect_error([] { Cron::parse("* * * *"); }, "22023", "needs five fields");
    expect_error([] { Cron::parse("60 * * * *"); }, "22023",
                 "minute must be a number from 0 to 59");
    expect_error([] { Cron::parse("* 24 * * *"); }, "22023", "hour");
    expect_error([] { Cron::parse("* * 0 * *"); }, "22023", "day-of-month");
    expect_error([] { Cron::parse("* * * 13 *"); }, "22023", "month");
    expect_error([] { Cron::parse("* * * * 8"); }, "22023", "day-of-week");
    expect_error([] { Cron::parse("*/0 * * * *"); }, "22023", "minute");
    expect_error([] { Cron::parse("10-5 * * * *"); }, "22023", "runs backwards");
    expect_error([] { Cron::parse("a * * * *"); }, "22023", "minute");
    expect_error([] { Cron::parse("0 0 31 2 *").next_after(0); }, "22023", "matches no time");
}

TEST(Schedule, IntervalKeepsItsPhaseAndCoalescesMissedSlots) {
    abx::Schedule s;
    s.interval_us = kHour;
    const std::int64_t t0 = 1773133200000000;  // 2026-03-10T09:00Z
    EXPECT_EQ(abx::next_slot(s, t0, t0), t0 + kHour);
    EXPECT_EQ(abx::next_slot(s, t0, t0 + 10 * kMinute), t0 + kHour);
    // Down for 5 h 20 min: one run now, then back on the hour, not five catch-up runs.
    EXPECT_EQ(abx::next_slot(s, t0, t0 + 5 * kHour + 20 * kMinute), t0 + 6 * kHour);
    // A slot still ahead of the clock (run early by hand): the one after it.
    EXPECT_EQ(abx::next_slot(s, t0 + kHour, t0), t0 + 2 * kHour);
}

TEST(Schedule, CronSlotsComeFromTheExpression) {
    abx::Schedule s;
    s.cron = Cron::parse("0 3 * * *");
    const std::int64_t t0 = 1773133200000000;                // 09:00
    EXPECT_EQ(abx::next_slot(s, t0, t0), 1773198000000000);  // 2026-03-11T03:00Z
}

TEST(Schedule, RetriesBackOffExponentiallyAndStop) {
    EXPECT_EQ(abx::retry_at(0, kMinute, 1, 3), kMinute);
    EXPECT_EQ(abx::retry_at(0, kMinute, 2, 3), 2 * kMinute);
    EXPECT_EQ(abx::retry_at(0, kMinute, 3, 3), 4 * kMinute);
    EXPECT_FALSE(abx::retry_at(0, kMinute, 4, 3));
    EXPECT_EQ(abx::retry_at(0, kHour, 20, 30), kDay) << "capped at a day";
    EXPECT_FALSE(abx::retry_at(0, kMinute, 1, 0)) << "no retries configured";
}

TEST(Schedule, ValidatesNamesAndIntervals) {
    abx::validate_job_name("aggregate");
    expect_error([] { abx::validate_job_name("Aggregate"); }, "22023", "name");
    expect_error([] { abx::validate_job_name(""); }, "22023", "name");
    abx::validate_job_interval(kMinute, "schedule");
    expect_error([] { abx::validate_job_interval(999'999, "schedule"); }, "22023", "schedule");
    expect_error([] { abx::validate_job_interval(367 * kDay, "max_runtime"); }, "22023",
                 "max_runtime");
}

}  // namespace
