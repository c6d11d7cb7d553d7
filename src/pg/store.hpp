// Reading and writing experiments in abx's tables: the glue between SQL rows and the core's
// ExperimentSpec. Must be used between spi_connect and spi_finish.
#pragma once
#include "spi.hpp"

#include "abx/experiment_spec.hpp"
#include "abx/lifecycle.hpp"

namespace abx::pg {

// Organization id of a key; nullopt for no key. Unknown key: Error P0002.
std::optional<std::int64_t> resolve_organization(const std::optional<std::string>& key);

struct StoredVariant {
    std::int64_t id;
    VariantSpec spec;
};

struct StoredExperiment {
    std::int64_t id = 0;
    std::optional<std::int64_t> organization_id;  // nullopt: global
    Status status = Status::Draft;
    ExperimentSpec spec;
    std::vector<StoredVariant> variants;  // in position order, parallel to spec.variants
};

// The experiment with this code in exactly this scope (organization or global), optionally locked
// FOR UPDATE. Not found: Error P0002 naming the code and scope.
StoredExperiment load_experiment(const std::string& code, const std::optional<std::string>& org_key,
                                 bool for_update);

// The id of the experiment with this code in exactly this scope, if any (an unknown organization
// key: Error P0002).
std::optional<std::int64_t> find_experiment_id(const std::string& code,
                                               const std::optional<std::string>& org_key);

// The variant every subject of a promoted experiment is served, if it is promoted (promoted
// experiments are completed: callers ask only for completed ones).
std::optional<std::int32_t> promoted_variant(std::int64_t experiment_id, bool read_only);

// The organization's own experiment with this code, else the global one (the documents and the
// winner are readable from every organization); P0002 naming code and scope without either.
std::int64_t find_own_or_global_experiment(const std::string& code,
                                           const std::optional<std::string>& org_key);

// The experiment with this id (Error P0002 if there is none).
StoredExperiment load_experiment_by_id(std::int64_t experiment_id);

// The code and organization key (nullopt: global) of an experiment id.
std::pair<std::string, std::optional<std::string>> experiment_name(std::int64_t experiment_id,
                                                                   bool read_only);

// The experiment as the JSON document the API returns (id, code, organization, status,
// variants...).
Datum experiment_document(std::int64_t experiment_id);  // a jsonb Datum, in the caller's context

// The one resolver of "experiment by code, with the organization fallback", as a CTE named
// `resolved` for SPI statements: the organization's own experiment with code $<code_param> if it
// has one, else the global one; columns id, status, salt, coverage, targeting, row_ctid, row_xmin,
// owner_id (the experiment's organization, NULL when global), org_scope (the organization's id, 0
// without one) and unknown_org (an organization key was given that does not exist: callers refuse).
// At most one row.
std::string resolved_experiment_cte(int code_param, int org_param);

// Error for an unknown experiment, naming code and organization.
[[noreturn]] void experiment_not_found(const std::string& code,
                                       const std::optional<std::string>& org_key);

}  // namespace abx::pg
