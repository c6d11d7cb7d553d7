#include "abx/experiment_spec.hpp"

#include "abx/error.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <functional>
#include <limits>
#include <string>

namespace {

using abx::ExperimentKind;
using abx::ExperimentSpec;
using abx::Status;
using nlohmann::json;

// A payload shaped like seed 002's create example, in abx's vocabulary.
json seed_payload() {
    return json::parse(R"json({
        "code": "checkout_button_color",
        "name": "Checkout Button Color",
        "description": "Test blue vs green button",
        "kind": "ab",
        "targeting": {"country": ["SN", "FR"], "lang": ["fr"], "txn_count": {"gte": 1}},
        "coverage": 0.5,
        "salt": "s3cr3t salt!",
        "variants": [
            {"key": "blue", "name": "Control (Blue)", "config": {"button_color": "blue"},
             "weight": 50, "is_control": true},
            {"key": "green", "name": "Green Button", "config": {"button_color": "green"},
             "weight": 50}
        ],
        "metrics": {"primary": {"kind": "rate", "numerator": "conversion", "denominator": "view"}},
        "winner_policy": {"mode": "automatic", "min_assignments": 1000}
    })json");
}

// A minimal valid payload.
json minimal() {
    return json::parse(R"({"code": "exp1", "variants": [{"key": "a"}, {"key": "b"}]})");
}

// parse_experiment_spec(payload) must fail with `sqlstate` naming `field`.
void expect_code(const json& payload, const std::string& sqlstate, const std::string& field) {
    expect_error([&] { abx::parse_experiment_spec(payload); }, sqlstate,
                 sqlstate == "22004" ? field + " must not be null" : "invalid " + field + ":");
}

// The same with 22023 (a bad value that is neither of the wrong type nor out of range).
void expect_invalid(const json& payload, const std::string& field) {
    expect_code(payload, "22023", field);
}

const char* const kDoubleRange = "number is out of range for double precision";

template <class F>
json with(F change) {
    json p = seed_payload();
    change(p);
    return p;
}

TEST(ExperimentSpecTest, ParsesSeedLikePayload) {
    auto s = abx::parse_experiment_spec(seed_payload());
    EXPECT_EQ(s.code, "checkout_button_color");
    EXPECT_EQ(s.name, "Checkout Button Color");
    EXPECT_EQ(s.description, "Test blue vs green button");
    EXPECT_EQ(s.kind, ExperimentKind::AB);
    EXPECT_EQ(s.targeting, seed_payload()["targeting"]);
    EXPECT_DOUBLE_EQ(s.coverage, 0.5);
    EXPECT_EQ(s.salt, "s3cr3t salt!");
    ASSERT_EQ(s.variants.size(), 2u);
    EXPECT_EQ(s.variants[0].key, "blue");
    EXPECT_EQ(s.variants[0].name, "Control (Blue)");
    EXPECT_DOUBLE_EQ(s.variants[0].weight, 50);
    EXPECT_EQ(s.variants[0].config, json({{"button_color", "blue"}}));
    EXPECT_TRUE(s.variants[0].is_control);
    EXPECT_FALSE(s.variants[1].is_control);
    EXPECT_EQ(s.control_index(), 0u);
    EXPECT_EQ(s.metrics["primary"]["kind"], "rate");
    EXPECT_EQ(s.winner_policy["min_assignments"], 1000);
}

TEST(ExperimentSpecTest, DefaultsApply) {
    auto s = abx::parse_experiment_spec(minimal());
    EXPECT_EQ(s.name, "exp1");
    EXPECT_EQ(s.description, "");
    EXPECT_EQ(s.kind, ExperimentKind::AB);
    EXPECT_EQ(s.targeting, json::object());
    EXPECT_DOUBLE_EQ(s.coverage, 1.0);
    EXPECT_EQ(s.salt, "");
    EXPECT_EQ(s.metrics, json::object());
    EXPECT_EQ(s.winner_policy, json::object());
    EXPECT_EQ(s.variants[1].name, "b");
    EXPECT_DOUBLE_EQ(s.variants[1].weight, 1.0);
    EXPECT_EQ(s.variants[1].config, json::object());
    // null means "not given"
    json p = minimal();
    p["targeting"] = nullptr;
    p["salt"] = nullptr;
    p["name"] = nullptr;
    EXPECT_EQ(abx::parse_experiment_spec(p).name, "exp1");
}

