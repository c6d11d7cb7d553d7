// Tests of the rights table and the organization decision (include/abx/access.hpp).
#include "abx/access.hpp"

#include "expect_error.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <set>
#include <string>

namespace {

using abx::OrganizationClaims;
using abx::Right;

bool grants(Right right, std::string_view role) {
    auto roles = abx::roles_granting(right);
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// The documented matrix (docs/security.md), written out independently of the code's tables.
TEST(Rights, MatrixMatchesTheDocumentedTable) {
    struct Row {
        Right right;
        bool admin, experimenter, analyst, service, reader;
    };
    const Row rows[] = {
        {Right::ExperimentsRead, true, true, true, false, true},
        {Right::ExperimentsWrite, true, true, false, false, false},
        {Right::ExperimentsLifecycle, true, true, false, false, false},
        {Right::ExperimentsAdmin, true, false, false, false, false},
        {Right::ExperimentsAnalyze, true, false, true, false, false},
        {Right::Assign, true, false, false, true, false},
        {Right::EventsWrite, true, false, false, true, false},
        {Right::WinnerRead, true, true, true, true, true},
        {Right::AuditRead, true, false, true, false, false},
        {Right::MetaRead, true, false, true, false, false},
    };
    ASSERT_EQ(std::size(rows), std::size(abx::kAllRights));
    for (const Row& r : rows) {
        SCOPED_TRACE(std::string(abx::right_name(r.right)));
        EXPECT_EQ(grants(r.right, "abx_admin"), r.admin);
        EXPECT_EQ(grants(r.right, "abx_experimenter"), r.experimenter);
        EXPECT_EQ(grants(r.right, "abx_analyst"), r.analyst);
        EXPECT_EQ(grants(r.right, "abx_service"), r.service);
        EXPECT_EQ(grants(r.right, "abx_reader"), r.reader);
        EXPECT_FALSE(grants(r.right, "abx_gateway")) << "the gateway role only vouches for JWTs";
    }
}

TEST(Rights, NamesAreUniqueAndUseTheSeedsSpelling) {
    std::set<std::string_view> names;
    for (Right r : abx::kAllRights) names.insert(abx::right_name(r));
    EXPECT_EQ(names.size(), std::size(abx::kAllRights));
    EXPECT_TRUE(names.count("experiments:read"));
    EXPECT_TRUE(names.count("experiments:events:write"));
    EXPECT_TRUE(names.count("experiments:admin"));
    EXPECT_TRUE(names.count("meta:read"));
}

TEST(Rights, EveryGrantingRoleIsAGroupRole) {
    auto groups = abx::group_roles();
    for (Right r : abx::kAllRights)
        for (std::string_view role : abx::roles_granting(r))
            EXPECT_NE(std::find(groups.begin(), groups.end(), role), groups.end()) << role;
}

TEST(Rights, MissingRightNamesTheRightAndTheRolesThatGrantIt) {
    try {
        abx::missing_right(Right::EventsWrite, "abx.track", "bob");
        FAIL() << "no error";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "42501");
        EXPECT_NE(std::string(e.what()).find("experiments:events:write"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("abx.track"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("\"bob\""), std::string::npos);
        EXPECT_EQ(e.hint, "the right is granted by membership in abx_service, abx_admin");
    }
}

OrganizationClaims claims() {
    OrganizationClaims c;
    c.role = "alice";
    return c;
}

TEST(Organization, NoneAnywhereActsWithoutOne) {
    auto d = abx::decide_organization(claims());
    EXPECT_FALSE(d.organization);
    EXPECT_FALSE(d.check_membership);
}

TEST(Organization, SettingIsUsedAndNeedsMembership) {
    auto c = claims();
    c.setting = "acme";
    auto d = abx::decide_organization(c);
    EXPECT_EQ(d.organization, "acme");
    EXPECT_TRUE(d.check_membership);
}

TEST(Organization, ArgumentWithoutSessionOrganizationNeedsMembership) {
    auto c = claims();
    c.argument = "acme";
    auto d = abx::decide_organization(c);
    EXPECT_EQ(d.organization, "acme");
    EXPECT_TRUE(d.check_membership);
}

TEST(Organization, ArgumentMustMatchTheSession) {
    auto c = claims();
    c.setting = "acme";
    c.argument = "globex";
    expect_error([&] { abx::decide_organization(c); }, "42501",
                 "organization \"globex\" is not the session's organization \"acme\"");
    c.argument = "acme";
    EXPECT_EQ(abx::decide_organization(c).organization, "acme");
}

TEST(Organization, JwtClaimWinsAndIsVouchedFor) {
    auto c = claims();
    c.jwt_claim = "acme";
    auto d = abx::decide_organization(c);
    EXPECT_EQ(d.organization, "acme");
    EXPECT_FALSE(d.check_membership) << "the gateway verified the token's signature";
    c.setting = "acme";
    EXPECT_EQ(abx::decide_organization(c).organization, "acme");
}

TEST(Organization, SettingConflictingWithTheJwtIsRefused) {
    auto c = claims();
    c.jwt_claim = "acme";
    c.setting = "globex";
    expect_error([&] { abx::decide_organization(c); }, "42501", "conflicts with the organization");
}

TEST(Organization, ArgumentNamingAnotherOrganizationThanTheJwtIsRefused) {
    auto c = claims();
    c.jwt_claim = "acme";
    c.argument = "globex";
    expect_error([&] { abx::decide_organization(c); }, "42501", "\"globex\" is not the session's");
}

TEST(Organization, BoundRoleMustActForAnOrganization) {
    auto c = claims();
    c.bound = true;
    expect_error([&] { abx::decide_organization(c); }, "42501",
                 "role \"alice\" is a member of organizations");
    c.superuser = true;
    EXPECT_FALSE(abx::decide_organization(c).organization);
}

TEST(Organization, SuperuserActsForAnyOrganizationWithoutMembership) {
    auto c = claims();
    c.superuser = true;
    c.argument = "acme";
    auto d = abx::decide_organization(c);
    EXPECT_EQ(d.organization, "acme");
    EXPECT_FALSE(d.check_membership);
}

}  // namespace
