// When jobs run (docs/operations.md): cron expressions, interval schedules, the next slot after a
// run, and retry backoff. Times are microseconds since the Unix epoch, in UTC.
#pragma once
#include "abx/core_only.hpp"

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace abx {

// A five-field cron expression (minute hour day-of-month month day-of-week), UTC. Fields take `*`,
// numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists of those; day-of-week 0-7 (0 and 7 are
// Sunday). As in cron, when both day fields are restricted a day matching either one matches.
class Cron {
  public:
    // Error 22023 naming the field for anything else.
    static Cron parse(std::string_view expression);

    // The first matching minute strictly after `after_us` (seconds dropped).
    std::int64_t next_after(std::int64_t after_us) const;
    const std::string& text() const { return text_; }

  private:
    std::string text_;
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;     // 1..31
    std::bitset<13> months_;   // 1..12
    std::bitset<7> weekdays_;  // 0..6, Sunday = 0
    bool any_day_ = true, any_weekday_ = true;
};

struct Schedule {
    std::int64_t interval_us = 0;  // used when there is no cron expression
    std::optional<Cron> cron;
};

// The slot to run after `slot_us` ran (or was due) when the clock reads `now_us`: slots missed
// while abx was down or busy are coalesced, never run one by one (the next slot is after now).
std::int64_t next_slot(const Schedule& schedule, std::int64_t slot_us, std::int64_t now_us);

// When to retry a failed attempt (1-based) of a slot: now + backoff * 2^(attempt-1), capped at a
// day. nullopt when the retries are used up (then the job goes on with its next slot).
std::optional<std::int64_t> retry_at(std::int64_t now_us, std::int64_t backoff_us, int attempt,
                                     int max_retries);

// Checks a job's interval (1 s to 366 days) and name (`^[a-z][a-z0-9_]{0,62}$`); 22023 otherwise.
void validate_job_name(std::string_view name);
void validate_job_interval(std::int64_t interval_us, const char* field);

}  // namespace abx