TEST(ExperimentSpecTest, BanditKind) {
    json p = minimal();
    p["kind"] = "bandit";
    p["metrics"] = {{"primary", {{"key", "conversion"}, {"kind", "rate"}, {"event", "buy"}}}};
    auto s = abx::parse_experiment_spec(p);
    EXPECT_EQ(s.kind, ExperimentKind::Bandit);
    EXPECT_EQ(abx::to_string(s.kind), "bandit");
    EXPECT_EQ(abx::to_string(ExperimentKind::AB), "ab");
}

TEST(ExperimentSpecTest, BanditNeedsAPrimaryRateMetric) {
    const std::string why =
        "invalid metrics.primary: a bandit experiment needs a primary metric of kind rate";
    json p = minimal();
    p["kind"] = "bandit";
    expect_error([&] { abx::parse_experiment_spec(p); }, "22023", why);  // no metrics at all
    p["metrics"] = {{"secondary", {{{"key", "conversion"}, {"kind", "rate"}, {"event", "buy"}}}}};
    expect_error([&] { abx::parse_experiment_spec(p); }, "22023", why);  // no primary
    p["metrics"] = {{"primary", {{"key", "revenue"}, {"kind", "sum"}, {"event", "buy"}}}};
    expect_error([&] { abx::parse_experiment_spec(p); }, "22023", why);  // not a rate
    // Updates: a draft turned into a bandit, or a bandit losing its primary metric.
    expect_error(
        [] {
            abx::apply_update(abx::parse_experiment_spec(minimal()), Status::Draft,
                              json::parse(R"({"kind": "bandit"})"));
        },
        "22023", why);
    p["metrics"] = {{"primary", {{"key", "conversion"}, {"kind", "rate"}, {"event", "buy"}}}};
    const ExperimentSpec bandit = abx::parse_experiment_spec(p);
    for (Status st : {Status::Draft, Status::Running}) {
        expect_error([&] { abx::apply_update(bandit, st, json::parse(R"({"metrics": {}})")); },
                     "22023", why);
        expect_error(
            [&] {
                abx::apply_update(bandit, st, json::parse(R"({"metrics": {"primary":
                    {"key": "n", "kind": "count", "event": "buy"}}})"));
            },
            "22023", why);
    }
    EXPECT_NO_THROW(abx::apply_update(bandit, Status::Running, json::parse(R"({"name": "B"})")));
}

TEST(ExperimentSpecTest, ControlDefaultsToFirstVariant) {
    auto s = abx::parse_experiment_spec(minimal());
    EXPECT_TRUE(s.variants[0].is_control);
    EXPECT_FALSE(s.variants[1].is_control);
    EXPECT_EQ(s.control_index(), 0u);

    json p = minimal();
    p["variants"][1]["is_control"] = true;
    p["variants"][0]["is_control"] = false;
    s = abx::parse_experiment_spec(p);
    EXPECT_FALSE(s.variants[0].is_control);
    EXPECT_EQ(s.control_index(), 1u);

    p["variants"][0]["is_control"] = true;
    expect_invalid(p, "variants[1].is_control");
}

