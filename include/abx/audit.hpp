// The audit log's tamper evidence: a canonical serialisation of each entry and the hash chain
// hash(n) = SHA-256(hash(n-1) || canonical(entry n)), with 32 zero bytes before the first entry.
// Pure: the glue reads and writes the rows; this decides what their hashes must be and where a
// stored chain breaks (docs/security.md, "Audit log").
#pragma once
#include "abx/core_only.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace abx::audit {

using Digest = std::array<unsigned char, 32>;
inline constexpr Digest kGenesis{};  // the "previous hash" of entry 1

struct Entry {
    std::int64_t seq = 0;    // 1, 2, 3, ... without gaps
    std::int64_t at_us = 0;  // abx.now(), microseconds since the Unix epoch
    std::string actor;       // the database role that acted
    std::optional<std::string> jwt_subject;
    std::optional<std::int64_t> organization_id;
    std::string action;  // e.g. experiment.start
    std::string target;  // e.g. experiment:42
    std::string change;  // JSON text exactly as stored (PostgreSQL's jsonb output)
    std::optional<std::string> request_id;
    std::string outcome;  // ok | denied
    std::optional<std::string> error_code;
};

// Length-prefixed, versioned, unambiguous: "abx-audit-v1\n" then one "name=<len>:<bytes>\n" line
// per field in a fixed order, "name=-\n" for an absent value.
std::string canonical(const Entry& entry);
Digest chain_hash(const Digest& previous, const Entry& entry);

std::string to_hex(const Digest& digest);
std::optional<Digest> from_bytes(const std::string& bytes);  // nullopt unless exactly 32 bytes

// Walks a stored chain in seq order and reports the first place where it breaks.
class ChainVerifier {
  public:
    // One stored row: its entry and the hashes stored with it. Returns false once broken.
    bool feed(const Entry& entry, const Digest& stored_previous, const Digest& stored_hash);
    // A stored row whose hashes are not 32 bytes each: the chain breaks there.
    void malformed(std::int64_t seq);
    // After the last row: the head recorded outside the rows (nullopt: no head recorded).
    void finish(std::optional<std::int64_t> head_seq, const std::optional<Digest>& head_hash);

    bool ok() const { return !broken_seq_; }
    std::optional<std::int64_t> broken_seq() const { return broken_seq_; }
    const std::string& reason() const { return reason_; }
    std::int64_t checked() const { return checked_; }
    std::int64_t last_seq() const { return last_seq_; }
    const Digest& last_hash() const { return last_hash_; }

  private:
    void fail(std::int64_t seq, std::string why);
    std::int64_t checked_ = 0;
    std::int64_t last_seq_ = 0;
    Digest last_hash_ = kGenesis;
    std::optional<std::int64_t> broken_seq_;
    std::string reason_;
};

// What changed between two versions of a document, for an audit entry: {"before": {...},
// "after": {...}} with only the top-level fields whose values differ; "variants" is compared per
// variant key (an added or removed variant appears on one side only).
nlohmann::json document_change(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace abx::audit
