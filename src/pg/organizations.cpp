// SQL API of the access model: the session's organization for row filters, the right check of
// abx's SQL-language functions, and the trigger that tells every backend memberships changed.
#include "access.hpp"
#include "spi.hpp"

extern "C" {
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/inval.h"
}

using namespace abx;
using namespace abx::pg;

// The organization the session acts for, as an id (NULL: none). Views and row-level security
// policies filter with it.
ABX_SQL_FUNCTION(abx_session_organization_id) {
    std::optional<std::int64_t> id = session_organization_id();
    if (!id) PG_RETURN_NULL();
    PG_RETURN_INT64(*id);
}

// abx.organization_visible(organization_id): the row filter of abx's views. A session with an
// organization sees that organization's rows; one without sees the global rows (NULL), and a
// superuser without one (the DBA) sees every row.
ABX_SQL_FUNCTION(abx_organization_visible) {
    std::optional<std::int64_t> session = session_organization_id();
    if (PG_ARGISNULL(0)) PG_RETURN_BOOL(!session);
    if (session) PG_RETURN_BOOL(PG_GETARG_INT64(0) == *session);
    PG_RETURN_BOOL(caller_is_superuser());
}

// abx.require_right(right, function, without_organization): the gate of abx's plpgsql functions.
ABX_SQL_FUNCTION(abx_require_right) {
    std::string name = arg_text(fcinfo, 0, "right");
    std::string function = arg_text(fcinfo, 1, "function");
    if (PG_ARGISNULL(2)) null_field("without_organization");
    bool without_organization = PG_GETARG_BOOL(2);
    for (Right right : kAllRights) {
        if (right_name(right) != name) continue;
        if (without_organization)
            require_platform(right, function.c_str());
        else
            authorize(right, function.c_str(), std::nullopt);
        PG_RETURN_VOID();
    }
    invalid_field("right", "unknown right \"" + name + "\"");
}

// abx.session_access(): the caller's role, JWT subject, organization and rights (GET /api/me).
ABX_SQL_FUNCTION(abx_session_access) {
    SessionDescription d = describe_session("abx.session_access");
    nlohmann::json rights = nlohmann::json::array();
    for (Right right : d.rights) rights.push_back(std::string(right_name(right)));
    auto or_null = [](const std::optional<std::string>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    return jsonb_datum({{"role", d.role},
                        {"subject", or_null(d.subject)},
                        {"organization", or_null(d.organization)},
                        {"rights", rights},
                        {"superuser", d.superuser},
                        {"bound", d.bound}});
}

// Statement-level trigger on abx.organization_members: a relcache invalidation reaches every
// backend at commit, and each drops its cached memberships.
ABX_SQL_FUNCTION(abx_members_changed) {
    if (!CALLED_AS_TRIGGER(fcinfo)) throw Error(sqlstate::kFeatureNotSupported, "not a trigger");
    TriggerData* data = (TriggerData*)fcinfo->context;
    Oid relid = RelationGetRelid(data->tg_relation);
    pg_guard([&] { CacheInvalidateRelcacheByRelid(relid); });
    return PointerGetDatum(nullptr);
}