TEST(ExperimentSpecTest, InvalidTopLevelFields) {
    expect_code(json::array(), "22P02", "experiment");
    expect_code(json("x"), "22P02", "experiment");
    expect_invalid(with([](json& p) { p["traffic"] = 1; }), "traffic");
    expect_invalid(with([](json& p) { p.erase("code"); }), "code");
    expect_code(with([](json& p) { p["code"] = nullptr; }), "22004", "code");
    expect_invalid(with([](json& p) { p["code"] = "has space"; }), "code");
    expect_invalid(with([](json& p) { p["code"] = ""; }), "code");
    expect_invalid(with([](json& p) { p["code"] = std::string(129, 'c'); }), "code");
    expect_code(with([](json& p) { p["code"] = 42; }), "22P02", "code");
    EXPECT_NO_THROW(
        abx::parse_experiment_spec(with([](json& p) { p["code"] = std::string(128, 'c'); })));
    expect_code(with([](json& p) { p["name"] = 3; }), "22P02", "name");
    expect_invalid(with([](json& p) { p["name"] = ""; }), "name");
    expect_code(with([](json& p) { p["description"] = json::object(); }), "22P02", "description");
    expect_invalid(with([](json& p) { p["kind"] = "abn"; }), "kind");
    expect_code(with([](json& p) { p["kind"] = true; }), "22P02", "kind");
    expect_code(with([](json& p) {
                    p["targeting"] = {{"txn_count", {{"gte", "x"}}}};
                }),
                "22P02", "targeting.txn_count.gte");
    expect_invalid(with([](json& p) {
                       p["targeting"] = {{"txn_count", {{"gtee", 1}}}};
                   }),
                   "targeting.txn_count.gtee");
    expect_code(with([](json& p) { p["targeting"] = json::array(); }), "22P02", "targeting");
    for (const json& c : {json(0), json(-0.1), json(1.5), json(1e300)})
        expect_code(with([&](json& p) { p["coverage"] = c; }), "22003", "coverage");
    for (const json& c : {json("0.5"), json(true), json::array({0.5})})
        expect_code(with([&](json& p) { p["coverage"] = c; }), "22P02", "coverage");
    EXPECT_DOUBLE_EQ(abx::parse_experiment_spec(with([](json& p) { p["coverage"] = 1; })).coverage,
                     1.0);
    EXPECT_DOUBLE_EQ(
        abx::parse_experiment_spec(with([](json& p) { p["coverage"] = 1e-300; })).coverage, 1e-300);
    expect_invalid(with([](json& p) { p["salt"] = ""; }), "salt");
    expect_invalid(with([](json& p) { p["salt"] = std::string(65, 's'); }), "salt");
    expect_invalid(with([](json& p) { p["salt"] = "tab\there"; }), "salt");
    expect_invalid(with([](json& p) { p["salt"] = "caf\xc3\xa9"; }), "salt");
    expect_code(with([](json& p) { p["salt"] = 7; }), "22P02", "salt");
    EXPECT_NO_THROW(
        abx::parse_experiment_spec(with([](json& p) { p["salt"] = std::string(64, '~'); })));
    expect_code(with([](json& p) { p["metrics"] = json::array(); }), "22P02", "metrics");
    expect_code(with([](json& p) { p["winner_policy"] = "auto"; }), "22P02", "winner_policy");
    expect_code(with([](json& p) { p["analysis"] = 0.95; }), "22P02", "analysis");
}

// The glue reads a number that did not fit a double (1e999 is valid jsonb) as NaN: wherever it is,
// the spec is refused naming its path.
TEST(ExperimentSpecTest, NumbersThatDidNotFitAreOutOfRange) {
    const std::pair<const char*, const char*> cases[] = {
        {"/coverage", "coverage"},
        {"/variants/1/weight", "variants[1].weight"},
        {"/variants/0/config/price", "variants[0].config.price"},
        {"/targeting/txn_count/gte", "targeting.txn_count.gte"},
        {"/winner_policy/min_assignments", "winner_policy.min_assignments"},
        {"/winner_policy/confidence", "winner_policy.confidence"},
        {"/analysis/confidence", "analysis.confidence"},
        {"/analysis/bandit/min_share", "analysis.bandit.min_share"},
        {"/metrics/primary/kind", "metrics.primary.kind"},  // even where a string belongs
    };
    for (const auto& [pointer, path] : cases) {
        SCOPED_TRACE(path);
        json p = seed_payload();
        p[json::json_pointer(pointer)] = NAN;
        expect_error([&] { abx::parse_experiment_spec(p); }, "22003",
                     std::string("invalid ") + path + ": " + kDoubleRange);
    }
}

