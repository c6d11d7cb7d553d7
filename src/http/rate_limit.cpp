#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace abx::http {

RateLimiter::Decision RateLimiter::take(const std::string& key, int per_minute,
                                        double now_seconds) {
    if (per_minute <= 0) return {true, 0};
    const double capacity = per_minute;
    const double rate = per_minute / 60.0;  // tokens per second
    std::lock_guard lock(mutex_);
    if (now_seconds - last_sweep_ > 60) {
        // A bucket idle for a minute is full again: forgetting it changes nothing.
        std::erase_if(buckets_,
                      [&](const auto& kv) { return now_seconds - kv.second.updated > 60; });
        last_sweep_ = now_seconds;
    }
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{capacity, now_seconds});
    Bucket& b = it->second;
    if (!fresh) {
        b.tokens = std::min(capacity, b.tokens + (now_seconds - b.updated) * rate);
        b.updated = now_seconds;
    }
    if (b.tokens >= 1) {
        b.tokens -= 1;
        return {true, 0};
    }
    return {false, std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate)))};
}

}  // namespace abx::http
