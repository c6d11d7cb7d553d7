// Appending to the audit log from the glue (docs/security.md, "Audit log").
#pragma once
#include "spi.hpp"

namespace abx::pg {

// One audited mutation, appended in the current transaction (inside spi_connect). Concurrent
// appends are serialised by a transaction-level lock, so the chain stays linear; the new head is
// also written to the server log (an anchor outside the database).
struct AuditRecord {
    std::string action;  // organization.create, experiment.update, experiment.start, ...
    std::string target;  // organization:3, experiment:42
    std::optional<std::int64_t> organization_id;
    std::optional<std::int64_t> experiment_id;
    nlohmann::json change = nlohmann::json::object();
    // A refused call, appended later by the denial writer on behalf of the refused session: its
    // role, JWT subject, request id and time replace this session's.
    struct Refusal {
        std::string actor;
        std::optional<std::string> jwt_subject, request_id;
        std::string error_code;
        TimestampTz at;
    };
    std::optional<Refusal> refused;
};
std::int64_t append_audit(const AuditRecord& record);

}  // namespace abx::pg