TEST(ExperimentSpecTest, InvalidVariantLists) {
    expect_invalid(with([](json& p) { p.erase("variants"); }), "variants");
    expect_code(with([](json& p) { p["variants"] = nullptr; }), "22004", "variants");
    expect_code(with([](json& p) { p["variants"] = json::object(); }), "22P02", "variants");
    expect_invalid(with([](json& p) { p["variants"].erase(1); }), "variants");
    json many = json::array();
    for (int i = 0; i < 101; ++i) many.push_back({{"key", "v" + std::to_string(i)}});
    expect_invalid(with([&](json& p) { p["variants"] = many; }), "variants");
    many.erase(100);
    EXPECT_EQ(
        abx::parse_experiment_spec(with([&](json& p) { p["variants"] = many; })).variants.size(),
        100u);
    expect_invalid(with([](json& p) {
                       p["variants"][0]["weight"] = 0;
                       p["variants"][1]["weight"] = 0;
                   }),
                   "variants");
}

TEST(ExperimentSpecTest, InvalidVariantFields) {
    expect_code(with([](json& p) { p["variants"][1] = "green"; }), "22P02", "variants[1]");
    expect_invalid(with([](json& p) { p["variants"][1]["traffic_share"] = 50; }),
                   "variants[1].traffic_share");
    expect_invalid(with([](json& p) { p["variants"][1].erase("key"); }), "variants[1].key");
    expect_code(with([](json& p) { p["variants"][1]["key"] = nullptr; }), "22004",
                "variants[1].key");
    expect_code(with([](json& p) { p["variants"][1]["key"] = 7; }), "22P02", "variants[1].key");
    expect_invalid(with([](json& p) { p["variants"][1]["key"] = "gr een"; }), "variants[1].key");
    expect_invalid(with([](json& p) { p["variants"][1]["key"] = std::string(65, 'k'); }),
                   "variants[1].key");
    expect_invalid(with([](json& p) { p["variants"][1]["key"] = "blue"; }), "variants[1].key");
    expect_code(with([](json& p) { p["variants"][1]["name"] = false; }), "22P02",
                "variants[1].name");
    expect_code(with([](json& p) { p["variants"][1]["weight"] = -1; }), "22003",
                "variants[1].weight");
    expect_code(with([](json& p) { p["variants"][1]["weight"] = 1000000.5; }), "22003",
                "variants[1].weight");
    expect_code(with([](json& p) { p["variants"][1]["weight"] = "50"; }), "22P02",
                "variants[1].weight");
    expect_code(
        with([](json& p) { p["variants"][1]["weight"] = std::numeric_limits<double>::infinity(); }),
        "22003", "variants[1].weight");
    expect_code(with([](json& p) { p["variants"][0]["config"] = json::array(); }), "22P02",
                "variants[0].config");
    expect_code(with([](json& p) { p["variants"][0]["is_control"] = "yes"; }), "22P02",
                "variants[0].is_control");
    // "remove" is a patch-only marker
    expect_invalid(with([](json& p) { p["variants"][0]["remove"] = false; }), "variants[0].remove");
    // the message says what is wrong
    expect_error(
        [] { abx::parse_experiment_spec(with([](json& p) { p["variants"][1]["weight"] = -1; })); },
        "22003", "invalid variants[1].weight: must be between 0 and 1000000");
    // both ends of the range are accepted
    const auto s = abx::parse_experiment_spec(with([](json& p) {
        p["variants"][0]["weight"] = 1000000;
        p["variants"][1]["weight"] = 0;
    }));
    EXPECT_EQ(s.variants[0].weight, 1e6);
}

