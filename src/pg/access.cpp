#include "access.hpp"

#include "denials.hpp"
#include "settings.hpp"
#include "spi.hpp"
#include "store.hpp"

#include <array>
#include <unordered_map>

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace abx::pg {
namespace {

// Per backend, per calling role: whether it belongs to any organization, and its memberships by
// organization key. Cleared when organization_members or any role membership changes.
struct RoleFacts {
    std::string name;
    std::uint32_t rights_known = 0, rights_held = 0;  // bit per Right
    std::optional<bool> gateway;                      // as a session user: a gateway's login
    std::optional<bool> bound;
    std::unordered_map<std::string, bool> member_of;
};
std::unordered_map<Oid, RoleFacts> role_facts;
std::unordered_map<std::string, Oid> role_oids;  // group role name -> oid (InvalidOid: absent)
std::unordered_map<std::string, std::int64_t> organization_ids;  // key -> id
Oid members_relid = InvalidOid;
Oid organizations_relid = InvalidOid;

// The last request.jwt.claims text seen and what it said.
std::string claims_text;
std::optional<std::string> claims_org, claims_sub;

// The last decision, reused while nothing it depends on changed (the hot paths decide the same
// thing call after call).
struct LastDecision {
    bool valid = false;
    Oid role = InvalidOid, session_user = InvalidOid;
    std::string setting, claims;
    std::optional<std::string> argument;
    Access access;
};
LastDecision last;

// The role an internal-token call acts as (abx.as_owner), InvalidOid otherwise.
Oid acting_owner = InvalidOid;

// The role every gate checks: the session's current role (SET ROLE counts, the owner of a
// SECURITY DEFINER function does not), or the owner an internal-token call acts as.
Oid checked_role() {
    if (OidIsValid(acting_owner)) return acting_owner;
    return pg_call([] { return GetOuterUserId(); });
}

void end_acting_as_owner(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) acting_owner = InvalidOid;
}

RoleFacts& facts_of(Oid role) {
    return role_facts[role];
}

void forget_roles(Datum, int, uint32) {
    last.valid = false;
    role_facts.clear();
    role_oids.clear();
}

void forget_members(Datum, Oid relid) {
    if (relid == InvalidOid || relid == members_relid || relid == organizations_relid) {
        last.valid = false;
        // Looked up again: after DROP/CREATE EXTENSION the tables have new oids.
        members_relid = organizations_relid = InvalidOid;
        role_facts.clear();
        organization_ids.clear();
    }
}

Oid group_oid(std::string_view name) {
    auto it = role_oids.find(std::string(name));
    if (it != role_oids.end()) return it->second;
    std::string key(name);
    Oid oid = pg_call([&] { return get_role_oid(key.c_str(), true); });
    role_oids.emplace(std::move(key), oid);
    return oid;
}

bool has_right(Oid role, Right right) {
    std::uint32_t bit = 1u << static_cast<unsigned>(right);
    if (const RoleFacts& f = facts_of(role); f.rights_known & bit) return f.rights_held & bit;
    bool held = false;
    for (std::string_view group : roles_granting(right)) {
        Oid g = group_oid(group);
        if (OidIsValid(g) && pg_call([&] { return has_privs_of_role(role, g); })) {
            held = true;
            break;
        }
    }
    RoleFacts& cached = facts_of(role);  // (the lookups above may have reset the map)
    cached.rights_known |= bit;
    if (held) cached.rights_held |= bit;
    return held;
}

bool gateway_session() {
    Oid session_user = pg_call([] { return GetSessionUserId(); });
    if (std::optional<bool> known = facts_of(session_user).gateway) return *known;
    Oid g = group_oid(kGatewayRole);
    // Explicit membership only: a superuser's session is not a gateway's unless granted.
    bool gateway =
        OidIsValid(g) && pg_call([&] { return is_member_of_role_nosuper(session_user, g); });
    facts_of(session_user).gateway = gateway;
    return gateway;
}

// The claims of a gateway session (PostgREST's request.jwt.claims): `org` and `sub`.
void read_claims() {
    std::optional<std::string> text =
        gateway_session() ? setting_text("request.jwt.claims") : std::nullopt;
    if (text.value_or("") == claims_text) return;
    claims_text = text.value_or("");
    claims_org.reset();
    claims_sub.reset();
    if (!text) return;
    nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
    if (!doc.is_object()) return;
    if (auto it = doc.find("org"); it != doc.end() && it->is_string() && !it->empty())
        claims_org = it->get<std::string>();
    if (auto it = doc.find("sub"); it != doc.end() && it->is_string())
        claims_sub = it->get<std::string>();
}

Statement role_is_bound(R"SQL(
SELECT EXISTS (SELECT FROM abx.organization_members m JOIN pg_catalog.pg_roles r
                 ON r.rolname = m.role_name
                WHERE pg_catalog.pg_has_role($1, r.oid, 'USAGE')))SQL",
                        {OIDOID});
