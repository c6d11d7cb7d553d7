// abx-http's deliverer (docs/integrations.md): a thread with its own libpq connection that
// claims due deliveries of the outbox (abx.claim_deliveries: FOR UPDATE SKIP LOCKED, leased),
// sends them with libcurl, concurrently, and reports each outcome (abx.report_delivery, which
// decides retry or dead letter). Woken by NOTIFY abx_outbox, and every deliver_poll_ms for retries.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "config.hpp"

namespace abx::http {

// An outbound URL's address check (SSRF): resolves the host and returns the addresses to pin
// (CURLOPT_RESOLVE "host:port:addr,..."), or the reason the request may not be made.
struct OutboundCheck {
    bool allowed = false;
    std::string resolve;  // empty for an address literal
    std::string reason;
};
OutboundCheck check_outbound(const std::string& url, bool allow_private);

class Deliverer {
  public:
    explicit Deliverer(const Config& config);
    ~Deliverer();
    Deliverer(const Deliverer&) = delete;
    Deliverer& operator=(const Deliverer&) = delete;

    void start();
    // Stops after the transfers in flight (their outcomes unreported: the leases expire and the
    // deliveries are tried again, which receivers deduplicate by event id).
    void stop();

  private:
    void run();

    Config config_;
    std::string worker_;
    std::atomic<bool> stopping_{false};
    int wake_[2] = {-1, -1};  // a pipe: stop() writes to it to end a wait
    std::thread thread_;
};

}  // namespace abx::http
