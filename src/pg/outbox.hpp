// The outbox (docs/operations.md, "Notifications"): one row per change, written in the change's
// transaction, and a NOTIFY on channel abx_outbox (delivered at commit, like the row).
#pragma once
#include "spi.hpp"

namespace abx::pg {

struct OutboxEvent {
    std::string type;   // experiment.status_changed, experiment.winner_changed, ...
    std::string level;  // info | warning | critical (seed 001)
    std::optional<std::int64_t> organization_id;
    std::optional<std::int64_t> experiment_id;
    nlohmann::json payload = nlohmann::json::object();
};

// Inside spi_connect. Returns the row's id. Writes the event's deliveries too (src/sql/0.5.0).
std::int64_t emit(const OutboxEvent& event);

// The clock of deliveries (abx.delivery_now(): abx.now(), or the test clock on test clusters).
TimestampTz delivery_now();

}  // namespace abx::pg