Statement role_is_member(R"SQL(
SELECT EXISTS (SELECT FROM abx.organization_members m
                 JOIN abx.organizations o ON o.id = m.organization_id
                 JOIN pg_catalog.pg_roles r ON r.rolname = m.role_name
                WHERE o.key = $2 AND pg_catalog.pg_has_role($1, r.oid, 'USAGE')))SQL",
                         {OIDOID, TEXTOID});

// The relations whose changes invalidate the caches (their triggers send relcache invalidations).
void remember_relids() {
    if (OidIsValid(members_relid)) return;
    pg_guard([] {
        Oid ns = get_namespace_oid("abx", true);
        if (!OidIsValid(ns)) return;
        members_relid = get_relname_relid("organization_members", ns);
        organizations_relid = get_relname_relid("organizations", ns);
    });
}

// Answers a membership question through SPI, in a connection of its own.
bool ask(Statement& statement, Oid role, const std::optional<std::string>& org) {
    spi_connect();
    remember_relids();
    Args args(org ? 2 : 1);
    args.set(0, ObjectIdGetDatum(role));
    if (org) args.set(1, text_datum(*org));
    statement.run(args.values(), args.nulls(), true, 1);
    bool answer = col_bool(0, 1).value_or(false);
    spi_finish();
    return answer;
}

std::string role_name(Oid role) {
    if (const std::string& known = facts_of(role).name; !known.empty()) return known;
    std::string name = pg_call([&] { return (const char*)GetUserNameFromId(role, false); });
    facts_of(role).name = name;
    return name;
}

Access decide(Oid role, const std::optional<std::string>& argument) {
    // An internal-token call acts without an organization, as the scheduler's built-in jobs do;
    // neither the session's setting nor its claims apply to it.
    if (OidIsValid(acting_owner)) {
        Access access;
        access.superuser = pg_call([&] { return superuser_arg(role); });
        return access;
    }
    read_claims();
    const char* setting = organization_setting();
    Oid session_user = pg_call([] { return GetSessionUserId(); });
    if (last.valid && last.role == role && last.session_user == session_user &&
        last.setting == setting && last.claims == claims_text && last.argument == argument)
        return last.access;
    Access access;
    access.superuser = pg_call([&] { return superuser_arg(role); });
    OrganizationClaims claims;
    claims.superuser = access.superuser;
    claims.jwt_claim = claims_org;
    if (setting[0] != '\0') claims.setting = setting;
    claims.argument = argument;
    // (A catalog lookup may run invalidation callbacks that clear role_facts: no reference into
    // it is held across ask().)
    if (!access.superuser) {
        std::optional<bool> bound = facts_of(role).bound;
        if (!bound) bound = ask(role_is_bound, role, std::nullopt);
        facts_of(role).bound = bound;
        claims.bound = *bound;
    }
    claims.role = role_name(role);
    OrganizationDecision d = decide_organization(claims);
    if (d.check_membership) {
        const auto& known = facts_of(role).member_of;
        auto it = known.find(*d.organization);
        bool member = it != known.end() ? it->second : ask(role_is_member, role, d.organization);
        facts_of(role).member_of[*d.organization] = member;
        if (!member)
            throw Error(sqlstate::kInsufficientPrivilege,
                        "role \"" + claims.role + "\" is not a member of organization \"" +
                            *d.organization + "\"",
                        "", "an ops admin adds it with abx.add_member(organization, role)");
    }
    access.organization = d.organization;
    last = LastDecision{true, role, session_user, setting, claims_text, argument, access};
    return access;
}

