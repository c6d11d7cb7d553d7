// abx-http's pure parts: the route table and matcher, the SQLSTATE mapping, the configuration,
// the rate limiter, authentication and password hashes, Prometheus rendering, and the OpenAPI
// document kept in docs/ (regenerated from the route table, so the two cannot drift).
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "auth.hpp"
#include "config.hpp"
#include "errors.hpp"
#include "metrics.hpp"
#include "openapi.hpp"
#include "rate_limit.hpp"
#include "routes.hpp"

using namespace abx::http;

TEST(HttpRoutes, MatchesDocumentedPathsWithDecodedParameters) {
    Match m = match_route(Method::GET, "/api/experiments/check%2Fout/assignment");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->function, "abx.http_assignment");
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"code", "check/out"}));

    m = match_route(Method::GET, "/api/experiments/42/assignment/u%C3%A9");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->function, "abx.http_get_assignment");
    EXPECT_EQ(m.params[1].second, "u\xC3\xA9");
}

TEST(HttpRoutes, LiteralSegmentsBeatParameters) {
    Match m = match_route(Method::POST, "/api/meta/experiments/start");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->function, "abx.http_meta_start");
    m = match_route(Method::GET, "/api/experiments/abc");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->function, "abx.http_get_experiment");
}

TEST(HttpRoutes, MethodMismatchIs405WithAllow) {
    Match m = match_route(Method::PUT, "/api/experiments/abc");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_known);
    EXPECT_EQ(m.allow, "GET, PATCH");
    m = match_route(Method::GET, "/api/nothing/here");
    EXPECT_FALSE(m.path_known);
}

TEST(HttpRoutes, HostilePathsAreRefusedOrMatchedAsData) {
    EXPECT_FALSE(match_route(Method::GET, "/api/experiments/a%00b/winner").error.empty());
    EXPECT_FALSE(match_route(Method::GET, "/api/experiments/%ff/winner").error.empty());
    EXPECT_FALSE(match_route(Method::GET, "/api/experiments/%zz/winner").error.empty());
    EXPECT_FALSE(match_route(Method::GET, "/api/experiments/%4/winner").error.empty());
    EXPECT_FALSE(match_route(Method::GET, "relative").error.empty());
    // Quotes, dots and SQL are just an experiment code to the matcher (parameters, never SQL).
    for (std::string code : {"%27%3B--", "..", ".", "%22x%22", "%E2%9C%93"}) {
        Match m = match_route(Method::GET, "/api/experiments/" + code + "/winner");
        ASSERT_NE(m.route, nullptr) << code;
        EXPECT_TRUE(m.error.empty());
    }
    EXPECT_EQ(match_route(Method::GET, "/api/experiments//winner").route, nullptr);
}

TEST(HttpRoutes, EveryRouteIsWellFormed) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const Route& r : route_table()) {
        EXPECT_EQ(r.pattern[0], '/');
        EXPECT_TRUE(
            seen.insert({std::string(method_name(r.method)), std::string(r.pattern)}).second)
            << r.pattern << " declared twice";
        if (r.builtin == Builtin::Sql || r.builtin == Builtin::Metrics ||
            r.builtin == Builtin::Readiness) {
            EXPECT_EQ(r.function.substr(0, 9), "abx.http_") << r.pattern;
        }
        if (r.method == Method::GET && r.pattern.find("assignment") == std::string_view::npos) {
            EXPECT_TRUE(r.read_only) << r.pattern << ": a GET route runs READ ONLY";
        }
        // 101 Switching Protocols: only the WebSocket upgrade.
        EXPECT_TRUE(r.status == 200 || r.status == 201 ||
                    (r.status == 101 && r.builtin == Builtin::WebSocket))
            << r.pattern;
        // Each route matches itself, with ":param" replaced by a value.
        std::string path(r.pattern);
        for (std::size_t i; (i = path.find(':')) != std::string::npos;) {
            std::size_t end = path.find('/', i);
            path.replace(i, end == std::string::npos ? std::string::npos : end - i, "v");
        }
        EXPECT_EQ(match_route(r.method, path).route, &r) << r.pattern;
    }
}

TEST(HttpQuery, DecodesPairs) {
    auto q = parse_query("subjectId=u+1&orgId=acme%2Dx&flag&=x&a=1&a=2");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 6u);
    EXPECT_EQ((*q)[0].second, "u 1");
    EXPECT_EQ((*q)[1].second, "acme-x");
    EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"flag", ""}));
    EXPECT_FALSE(parse_query("a=%00"));
    EXPECT_FALSE(parse_query("a=%C3"));
}