TEST(ExperimentSpecTest, ZeroWeightVariantAllowedWhenTotalPositive) {
    auto s = abx::parse_experiment_spec(with([](json& p) { p["variants"][1]["weight"] = 0; }));
    EXPECT_DOUBLE_EQ(s.variants[1].weight, 0);
}

TEST(ExperimentSpecTest, RoundTrip) {
    for (const json& payload : {seed_payload(), minimal()}) {
        auto s = abx::parse_experiment_spec(payload);
        json j = abx::to_json(s);
        auto t = abx::parse_experiment_spec(j);
        EXPECT_EQ(abx::to_json(t), j);
        EXPECT_EQ(t.code, s.code);
        EXPECT_EQ(t.name, s.name);
        EXPECT_EQ(t.description, s.description);
        EXPECT_EQ(t.kind, s.kind);
        EXPECT_EQ(t.targeting, s.targeting);
        EXPECT_EQ(t.coverage, s.coverage);
        EXPECT_EQ(t.salt, s.salt);
        EXPECT_EQ(t.metrics, s.metrics);
        EXPECT_EQ(t.winner_policy, s.winner_policy);
        ASSERT_EQ(t.variants.size(), s.variants.size());
        for (std::size_t i = 0; i < s.variants.size(); ++i) {
            EXPECT_EQ(t.variants[i].key, s.variants[i].key);
            EXPECT_EQ(t.variants[i].name, s.variants[i].name);
            EXPECT_EQ(t.variants[i].weight, s.variants[i].weight);
            EXPECT_EQ(t.variants[i].config, s.variants[i].config);
            EXPECT_EQ(t.variants[i].is_control, s.variants[i].is_control);
        }
    }
    // no salt: the key is left out rather than written as "" (which would not parse)
    EXPECT_FALSE(abx::to_json(abx::parse_experiment_spec(minimal())).contains("salt"));
}

// --- updates --------------------------------------------------------------------------------

ExperimentSpec current() {
    return abx::parse_experiment_spec(seed_payload());
}

ExperimentSpec update(Status status, const char* patch) {
    return abx::apply_update(current(), status, json::parse(patch));
}

void expect_refused(Status status, const char* patch, const std::string& fragment) {
    expect_error([&] { update(status, patch); }, "55000", fragment);
}

TEST(ExperimentSpecTest, DraftUpdateMayChangeAnything) {
    auto s = update(Status::Draft, R"({
        "code": "new_code", "kind": "bandit", "salt": "other", "coverage": 1,
        "name": "Renamed", "targeting": null, "winner_policy": {"mode": "manual"},
        "variants": [{"key": "x", "weight": 1}, {"key": "y", "weight": 3, "is_control": true},
                     {"key": "z"}]
    })");
    EXPECT_EQ(s.code, "new_code");
    EXPECT_EQ(s.kind, ExperimentKind::Bandit);
    EXPECT_EQ(s.salt, "other");
    EXPECT_EQ(s.name, "Renamed");
    EXPECT_EQ(s.description, "Test blue vs green button");  // untouched
    EXPECT_EQ(s.targeting, json::object());                 // null resets to everyone
    EXPECT_EQ(s.winner_policy, json({{"mode", "manual"}}));
    ASSERT_EQ(s.variants.size(), 3u);  // the list replaced the old variants
    EXPECT_EQ(s.variants[0].key, "x");
    EXPECT_EQ(s.control_index(), 1u);
}

