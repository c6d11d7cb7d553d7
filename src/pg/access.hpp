// The gate every abx function passes first (docs/security.md): the caller's right, and the
// organization the call acts for. It runs before any cache or index probe, so the fast paths
// apply exactly the rule the SQL paths apply.
#pragma once
#include "pg.hpp"

#include "abx/access.hpp"

#include <vector>

namespace abx::pg {

struct Access {
    std::optional<std::string> organization;  // the key the call acts for; nullopt: none
    bool superuser = false;
};

// Checks `right` for the calling role (the session's current role: SET ROLE counts, the owner of
// a SECURITY DEFINER function does not) and decides the organization; raises 42501 naming what is
// missing. `function` names the call in messages ("abx.track").
Access authorize(Right right, const char* function,
                 const std::optional<std::string>& organization_argument);

// The right alone (for calls whose items name their own organization: abx.track_batch).
void require_right(Right right, const char* function);

// Changes to global experiments and to organizations, and reads that span every organization
// (pooled data, the whole audit chain): only without an organization, and only for a role with
// `right` (42501 otherwise).
void require_no_organization(const Access& access, Right right, const std::string& what);

// `right`, acting without an organization: the platform-wide calls (jobs, retention, the audit
// chain, autonomy policies). Both refusals are 42501, as authorize's.
void require_platform(Right right, const char* function);

// The organization of an item of a batch (its own `organization` field): the same decision as
// authorize's, without the right check. Raises 42501 like authorize.
std::optional<std::string> item_organization(const std::optional<std::string>& argument);

// The id of the organization the session acts for (nullopt: none), decided like authorize's;
// cheap after the first call (row filters of views and policies call it per row).
std::optional<std::int64_t> session_organization_id();

// The calling role's name, and the JWT subject when the session is a gateway's (claims set by
// any other session are not trusted).
std::string calling_role();
std::optional<std::string> trusted_jwt_subject();

// While alive, every gate of this backend checks `owner` (the extension's owner) acting without an
// organization: abx.as_owner, the internal-token routes after their token check, as the
// scheduler's built-in jobs act. Ended by the destructor, or at the latest by the transaction's
// abort. Does not nest.
class ActingAsOwner {
  public:
    explicit ActingAsOwner(Oid owner);
    ~ActingAsOwner();
    ActingAsOwner(const ActingAsOwner&) = delete;
    ActingAsOwner& operator=(const ActingAsOwner&) = delete;
};

// Whether an ActingAsOwner is alive in this backend.
bool acting_as_owner();

// Whether the role the gates check (see above) is a superuser.
bool caller_is_superuser();

// Who the caller is and what it may do, for a page that shows only what the server allows: the
// rights exactly as the gates decide them, and the organization as authorize decides it, except
// that a bound role naming no organization gets none instead of a refusal (so that it can learn
// which ones it may pick).
struct SessionDescription {
    std::string role;
    std::optional<std::string> subject;
    std::optional<std::string> organization;
    std::vector<Right> rights;
    bool superuser = false;
    bool bound = false;  // a member of at least one organization
};
SessionDescription describe_session(const char* function);

// Registers the invalidation callbacks of the access caches; called once from _PG_init.
void register_access_callbacks();

}  // namespace abx::pg
