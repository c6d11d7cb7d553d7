// Requests per minute per client and route group (seed 003: public probes 60/min/IP), as a token
// bucket that refills continuously, so a client is never locked out for a whole window. Time is
// passed in (tests are deterministic); thread-safe, buckets of idle clients are swept.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace abx::http {

class RateLimiter {
  public:
    struct Decision {
        bool allowed;
        int retry_after_seconds;  // when not allowed: until one token is back
    };

    // per_minute == 0: unlimited.
    Decision take(const std::string& key, int per_minute, double now_seconds);

  private:
    struct Bucket {
        double tokens;
        double updated;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
    double last_sweep_ = 0;
};

}  // namespace abx::http