// Runs a check; a refusal (42501) is queued for the audit log before it propagates.
template <class Check>
auto audit_refusal(const std::string& function, const std::optional<std::string>& organization,
                   Check&& check) {
    try {
        return check();
    } catch (const Error& e) {
        if (e.sqlstate == sqlstate::kInsufficientPrivilege)
            queue_denial({function, e.what(), e.sqlstate, organization});
        throw;
    }
}

}  // namespace

void require_right(Right right, const char* function) {
    audit_refusal(function, std::nullopt, [&] {
        Oid role = checked_role();
        if (!pg_call([&] { return superuser_arg(role); }) && !has_right(role, right))
            missing_right(right, function, role_name(role));
    });
}

Access authorize(Right right, const char* function, const std::optional<std::string>& argument) {
    return audit_refusal(function, argument, [&] {
        Oid role = checked_role();
        bool superuser = pg_call([&] { return superuser_arg(role); });
        if (!superuser && !has_right(role, right)) missing_right(right, function, role_name(role));
        return decide(role, argument);
    });
}

void require_no_organization(const Access& access, Right right, const std::string& what) {
    audit_refusal(what, access.organization, [&] {
        if (access.organization)
            throw Error(sqlstate::kInsufficientPrivilege,
                        "permission denied: " + what +
                            " only without an organization (acting for \"" + *access.organization +
                            "\")",
                        "", "RESET abx.organization");
        Oid role = checked_role();
        if (!access.superuser && !has_right(role, right))
            missing_right(right, what, role_name(role));
    });
}

void require_platform(Right right, const char* function) {
    require_no_organization(authorize(right, function, std::nullopt), right, function);
}

std::optional<std::string> item_organization(const std::optional<std::string>& argument) {
    return audit_refusal("abx.track_batch", argument, [&] {
        Oid role = checked_role();
        return decide(role, argument).organization;
    });
}

std::optional<std::int64_t> session_organization_id() {
    Oid role = checked_role();
    std::optional<std::string> key =
        audit_refusal("abx.session_organization_id", std::nullopt,
                      [&] { return decide(role, std::nullopt).organization; });
    if (!key) return std::nullopt;
    if (auto it = organization_ids.find(*key); it != organization_ids.end()) return it->second;
    spi_connect();
    remember_relids();
    std::int64_t id = *resolve_organization(key);
    spi_finish();
    organization_ids.emplace(*key, id);
    return id;
}

std::string calling_role() {
    return role_name(checked_role());
}

std::optional<std::string> trusted_jwt_subject() {
    read_claims();
    return claims_sub;
}

ActingAsOwner::ActingAsOwner(Oid owner) {
    if (OidIsValid(acting_owner))
        throw Error(sqlstate::kInsufficientPrivilege, "abx.as_owner does not nest");
    acting_owner = owner;
}

ActingAsOwner::~ActingAsOwner() {
    acting_owner = InvalidOid;
}

bool acting_as_owner() {
    return OidIsValid(acting_owner);
}

bool caller_is_superuser() {
    Oid role = checked_role();
    return pg_call([&] { return superuser_arg(role); });
}

SessionDescription describe_session(const char* function) {
    Oid role = checked_role();
    SessionDescription d;
    d.role = role_name(role);
    d.superuser = pg_call([&] { return superuser_arg(role); });
    for (Right right : kAllRights)
        if (d.superuser || has_right(role, right)) d.rights.push_back(right);
    read_claims();
    d.subject = claims_sub;
    if (!d.superuser) {
        std::optional<bool> bound = facts_of(role).bound;
        if (!bound) bound = ask(role_is_bound, role, std::nullopt);
        facts_of(role).bound = bound;
        d.bound = *bound;
    }
    bool names_one = claims_org || organization_setting()[0] != '\0';
    if (names_one || !d.bound)
        d.organization = audit_refusal(function, std::nullopt,
                                       [&] { return decide(role, std::nullopt).organization; });
    return d;
}

void register_access_callbacks() {
    RegisterXactCallback(end_acting_as_owner, nullptr);
    CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, forget_roles, (Datum)0);
    CacheRegisterSyscacheCallback(AUTHOID, forget_roles, (Datum)0);
    CacheRegisterRelcacheCallback(forget_members, (Datum)0);
}

}  // namespace abx::pg
