// The returning-subject fast path of abx.assign (and abx.track): a per-backend cache of experiment
// metadata, validated on every use against the experiment's row under the caller's snapshot, and a
// direct primary-key index lookup of the assignment, without SPI, parser or planner.
//
// Validation: an entry remembers the ctid and xmin of the experiments row it was loaded from, and
// the relation's storage file. Every change the API makes to an experiment or its variants
// (update, lifecycle) writes that row, so the remembered version stops being visible to later
// snapshots and the entry is reloaded. CLUSTER and VACUUM FULL move rows but keep their xmin, so
// a rewritten relation (new file) invalidates every entry, and the row found at the ctid must
// also carry the entry's experiment id. An
// entry found through the global fallback of an organization is never cached (an organization's
// own experiment with the same code could appear without touching the global row).
#pragma once
#include "pg.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "abx/lifecycle.hpp"
#include "abx/targeting.hpp"

#include <vector>

namespace abx::pg {

struct CachedVariant {
    std::string key;
    std::string config_jsonb;  // the jsonb varlena as stored (header included)
};

struct CachedExperiment {
    std::int64_t id = 0;
    std::int64_t organization_scope = 0;
    Status status = Status::Draft;
    Oid relation = InvalidOid;  // abx.experiments when loaded (changes with DROP/CREATE EXTENSION)
    Oid relfilenode = InvalidOid;  // its storage then (changes with CLUSTER, VACUUM FULL, TRUNCATE)
    ItemPointerData ctid{};
    TransactionId xmin = InvalidTransactionId;
    std::unordered_map<std::int32_t, CachedVariant> variants;
    // What a new subject's decision needs (for bandits, the weights are the arms' current shares).
    std::string salt;
    double coverage = 1;
    std::optional<Targeting> targeting;     // nullopt: everyone
    std::vector<std::int32_t> variant_ids;  // in position order, parallel to weights
    std::vector<double> weights;
    std::optional<std::int32_t> promoted;  // served to every subject (a promoted experiment)
};

// The valid cached entry for (code, organization), or nullptr (then take the SPI path).
const CachedExperiment* cached_experiment(const std::string& code,
                                          const std::optional<std::string>& org);

// Loads an entry through SPI (inside spi_connect); no-op for global fallbacks (see above).
void cache_experiment(const std::string& code, const std::optional<std::string>& org);

// The variant id of the subject's stored assignment, looked up in the primary key directly.
std::optional<std::int32_t> stored_variant(const CachedExperiment& e, const std::string& subject);

// Datums of a cached variant, in the current memory context.
Datum variant_key_datum(const CachedVariant& v);
Datum variant_config_datum(const CachedVariant& v);

}  // namespace abx::pg