TEST(ExperimentSpecTest, DraftVariantListReplacesWholesale) {
    // listing an existing key does not merge with its old fields in draft
    auto s = update(Status::Draft, R"({"variants": [{"key": "blue"}, {"key": "red"}]})");
    ASSERT_EQ(s.variants.size(), 2u);
    EXPECT_EQ(s.variants[0].name, "blue");
    EXPECT_DOUBLE_EQ(s.variants[0].weight, 1);
    EXPECT_EQ(s.variants[0].config, json::object());
    EXPECT_EQ(s.variants[1].key, "red");
    // a "remove" marker simply leaves the variant out
    s = update(
        Status::Draft,
        R"({"variants": [{"key": "blue"}, {"key": "green", "remove": true}, {"key": "c"}]})");
    ASSERT_EQ(s.variants.size(), 2u);
    EXPECT_EQ(s.variants[1].key, "c");
    // the result must still be a valid spec
    expect_error([] { update(Status::Draft, R"({"variants": [{"key": "only"}]})"); }, "22023",
                 "invalid variants:");
    expect_error(
        [] {
            update(Status::Draft, R"({"variants": [{"key": "a"}, {"key": "b", "weight": -2}]})");
        },
        "22003", "invalid variants[1].weight:");
}

TEST(ExperimentSpecTest, PatchShapeErrors) {
    expect_error([] { update(Status::Draft, R"([1])"); }, "22P02", "invalid patch:");
    expect_error([] { update(Status::Draft, R"("name")"); }, "22P02", "invalid patch:");
    expect_error([] { update(Status::Draft, R"({"colour": 1})"); }, "22023", "invalid colour:");
    expect_error([] { update(Status::Running, R"({"variants": {"key": "a"}})"); }, "22P02",
                 "invalid variants:");
    expect_error([] { update(Status::Running, R"({"variants": ["blue"]})"); }, "22P02",
                 "invalid variants[0]:");
    expect_error(
        [] { update(Status::Running, R"({"variants": [{"key": "blue", "weight": "5"}]})"); },
        "22P02", "invalid variants[0].weight:");
    expect_error([] { update(Status::Running, R"({"variants": [{"key": null}]})"); }, "22004",
                 "variants[0].key must not be null");
    expect_error([] { update(Status::Draft, R"({"code": null})"); }, "22004",
                 "code must not be null");
    expect_error([] { update(Status::Running, R"({"variants": [{"name": "no key"}]})"); }, "22023",
                 "invalid variants[0].key:");
    expect_error([] { update(Status::Running, R"({"variants": [{"key": "blue", "colour": 1}]})"); },
                 "22023", "invalid variants[0].colour:");
    expect_error(
        [] { update(Status::Running, R"({"variants": [{"key": "blue"}, {"key": "blue"}]})"); },
        "22023", "invalid variants[1].key:");
    expect_error([] { update(Status::Draft, R"({"coverage": 2})"); }, "22003", "invalid coverage:");
    // a number that did not fit a double is named by its path in the patch
    json patch = json::parse(R"({"variants": [{"key": "red"}, {"key": "green", "weight": 1}]})");
    patch["variants"][1]["weight"] = NAN;
    expect_error([&] { abx::apply_update(current(), Status::Running, patch); }, "22003",
                 "invalid variants[1].weight: number is out of range for double precision");
    expect_error([] { update(Status::Running, R"({"code": "bad code"})"); }, "22023",
                 "invalid code:");
}

TEST(ExperimentSpecTest, RunningUpdatesExistingVariantsFieldByField) {
    auto s = update(Status::Running, R"({
        "name": "New name", "description": "d", "coverage": 0.25,
        "targeting": {"country": "SN"},
        "variants": [{"key": "green", "weight": 20}, {"key": "blue", "config": {"button_color": "navy"}}]
    })");
    EXPECT_EQ(s.name, "New name");
    EXPECT_EQ(s.description, "d");
    EXPECT_DOUBLE_EQ(s.coverage, 0.25);
    EXPECT_EQ(s.targeting, json({{"country", "SN"}}));
    ASSERT_EQ(s.variants.size(), 2u);
    EXPECT_EQ(s.variants[0].key, "blue");  // order kept
    EXPECT_EQ(s.variants[0].config, json({{"button_color", "navy"}}));
    EXPECT_DOUBLE_EQ(s.variants[0].weight, 50);  // unchanged fields stay
    EXPECT_EQ(s.variants[0].name, "Control (Blue)");
    EXPECT_TRUE(s.variants[0].is_control);
    EXPECT_EQ(s.variants[1].name, "Green Button");
    EXPECT_DOUBLE_EQ(s.variants[1].weight, 20);
    EXPECT_EQ(s.salt, "s3cr3t salt!");
}

