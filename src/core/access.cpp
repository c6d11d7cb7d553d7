#include "abx/access.hpp"

#include "abx/error.hpp"

#include <array>

namespace abx {
namespace {

using namespace std::string_view_literals;

constexpr std::array kAdmin = {"abx_admin"sv};
constexpr std::array kRead = {"abx_reader"sv, "abx_experimenter"sv, "abx_analyst"sv, "abx_admin"sv};
constexpr std::array kChange = {"abx_experimenter"sv, "abx_admin"sv};
constexpr std::array kAnalyze = {"abx_analyst"sv, "abx_admin"sv};
constexpr std::array kService = {"abx_service"sv, "abx_admin"sv};
constexpr std::array kEveryone = {"abx_reader"sv, "abx_experimenter"sv, "abx_analyst"sv,
                                  "abx_service"sv, "abx_admin"sv};
constexpr std::array kGroups = {"abx_admin"sv,   "abx_experimenter"sv, "abx_analyst"sv,
                                "abx_service"sv, "abx_reader"sv,       "abx_gateway"sv};

std::string join(std::span<const std::string_view> names) {
    std::string out;
    for (std::string_view n : names) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

[[noreturn]] void refuse(const std::string& message, const std::string& hint = {}) {
    throw Error(sqlstate::kInsufficientPrivilege, message, "", hint);
}

}  // namespace

std::string_view right_name(Right right) {
    switch (right) {
        case Right::ExperimentsRead:
            return "experiments:read";
        case Right::ExperimentsWrite:
            return "experiments:write";
        case Right::ExperimentsLifecycle:
            return "experiments:lifecycle";
        case Right::ExperimentsAdmin:
            return "experiments:admin";
        case Right::ExperimentsAnalyze:
            return "experiments:analyze";
        case Right::Assign:
            return "experiments:assign";
        case Right::EventsWrite:
            return "experiments:events:write";
        case Right::WinnerRead:
            return "experiments:winner:read";
        case Right::AuditRead:
            return "audit:read";
        case Right::MetaRead:
            return "meta:read";
    }
    return "unknown";
}

std::span<const std::string_view> roles_granting(Right right) {
    switch (right) {
        case Right::ExperimentsRead:
            return kRead;
        case Right::ExperimentsWrite:
        case Right::ExperimentsLifecycle:
            return kChange;
        case Right::ExperimentsAdmin:
            return kAdmin;
        case Right::ExperimentsAnalyze:
        case Right::AuditRead:
        case Right::MetaRead:
            return kAnalyze;
        case Right::Assign:
        case Right::EventsWrite:
            return kService;
        case Right::WinnerRead:
            return kEveryone;
    }
    return {};
}

std::span<const std::string_view> group_roles() {
    return kGroups;
}

void missing_right(Right right, std::string_view function, std::string_view role) {
    refuse("permission denied: " + std::string(function) + " needs the right " +
               std::string(right_name(right)) + ", which role \"" + std::string(role) +
               "\" does not have",
           "the right is granted by membership in " + join(roles_granting(right)));
}

OrganizationDecision decide_organization(const OrganizationClaims& c) {
    std::optional<std::string> session = c.setting;
    if (c.jwt_claim) {
        if (c.setting && *c.setting != *c.jwt_claim)
            refuse("abx.organization \"" + *c.setting +
                   "\" conflicts with the organization of the JWT (\"" + *c.jwt_claim + "\")");
        session = c.jwt_claim;
    }
    if (c.argument && session && *c.argument != *session)
        refuse("organization \"" + *c.argument + "\" is not the session's organization \"" +
                   *session + "\"",
               "a session acts for one organization (abx.organization)");
    OrganizationDecision d;
    d.organization = c.argument ? c.argument : session;
    if (d.organization) {
        bool vouched_by_jwt = c.jwt_claim && *d.organization == *c.jwt_claim;
        d.check_membership = !c.superuser && !vouched_by_jwt;
    } else if (c.bound && !c.superuser) {
        refuse("role \"" + c.role + "\" is a member of organizations and acts only for one of them",
               "SET abx.organization = '<organization key>'");
    }
    return d;
}

}  // namespace abx
