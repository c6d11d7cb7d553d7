#include "abx/schedule.hpp"

#include "abx/error.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <vector>

namespace abx {
namespace {

constexpr std::int64_t kMinute = 60'000'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;

struct Field {
    const char* name;
    int lo, hi;
};

int number(std::string_view text, const Field& f, std::string_view expression) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < f.lo ||
        value > f.hi)
        invalid_field("cron", std::string(f.name) + " must be a number from " +
                                  std::to_string(f.lo) + " to " + std::to_string(f.hi) +
                                  " (got \"" + std::string(text) + "\" in \"" +
                                  std::string(expression) + "\")");
    return value;
}

// Sets the bits of one field; returns whether it was `*` (unrestricted).
template <std::size_t N>
bool parse_field(std::string_view text, const Field& f, std::bitset<N>& bits,
                 std::string_view expression) {
    bool star = false;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        std::string_view item = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        int step = 1;
        if (std::size_t slash = item.find('/'); slash != std::string_view::npos) {
            step = number(item.substr(slash + 1), Field{f.name, 1, f.hi}, expression);
            item = item.substr(0, slash);
        }
        int lo = f.lo, hi = f.hi;
        if (item == "*") {
            star = step == 1;
        } else if (std::size_t dash = item.find('-'); dash != std::string_view::npos) {
            lo = number(item.substr(0, dash), f, expression);
            hi = number(item.substr(dash + 1), f, expression);
            if (lo > hi)
                invalid_field("cron", std::string(f.name) + " range " + std::string(item) +
                                          " runs backwards");
        } else {
            lo = hi = number(item, f, expression);
            if (step != 1) hi = f.hi;  // "5/15": from 5 on, every 15
        }
        for (int v = lo; v <= hi; v += step) bits.set((std::size_t)v % N);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return star;
}

// Civil date of a day number (days since 1970-01-01), Howard Hinnant's algorithm.
struct Date {
    int year, month, day, weekday;
};
Date civil(std::int64_t days) {
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = (int)(yoe + era * 400);
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int weekday = (int)((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday (4)
    return Date{y + (m <= 2), (int)m, (int)d, weekday};
}

}  // namespace

Cron Cron::parse(std::string_view expression) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < expression.size()) {
        while (i < expression.size() && expression[i] == ' ') ++i;
        std::size_t j = i;
        while (j < expression.size() && expression[j] != ' ') ++j;
        if (j > i) fields.push_back(expression.substr(i, j - i));
        i = j;
    }
    if (fields.size() != 5)
        invalid_field(
            "cron", "needs five fields (minute hour day-of-month month day-of-week), got " +
                        std::to_string(fields.size()) + " in \"" + std::string(expression) + "\"");
    Cron c;
    c.text_ = std::string(expression);
    parse_field(fields[0], Field{"minute", 0, 59}, c.minutes_, expression);
    parse_field(fields[1], Field{"hour", 0, 23}, c.hours_, expression);
    c.any_day_ = parse_field(fields[2], Field{"day-of-month", 1, 31}, c.days_, expression);
    parse_field(fields[3], Field{"month", 1, 12}, c.months_, expression);
    std::bitset<8> weekdays;
    c.any_weekday_ = parse_field(fields[4], Field{"day-of-week", 0, 7}, weekdays, expression);
    for (int d = 0; d < 7; ++d) c.weekdays_[d] = weekdays[d] || (d == 0 && weekdays[7]);
    return c;
}

std::int64_t Cron::next_after(std::int64_t after_us) const {
    std::int64_t t = (after_us >= 0 ? after_us / kMinute : (after_us - kMinute + 1) / kMinute) + 1;
    // At most five years ahead: an expression like "0 0 31 2 *" never matches.
    for (std::int64_t limit = t + 5LL * 366 * 24 * 60; t < limit;) {
        std::int64_t day = t >= 0 ? t / 1440 : (t - 1439) / 1440;
        Date d = civil(day);
        bool day_ok;
        if (any_day_ || any_weekday_)
            day_ok = days_[d.day] && weekdays_[d.weekday];
        else
            day_ok = days_[d.day] || weekdays_[d.weekday];
        if (!months_[d.month] || !day_ok) {
            t = (day + 1) * 1440;
            continue;
        }
        int minute_of_day = (int)(t - day * 1440);
        int hour = minute_of_day / 60, minute = minute_of_day % 60;
        if (!hours_[hour]) {
            t = day * 1440 + (hour + 1) * 60;
            continue;
        }
        if (!minutes_[minute]) {
            ++t;
            continue;
        }
        return t * kMinute;
    }
    invalid_field("cron", "\"" + text_ + "\" matches no time in the next five years");
}

std::int64_t next_slot(const Schedule& s, std::int64_t slot_us, std::int64_t now_us) {
    std::int64_t from = std::max(slot_us, now_us);
    if (s.cron) return s.cron->next_after(from);
    if (s.interval_us <= 0) invalid_field("schedule", "must be a positive interval");
    // The schedule's phase is kept: the next multiple of the interval after now.
    if (slot_us > now_us) return slot_us + s.interval_us;
    std::int64_t behind = (now_us - slot_us) / s.interval_us + 1;
    return slot_us + behind * s.interval_us;
}

std::optional<std::int64_t> retry_at(std::int64_t now_us, std::int64_t backoff_us, int attempt,
                                     int max_retries) {
    if (attempt > max_retries) return std::nullopt;
    std::int64_t wait = std::max<std::int64_t>(backoff_us, 0);
    for (int i = 1; i < attempt && wait < kDay; ++i) wait *= 2;
    return now_us + std::min(wait, kDay);
}

void validate_job_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
    for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!ok) invalid_field("name", "must match ^[a-z][a-z0-9_]{0,62}$");
}

void validate_job_interval(std::int64_t interval_us, const char* field) {
    if (interval_us < 1'000'000 || interval_us > 366 * kDay)
        invalid_field(field, "must be between 1 second and 366 days");
}

}  // namespace abx