TEST(ExperimentSpecTest, RunningAddsNewVariantsAndKeepsUnlistedOnes) {
    auto s = update(Status::Running, R"({"variants": [{"key": "red", "weight": 10,
                                                       "config": {"button_color": "red"}}]})");
    ASSERT_EQ(s.variants.size(), 3u);
    EXPECT_EQ(s.variants[0].key, "blue");
    EXPECT_EQ(s.variants[1].key, "green");
    EXPECT_EQ(s.variants[2].key, "red");
    EXPECT_DOUBLE_EQ(s.variants[2].weight, 10);
    EXPECT_FALSE(s.variants[2].is_control);
    EXPECT_EQ(s.control_index(), 0u);
    // errors in a patch item name the patch's own index
    expect_error(
        [] {
            update(Status::Running,
                   R"({"variants": [{"key": "red"}, {"key": "green", "weight": -1}]})");
        },
        "22003", "invalid variants[1].weight:");
    // the merged result must still be valid
    expect_error(
        [] {
            update(
                Status::Running,
                R"({"variants": [{"key": "blue", "weight": 0}, {"key": "green", "weight": 0}]})");
        },
        "22023", "invalid variants:");
}

TEST(ExperimentSpecTest, RunningRefusesRemovalAndIdentityChanges) {
    for (Status st : {Status::Running, Status::Paused}) {
        expect_refused(st, R"({"variants": [{"key": "green", "remove": true}]})", "remove variant");
        expect_refused(st, R"({"variants": [{"key": "green", "is_control": true}]})", "control");
        expect_refused(st, R"({"variants": [{"key": "blue", "is_control": false}]})", "control");
        expect_refused(st, R"({"variants": [{"key": "red", "is_control": true}]})", "control");
        expect_refused(st, R"({"code": "other"})", "code");
        expect_refused(st, R"({"kind": "bandit"})", "kind");
        expect_refused(st, R"({"salt": "changed"})", "salt");
        expect_refused(st, R"({"salt": null})", "salt");
    }
    expect_error(
        [] { update(Status::Running, R"({"variants": [{"key": "nope", "remove": true}]})"); },
        "22023", "invalid variants[0].key:");
    // giving the same values is not a change
    auto s = update(Status::Paused, R"({"code": "checkout_button_color", "kind": "ab",
        "salt": "s3cr3t salt!", "variants": [{"key": "blue", "is_control": true},
                                             {"key": "green", "is_control": false}]})");
    EXPECT_EQ(s.control_index(), 0u);
    // analysis settings may change while running
    s = update(Status::Running, R"({"winner_policy": {"mode": "manual"}, "metrics": {}})");
    EXPECT_EQ(s.winner_policy, json({{"mode", "manual"}}));
}

TEST(ExperimentSpecTest, CompletedAndArchivedRefuseEverything) {
    for (Status st : {Status::Completed, Status::Archived}) {
        expect_refused(st, R"({"name": "x"})", "checkout_button_color");
        expect_refused(st, R"({})", "cannot update");
    }
}

TEST(ExperimentSpecTest, RefusalNamesTheStatus) {
    expect_refused(Status::Paused, R"({"code": "other"})", "paused");
    expect_refused(Status::Running, R"({"variants": [{"key": "green", "remove": true}]})",
                   "running");
}

}  // namespace
