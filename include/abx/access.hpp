// Who may do what (docs/security.md): the rights of abx's API, the group roles that grant them,
// and the decision of which organization a call acts for. The glue supplies the facts about the
// session (role memberships, settings, trusted JWT claims); this code decides.
#pragma once
#include "abx/core_only.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace abx {

namespace sqlstate {
inline constexpr const char* kInsufficientPrivilege = "42501";
}

enum class Right {
    ExperimentsRead,       // experiment documents, results, SRM, insights, winner evaluation
    ExperimentsWrite,      // create and update experiments
    ExperimentsLifecycle,  // start, pause, resume, complete
    ExperimentsAdmin,      // archive, delete drafts, organizations and members, partitions
    ExperimentsAnalyze,    // run the aggregation
    Assign,                // assign subjects and read their assignment
    EventsWrite,           // track events
    WinnerRead,            // read an experiment's winner
    AuditRead,             // the audit log and its verification
    MetaRead,              // operational summaries (audit failures)
};

inline constexpr Right kAllRights[] = {
    Right::ExperimentsRead,  Right::ExperimentsWrite,   Right::ExperimentsLifecycle,
    Right::ExperimentsAdmin, Right::ExperimentsAnalyze, Right::Assign,
    Right::EventsWrite,      Right::WinnerRead,         Right::AuditRead,
    Right::MetaRead};

// The right's documented name, e.g. "experiments:events:write".
std::string_view right_name(Right right);

// The group roles (NOLOGIN, created by the extension) whose members hold the right.
std::span<const std::string_view> roles_granting(Right right);

// Every group role of abx, and the one a gateway's login role is a member of.
std::span<const std::string_view> group_roles();
inline constexpr std::string_view kGatewayRole = "abx_gateway";

// 42501 naming the missing right and the roles that grant it.
[[noreturn]] void missing_right(Right right, std::string_view function, std::string_view role);

// What the session says about the organization of a call.
struct OrganizationClaims {
    bool superuser = false;
    std::optional<std::string> jwt_claim;  // `org` of request.jwt.claims, on gateway sessions only
    std::optional<std::string> setting;    // abx.organization
    std::optional<std::string> argument;   // the function's organization argument
    bool bound = false;                    // the role is a member of at least one organization
    std::string role;                      // for messages
};

struct OrganizationDecision {
    std::optional<std::string> organization;  // nullopt: the call acts without an organization
    bool check_membership = false;            // the role must be a member of `organization`
};

// The JWT claim of a gateway session wins over abx.organization (a different setting is refused);
// an organization argument must name the session's organization when the session has one;
// a role bound to organizations always acts for one of them; superusers act for any.
OrganizationDecision decide_organization(const OrganizationClaims& claims);

}  // namespace abx