TEST(HttpUtf8, AcceptsUtf8AndRefusesOverlongsAndSurrogates) {
    EXPECT_TRUE(valid_utf8("plain \xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(valid_utf8("\xE2\x9C"));          // cut short
}

// PostgREST's mapping as the model (its documented table), checked case by case.
TEST(HttpErrors, SqlstateToStatus) {
    struct Case {
        const char* sqlstate;
        bool authenticated;
        int status;
        bool retry;
    };
    const Case cases[] = {
        {"22P02", true, 400, false}, {"22023", true, 400, false},  {"22004", true, 400, false},
        {"22007", true, 400, false}, {"22003", true, 400, false},  {"23502", true, 400, false},
        {"42501", true, 403, false}, {"42501", false, 401, false}, {"P0002", true, 404, false},
        {"42883", true, 404, false}, {"23505", true, 409, false},  {"55000", true, 409, false},
        {"40001", true, 409, false}, {"25006", true, 405, false},  {"08006", true, 503, true},
        {"08000", true, 503, true},  {"53300", true, 503, true},   {"57P01", true, 503, true},
        {"57014", true, 504, false}, {"54001", true, 413, false},  {"42601", true, 400, false},
        {"P0001", true, 400, false}, {"XX000", true, 500, false},  {"0A000", true, 501, false},
    };
    for (const Case& c : cases) {
        ErrorMapping m = map_sqlstate(c.sqlstate, c.authenticated);
        EXPECT_EQ(m.status, c.status) << c.sqlstate;
        EXPECT_EQ(m.retry_after, c.retry) << c.sqlstate;
    }
    // A caller's mistake (class 22 and 23) is never a 5xx.
    for (const char* s : {"22000", "22012", "22P05", "2201B", "23514", "23P01"})
        EXPECT_LT(map_sqlstate(s, true).status, 500) << s;
}

TEST(HttpErrors, BodyHasTheFourFields) {
    nlohmann::json b = error_body("22023", "invalid x", "", "try y");
    EXPECT_EQ(b["code"], "22023");
    EXPECT_EQ(b["message"], "invalid x");
    EXPECT_TRUE(b["details"].is_null());
    EXPECT_EQ(b["hint"], "try y");
}

TEST(HttpConfig, FileThenEnvironment) {
    Config c = parse_config(
        "# comment\nlisten_port = 9000\npool_size=4 # trailing\nrate_limit_public = 10\n"
        "jwt_audience = abx\n",
        {{"ABX_HTTP_POOL_SIZE", "6"}, {"ABX_HTTP_THREADS", "3"}, {"OTHER", "x"}});
    EXPECT_EQ(c.listen_port, 9000);
    EXPECT_EQ(c.pool_size, 6);
    EXPECT_EQ(c.threads, 3);
    EXPECT_EQ(c.rate_limits.at("public"), 10);
    EXPECT_EQ(c.jwt_audience.value_or(""), "abx");
}

TEST(HttpConfig, RefusesWhatItDoesNotKnow) {
    auto refused = [](const std::string& text, const std::map<std::string, std::string>& env,
                      const std::string& fragment) {
        try {
            parse_config(text, env);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    refused("listen_prot = 1\n", {}, "line 1: listen_prot: unknown setting");
    refused("\npool_size = many\n", {}, "line 2: pool_size");
    refused("pool_size = 0\n", {}, "pool_size");
    refused("jwt_require_audience = maybe\n", {}, "jwt_require_audience");
    refused("no equals sign\n", {}, "line 1");
    refused("", {{"ABX_HTTP_THREADS", "-1"}}, "threads");
    refused("superadmin_user = root\n", {}, "superadmin_password_hash");
}

TEST(HttpRateLimit, SixtyPerMinuteThenRetryAfter) {
    RateLimiter limiter;
    for (int i = 0; i < 60; ++i) EXPECT_TRUE(limiter.take("public|1.2.3.4", 60, 1000.0).allowed);
    auto d = limiter.take("public|1.2.3.4", 60, 1000.0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_seconds, 1);
    EXPECT_TRUE(limiter.take("public|5.6.7.8", 60, 1000.0).allowed);  // per client
    EXPECT_TRUE(limiter.take("public|1.2.3.4", 60, 1001.0).allowed);  // one token per second
    EXPECT_FALSE(limiter.take("public|1.2.3.4", 60, 1001.0).allowed);
    EXPECT_TRUE(limiter.take("api|1.2.3.4", 0, 1001.0).allowed);  // 0: unlimited
    RateLimiter slow;
    slow.take("k", 2, 0);
    slow.take("k", 2, 0);
    EXPECT_EQ(slow.take("k", 2, 0).retry_after_seconds, 30);
}

namespace {
struct HttpAuth : ::testing::Test {
    Config config;
    abx::http::jwt::KeySet keys;
    std::shared_ptr<const std::set<std::string>> roles =
        std::make_shared<std::set<std::string>>(std::set<std::string>{"abx_service", "pay_module"});
    const std::int64_t now = 1'800'000'000;
    const std::string secret = std::string(40, 's');
    HttpAuth() { keys.add(abx::http::jwt::Key::hmac(secret)); }
    AuthOutcome call(const Route& r, const std::string& header) {
        return authenticate(r, header, AuthContext{config, keys, roles, now});
    }
    std::string token(nlohmann::json claims) {
        claims["exp"] = now + 60;
        return "Bearer " + abx::http::jwt::sign(claims, abx::http::jwt::Key::hmac(secret));
    }
    const Route& route(Method m, const std::string& path) { return *match_route(m, path).route; }
};
}  // namespace

TEST_F(HttpAuth, TokenRoleMustBeOneOfAbxs) {
    const Route& r = route(Method::GET, "/api/experiments/x/winner");
    AuthOutcome ok = call(r, token({{"role", "pay_module"}, {"org", "acme"}}));
    ASSERT_EQ(ok.status, 0) << ok.message;
    EXPECT_TRUE(ok.caller.authenticated);
    EXPECT_EQ(ok.caller.role, "pay_module");
    EXPECT_EQ(nlohmann::json::parse(ok.caller.claims)["org"], "acme");
    for (std::string role : {"postgres", "abx_gateway", "abx_http", ""}) {
        AuthOutcome a = call(r, token({{"role", role}}));
        EXPECT_EQ(a.status, 401) << role;
    }
    EXPECT_EQ(call(r, token({{"role", 7}})).status, 401);
    EXPECT_EQ(call(r, token({{"sub", "x"}})).status, 401);  // no role, no default
    config.jwt_default_role = "abx_service";
    EXPECT_EQ(call(r, token({{"sub", "x"}})).caller.role, "abx_service");
    roles = nullptr;  // the database was never reached: no role can be checked
    EXPECT_EQ(call(r, token({{"role", "abx_service"}})).status, 503);
}

TEST_F(HttpAuth, CachedTokensExpireAndTheirRoleIsCheckedAgain) {
    const Route& r = route(Method::GET, "/api/experiments/x/winner");
    TokenCache cache;
    std::string header = token({{"role", "abx_service"}});  // exp = now + 60
    std::string bare = header.substr(7);
    auto call_cached = [&](std::int64_t at) {
        return authenticate(r, header, AuthContext{config, keys, roles, at, &cache});
    };
    ASSERT_EQ(call_cached(now).status, 0);
    ASSERT_NE(cache.find(bare, now), nullptr);
    EXPECT_EQ(call_cached(now + 89).status, 0);      // exp + 30 s leeway not reached
    EXPECT_EQ(cache.find(bare, now + 90), nullptr);  // as verify(): exp + leeway <= now is expired
    EXPECT_EQ(call_cached(now + 90).status, 401);
    ASSERT_EQ(call_cached(now).status, 0);
    roles = std::make_shared<std::set<std::string>>(std::set<std::string>{"pay_module"});
    EXPECT_EQ(call_cached(now).status, 401) << "a cached token's role is checked on every request";
    TokenCache bounded;
    for (std::size_t i = 0; i <= TokenCache::kCapacity; ++i)
        bounded.put("t" + std::to_string(i), {"abx_service", "{}", now + 10});
    EXPECT_NE(bounded.find("t" + std::to_string(TokenCache::kCapacity), now), nullptr);
    EXPECT_EQ(bounded.find("t0", now), nullptr);  // cleared when full, never unbounded
}

TEST_F(HttpAuth, HeadersOtherThanBearerAreRefused) {
    const Route& r = route(Method::GET, "/api/experiments/x/winner");
    EXPECT_EQ(call(r, "").status, 401);
    EXPECT_EQ(call(r, "Bearer").status, 401);
    EXPECT_EQ(call(r, "Bearer    ").status, 401);
    EXPECT_EQ(call(r, "Basic dTpw").status, 401);
    EXPECT_EQ(call(r, "Token abc").status, 401);
    EXPECT_EQ(call(r, "bearer " + token({{"role", "abx_service"}}).substr(7)).status, 0);
}

TEST_F(HttpAuth, SuperadminBasicOnlyOnAdminRoutes) {
    const Route& admin = route(Method::GET, "/api/admin/experiments");
    const std::string basic = "Basic cm9vdDpzM2NyZXQ=";  // root:s3cret
    EXPECT_EQ(call(admin, basic).status, 401);           // not configured
    config.superadmin_user = "root";
    config.superadmin_password_hash = hash_password("s3cret", 1000);
    AuthOutcome a = call(admin, basic);
    ASSERT_EQ(a.status, 0) << a.message;
    EXPECT_EQ(a.caller.role, "abx_admin");
    EXPECT_EQ(call(admin, "Basic cm9vdDp3cm9uZw==").status, 401);  // root:wrong
    EXPECT_EQ(call(admin, "Basic !!!!").status, 401);
    EXPECT_EQ(call(route(Method::GET, "/api/experiments/x/winner"), basic).status, 401);
}

TEST_F(HttpAuth, ProbesAndInternalRoutesRunAsTheGateway) {
    AuthOutcome probe = call(route(Method::GET, "/readiness"), "");
    EXPECT_EQ(probe.status, 0);
    EXPECT_EQ(probe.caller.role, "abx_gateway");
    AuthOutcome internal =
        call(route(Method::POST, "/api/internal/experiments/aggregate/run"), "Bearer t0k");
    EXPECT_EQ(internal.caller.role, "abx_gateway");
    EXPECT_EQ(internal.caller.internal_token, "t0k");
    EXPECT_FALSE(internal.caller.authenticated);  // the database decides
}

TEST(HttpPassword, Pbkdf2RoundTripAndKnownAnswer) {
    std::string h = hash_password("correct horse", 1000);
    EXPECT_TRUE(verify_password("correct horse", h));
    EXPECT_FALSE(verify_password("correct horsf", h));
    EXPECT_NE(hash_password("correct horse", 1000), h);  // salted
    // RFC 7914 §11's PBKDF2-HMAC-SHA256 vector: P="passwd", S="salt", c=1, dkLen=64 (first 32).
    EXPECT_TRUE(
        verify_password("passwd",
                        "pbkdf2-sha256$1$73616c74$"
                        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"));
    for (const char* bad : {"", "pbkdf2-sha256$x$00$00", "md5$1$00$00", "pbkdf2-sha256$1$0$00"})
        EXPECT_FALSE(verify_password("passwd", bad)) << bad;
}

TEST(HttpMetrics, RendersHistogramsAndDatabaseCounters) {
    Metrics m;
    m.request("/api/experiments/:code/winner", "GET", 200, 3.0);
    m.request("/api/experiments/:code/winner", "GET", 200, 30.0);
    m.readiness("db", "ok");
    nlohmann::json db = {
        {"counters",
         {{{"name", "policy_denies_total"},
           {"help", "Denies"},
           {"labels", {{"feature", "auto_promotion"}, {"reason", "a\"b"}}},
           {"value", 3}},
          {{"name", "policy_denies_total"}, {"labels", {{"feature", "x"}}}, {"value", 1}},
          {{"name", "bad name"}, {"value", 1}}}}};
    std::string text = m.render(db, 2, 4);
    auto has = [&](const std::string& line) {
        EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
    };
    has("meta_request_latency_ms_bucket{route=\"/api/experiments/:code/"
        "winner\",method=\"GET\",status=\"200\",le=\"5\"} 1\n");
    has("meta_request_latency_ms_bucket{route=\"/api/experiments/:code/"
        "winner\",method=\"GET\",status=\"200\",le=\"50\"} 2\n");
    has("meta_request_latency_ms_count{route=\"/api/experiments/:code/"
        "winner\",method=\"GET\",status=\"200\"} 2\n");
    has("meta_request_latency_ms_sum{route=\"/api/experiments/:code/"
        "winner\",method=\"GET\",status=\"200\"} 33\n");
    has("meta_readiness_checks_total{check=\"db\",status=\"ok\"} 1\n");
    has("policy_denies_total{feature=\"auto_promotion\",reason=\"a\\\"b\"} 3\n");
    has("abx_http_pool_connections{state=\"healthy\"} 2\n");
    EXPECT_EQ(text.find("# TYPE policy_denies_total"), text.rfind("# TYPE policy_denies_total"));
    EXPECT_EQ(text.find("bad name"), std::string::npos);
}

TEST(HttpOpenApi, DocsCopyMatchesTheRouteTable) {
    nlohmann::json doc = openapi_document(Config{}.version);
    std::size_t operations = 0;
    for (auto& [path, item] : doc["paths"].items()) operations += item.size();
    EXPECT_EQ(operations, route_table().size());
    EXPECT_TRUE(doc["paths"].contains("/api/experiments/{code}/assignment"));
    std::ifstream in(std::string(ABX_SOURCE_DIR) + "/docs/openapi.json");
    ASSERT_TRUE(in)
        << "docs/openapi.json is missing: build/core/abx-http openapi > docs/openapi.json";
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(nlohmann::json::parse(s.str()), doc)
        << "docs/openapi.json differs from the route table: regenerate it with "
           "build/core/abx-http openapi > docs/openapi.json";
}
