#include "abx/targeting.hpp"

#include "abx/error.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>

namespace {

using abx::Targeting;
using nlohmann::json;

bool matches(const json& rules, const json& context) {
    return Targeting::compile(rules).match(context).matched;
}

std::string reason(const json& rules, const json& context) {
    auto r = Targeting::compile(rules).match(context);
    EXPECT_FALSE(r.matched) << "expected a non-match for " << context.dump();
    return r.reason;
}

// Compiling `rules` must fail with `sqlstate` and a message that names `path`.
void expect_rule_code(const json& rules, const std::string& sqlstate, const std::string& path) {
    try {
        Targeting::compile(rules);
        ADD_FAILURE() << "no error for " << rules.dump();
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, sqlstate) << e.what();
        const std::string named =
            sqlstate == "22004" ? path + " must not be null" : "invalid " + path + ":";
        EXPECT_NE(std::string(e.what()).find(named), std::string::npos)
            << "message \"" << e.what() << "\" does not name " << path;
    }
}

// The same with 22023 (a bad value that is neither of the wrong type nor null nor out of range).
void expect_rule_error(const json& rules, const std::string& path) {
    expect_rule_code(rules, "22023", path);
}

TEST(TargetingTest, NullOrEmptyMatchesEveryone) {
    for (const json& rules : {json(nullptr), json::object()}) {
        auto t = Targeting::compile(rules);
        EXPECT_TRUE(t.matches_everyone());
        auto r = t.match(json::object());
        EXPECT_TRUE(r.matched);
        EXPECT_TRUE(r.reason.empty());
        EXPECT_TRUE(t.match(nullptr).matched);
    }
    EXPECT_FALSE(Targeting::compile(json{{"lang", "fr"}}).matches_everyone());
}

TEST(TargetingTest, SeedExampleBareArraysMeanIn) {
    const json rules = json::parse(R"({"country": ["SN", "FR"], "lang": ["fr"]})");
    EXPECT_TRUE(matches(rules, {{"country", "SN"}, {"lang", "fr"}}));
    EXPECT_TRUE(matches(rules, {{"country", "FR"}, {"lang", "fr"}, {"extra", 1}}));
    EXPECT_EQ(reason(rules, {{"country", "US"}, {"lang", "fr"}}),
              R"(country "US" is not in ["SN","FR"])");
    EXPECT_EQ(reason(rules, {{"country", "SN"}, {"lang", "en"}}), R"(lang "en" is not in ["fr"])");
    EXPECT_EQ(reason(rules, {{"country", "SN"}}), "lang is missing");
    EXPECT_EQ(reason(rules, {{"country", "sn"}, {"lang", "fr"}}),
              R"(country "sn" is not in ["SN","FR"])");  // exact string comparison
}

TEST(TargetingTest, SeedExampleWithMinimumTransactionCount) {
    const json rules =
        json::parse(R"({"country": ["SN", "FR"], "lang": ["fr"], "txn_count": {"gte": 5}})");
    json ctx = {{"country", "FR"}, {"lang", "fr"}, {"txn_count", 5}};
    EXPECT_TRUE(matches(rules, ctx));
    ctx["txn_count"] = 12.5;
    EXPECT_TRUE(matches(rules, ctx));
    ctx["txn_count"] = "7";  // numeric string accepted
    EXPECT_TRUE(matches(rules, ctx));
    ctx["txn_count"] = 3;
    EXPECT_EQ(reason(rules, ctx), "txn_count 3 is not >= 5");
    ctx["txn_count"] = "4.99";
    EXPECT_EQ(reason(rules, ctx), R"(txn_count "4.99" is not >= 5)");
    ctx.erase("txn_count");
    EXPECT_EQ(reason(rules, ctx), "txn_count is missing");
    ctx["txn_count"] = nullptr;  // null reads as missing
    EXPECT_EQ(reason(rules, ctx), "txn_count is missing");
}

TEST(TargetingTest, BareScalarMeansEq) {
    EXPECT_TRUE(matches({{"lang", "fr"}}, {{"lang", "fr"}}));
    EXPECT_EQ(reason({{"lang", "fr"}}, {{"lang", "en"}}), R"(lang "en" is not "fr")");
    EXPECT_EQ(reason({{"lang", "fr"}}, json::object()), "lang is missing");
    EXPECT_TRUE(matches({{"premium", true}}, {{"premium", true}}));
    EXPECT_FALSE(matches({{"premium", true}}, {{"premium", false}}));
    EXPECT_FALSE(matches({{"premium", true}}, {{"premium", "true"}}));
    EXPECT_FALSE(matches({{"premium", true}}, {{"premium", 1}}));
    EXPECT_TRUE(matches({{"tier", 2}}, {{"tier", 2.0}}));
    EXPECT_TRUE(matches({{"tier", 2.0}}, {{"tier", 2}}));
    EXPECT_FALSE(matches({{"tier", 2}}, {{"tier", 2.5}}));
}

TEST(TargetingTest, EqOperator) {
    const json rules = json::parse(R"({"currency": {"eq": "XOF"}})");
    EXPECT_TRUE(matches(rules, {{"currency", "XOF"}}));
    EXPECT_EQ(reason(rules, {{"currency", "EUR"}}), R"(currency "EUR" is not "XOF")");
    EXPECT_EQ(reason(rules, json::object()), "currency is missing");
    EXPECT_FALSE(matches(rules, {{"currency", json::array({"XOF"})}}));
}

TEST(TargetingTest, NeOperator) {
    const json rules = json::parse(R"({"currency": {"ne": "XOF"}})");
    EXPECT_TRUE(matches(rules, {{"currency", "EUR"}}));
    EXPECT_TRUE(matches(rules, json::object()));  // a missing value differs from any value
    EXPECT_EQ(reason(rules, {{"currency", "XOF"}}), R"(currency "XOF" must not be "XOF")");
    EXPECT_TRUE(matches({{"n", {{"ne", 3}}}}, {{"n", 4}}));
    EXPECT_FALSE(matches({{"n", {{"ne", 3}}}}, {{"n", 3.0}}));
}

TEST(TargetingTest, InOperator) {
    const json rules = json::parse(R"({"device": {"in": ["ios", "android"]}})");
    EXPECT_TRUE(matches(rules, {{"device", "ios"}}));
    EXPECT_EQ(reason(rules, {{"device", "web"}}), R"(device "web" is not in ["ios","android"])");
    EXPECT_EQ(reason(rules, json::object()), "device is missing");
    // mixed scalar list, numbers compared numerically
    const json mixed = json::parse(R"({"v": {"in": [1, "two", true]}})");
    EXPECT_TRUE(matches(mixed, {{"v", 1.0}}));
    EXPECT_TRUE(matches(mixed, {{"v", "two"}}));
    EXPECT_TRUE(matches(mixed, {{"v", true}}));
    EXPECT_FALSE(matches(mixed, {{"v", 2}}));
}

TEST(TargetingTest, NotInOperator) {
    const json rules = json::parse(R"({"country": {"not_in": ["US", "CA"]}})");
    EXPECT_TRUE(matches(rules, {{"country", "SN"}}));
    EXPECT_TRUE(matches(rules, json::object()));  // missing is in no list
    EXPECT_EQ(reason(rules, {{"country", "CA"}}), R"(country "CA" must not be in ["US","CA"])");
}

TEST(TargetingTest, OrderingOperators) {
    struct Case {
        const char* op;
        double value;
        bool expected;
    };
    const Case cases[] = {
        {"gt", 4, true},  {"gt", 5, false},  {"gt", 6, false}, {"gte", 4, true},
        {"gte", 5, true}, {"gte", 6, false}, {"lt", 6, true},  {"lt", 5, false},
        {"lt", 4, false}, {"lte", 6, true},  {"lte", 5, true}, {"lte", 4, false},
    };
    for (const auto& c : cases) {
        json rules = {{"age", {{c.op, c.value}}}};
        EXPECT_EQ(matches(rules, {{"age", 5}}), c.expected) << c.op << " " << c.value;
        EXPECT_EQ(matches(rules, {{"age", "5"}}), c.expected) << c.op << " " << c.value << " str";
        EXPECT_FALSE(matches(rules, json::object())) << c.op;
    }
    EXPECT_EQ(reason({{"age", {{"lt", 18}}}}, {{"age", 30}}), "age 30 is not < 18");
    EXPECT_EQ(reason({{"age", {{"gt", 18}}}}, {{"age", 18}}), "age 18 is not > 18");
    EXPECT_EQ(reason({{"age", {{"lte", 18}}}}, {{"age", 18.5}}), "age 18.5 is not <= 18");
}

TEST(TargetingTest, NumericStringsAndNonNumbers) {
    const json rules = {{"n", {{"gt", 9}}}};
    EXPECT_TRUE(matches(rules, {{"n", "1e1"}}));
    EXPECT_TRUE(matches(rules, {{"n", "9.5"}}));
    EXPECT_TRUE(matches(rules, {{"n", "18446744073709551615"}}));
    EXPECT_FALSE(matches(rules, {{"n", "-10"}}));
    EXPECT_EQ(reason(rules, {{"n", "abc"}}), R"(n "abc" is not a number)");
    EXPECT_EQ(reason(rules, {{"n", " 10"}}), R"(n " 10" is not a number)");
    EXPECT_EQ(reason(rules, {{"n", "10 "}}), R"(n "10 " is not a number)");
    EXPECT_EQ(reason(rules, {{"n", ""}}), R"(n "" is not a number)");
    EXPECT_EQ(reason(rules, {{"n", "inf"}}), R"(n "inf" is not a number)");
    EXPECT_EQ(reason(rules, {{"n", true}}), "n true is not a number");
    EXPECT_FALSE(matches(rules, {{"n", json::array({10})}}));
    // a numeric rule value also accepts numeric strings for equality; a string rule does not
    EXPECT_TRUE(matches({{"n", 2}}, {{"n", "2"}}));
    EXPECT_TRUE(matches({{"n", {{"in", {1, 2}}}}}, {{"n", "2.0"}}));
    EXPECT_FALSE(matches({{"n", "2"}}, {{"n", 2}}));
}

TEST(TargetingTest, LargeIntegersCompareExactly) {
    // 2^53 + 1 and 2^53 are equal as doubles but not as integers
    const json rules = {{"id", std::int64_t{9007199254740993}}};
    EXPECT_TRUE(matches(rules, {{"id", std::int64_t{9007199254740993}}}));
    EXPECT_FALSE(matches(rules, {{"id", std::int64_t{9007199254740992}}}));
    EXPECT_TRUE(matches({{"id", {{"gt", -1}}}}, {{"id", std::uint64_t{18446744073709551615u}}}));
    EXPECT_FALSE(matches({{"id", {{"lt", -1}}}}, {{"id", std::uint64_t{18446744073709551615u}}}));
}

TEST(TargetingTest, ExistsOperator) {
    const json yes = json::parse(R"({"promo": {"exists": true}})");
    const json no = json::parse(R"({"promo": {"exists": false}})");
    EXPECT_TRUE(matches(yes, {{"promo", "X"}}));
    EXPECT_TRUE(matches(yes, {{"promo", false}}));
    EXPECT_EQ(reason(yes, json::object()), "promo is missing");
    EXPECT_TRUE(matches(no, json::object()));
    EXPECT_TRUE(matches(no, {{"promo", nullptr}}));
    EXPECT_EQ(reason(no, {{"promo", 0}}), "promo is present but must be missing");
}

TEST(TargetingTest, SeveralOperatorsMustAllHold) {
    const json rules = json::parse(R"({"txn_count": {"gte": 1, "lt": 10}})");
    EXPECT_FALSE(matches(rules, {{"txn_count", 0}}));
    EXPECT_TRUE(matches(rules, {{"txn_count", 1}}));
    EXPECT_TRUE(matches(rules, {{"txn_count", 9.5}}));
    EXPECT_EQ(reason(rules, {{"txn_count", 10}}), "txn_count 10 is not < 10");
}

TEST(TargetingTest, AnyCombinator) {
    const json rules = json::parse(R"({"any": [{"country": "SN"}, {"txn_count": {"gte": 5}}]})");
    EXPECT_TRUE(matches(rules, {{"country", "SN"}}));
    EXPECT_TRUE(matches(rules, {{"country", "US"}, {"txn_count", 6}}));
    EXPECT_EQ(
        reason(rules, {{"country", "US"}, {"txn_count", 1}}),
        R"(none of the "any" rules matched: country "US" is not "SN"; txn_count 1 is not >= 5)");
}

TEST(TargetingTest, AllCombinator) {
    const json rules =
        json::parse(R"({"all": [{"country": "SN"}, {"lang": {"in": ["fr", "wo"]}}]})");
    EXPECT_TRUE(matches(rules, {{"country", "SN"}, {"lang", "wo"}}));
    EXPECT_EQ(reason(rules, {{"country", "SN"}, {"lang", "en"}}),
              R"(lang "en" is not in ["fr","wo"])");
    EXPECT_EQ(reason(rules, {{"lang", "fr"}}), "country is missing");
}

TEST(TargetingTest, NotCombinator) {
    const json rules = json::parse(R"({"not": {"country": ["US", "CA"]}})");
    EXPECT_TRUE(matches(rules, {{"country", "SN"}}));
    EXPECT_TRUE(matches(rules, json::object()));
    EXPECT_EQ(reason(rules, {{"country", "US"}}),
              R"(negated rule matched: {"country":["US","CA"]})");
}

TEST(TargetingTest, NestedCombinatorsAndAttributesTogether) {
    const json rules = json::parse(R"({
        "lang": "fr",
        "any": [{"country": "SN"}, {"all": [{"country": "FR"}, {"not": {"device": "web"}}]}]
    })");
    EXPECT_TRUE(matches(rules, {{"lang", "fr"}, {"country", "SN"}, {"device", "web"}}));
    EXPECT_TRUE(matches(rules, {{"lang", "fr"}, {"country", "FR"}, {"device", "ios"}}));
    EXPECT_FALSE(matches(rules, {{"lang", "fr"}, {"country", "FR"}, {"device", "web"}}));
    EXPECT_FALSE(matches(rules, {{"lang", "en"}, {"country", "SN"}}));
}

TEST(TargetingTest, ContextMustBeAnObject) {
    auto t = Targeting::compile({{"lang", "fr"}});
    EXPECT_FALSE(t.match(nullptr).matched);  // null context = no attributes
    try {
        t.match(json::array());
        ADD_FAILURE() << "array context accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22P02");
    }
}

TEST(TargetingTest, MovedTargetingStillWorks) {
    auto t = Targeting::compile({{"lang", "fr"}});
    Targeting u = std::move(t);
    EXPECT_TRUE(u.match({{"lang", "fr"}}).matched);
    Targeting w;
    EXPECT_TRUE(w.matches_everyone());
    w = std::move(u);
    EXPECT_FALSE(w.match({{"lang", "en"}}).matched);
}

TEST(TargetingTest, MalformedRulesNameThePath) {
    // other bad values: 22023
    expect_rule_error(json::parse(R"({"txn_count": {"gtee": 5}})"), "targeting.txn_count.gtee");
    expect_rule_error(json::parse(R"({"txn_count": {}})"), "targeting.txn_count");
    expect_rule_error(json::parse(R"({"country": []})"), "targeting.country");
    expect_rule_error(json::parse(R"({"country": {"in": []}})"), "targeting.country.in");
    expect_rule_error(json::parse(R"({"country": {"not_in": []}})"), "targeting.country.not_in");
    expect_rule_error(json::parse(R"({"": 1})"), "targeting");
    // a value of the wrong JSON type: 22P02
    expect_rule_code(json::parse(R"({"txn_count": {"gte": "5"}})"), "22P02",
                     "targeting.txn_count.gte");
    expect_rule_code(json::parse(R"({"txn_count": {"gt": true}})"), "22P02",
                     "targeting.txn_count.gt");
    expect_rule_code(json::parse(R"({"country": {"in": "SN"}})"), "22P02", "targeting.country.in");
    expect_rule_code(json::parse(R"({"country": ["SN", {"x": 1}]})"), "22P02",
                     "targeting.country[1]");
    expect_rule_code(json::parse(R"({"country": {"eq": ["SN"]}})"), "22P02",
                     "targeting.country.eq");
    expect_rule_code(json::parse(R"({"country": {"ne": {}}})"), "22P02", "targeting.country.ne");
    expect_rule_code(json::parse(R"({"promo": {"exists": 1}})"), "22P02", "targeting.promo.exists");
    // null where a value is required: 22004
    expect_rule_code(json::parse(R"({"txn_count": {"lt": null}})"), "22004",
                     "targeting.txn_count.lt");
    expect_rule_code(json::parse(R"({"country": ["SN", null]})"), "22004", "targeting.country[1]");
    expect_rule_code(json::parse(R"({"country": null})"), "22004", "targeting.country");
    expect_rule_code(json::parse(R"({"promo": {"exists": null}})"), "22004",
                     "targeting.promo.exists");
    expect_rule_code(json::parse(R"({"not": null})"), "22004", "targeting.not");
}

TEST(TargetingTest, NumbersThatDidNotFitAreOutOfRange) {
    for (const char* pointer : {"/age/gte", "/age/eq", "/age/in/1", "/any/0/age", "/age"}) {
        SCOPED_TRACE(pointer);
        json rules = json::parse(R"({"age": {"gte": 1, "eq": 2, "in": [3, 4]}})");
        if (std::string(pointer) == "/any/0/age") rules = json::parse(R"({"any": [{"age": 5}]})");
        if (std::string(pointer) == "/age") rules = json::parse(R"({"age": 5})");
        rules[json::json_pointer(pointer)] = NAN;
        std::string path = std::string("targeting") + pointer;
        std::string dotted;
        for (std::size_t i = 0; i < path.size(); ++i) {
            if (path[i] != '/') {
                dotted += path[i];
            } else if (std::isdigit(static_cast<unsigned char>(path[i + 1]))) {
                dotted += "[" + std::string(1, path[i + 1]) + "]";
                ++i;
            } else {
                dotted += '.';
            }
        }
        try {
            Targeting::compile(rules);
            ADD_FAILURE() << "accepted";
        } catch (const abx::Error& e) {
            EXPECT_EQ(e.sqlstate, "22003") << e.what();
            EXPECT_EQ(std::string(e.what()),
                      "invalid " + dotted + ": number is out of range for double precision");
        }
    }
}

TEST(TargetingTest, NonObjectRulesAreRefused) {
    expect_rule_code(json::array({"SN"}), "22P02", "targeting");
    expect_rule_code("country = SN", "22P02", "targeting");
    expect_rule_code(3, "22P02", "targeting");
    expect_rule_code(json::parse(R"({"any": [{"a": 1}, "b"]})"), "22P02", "targeting.any[1]");
    expect_rule_code(json::parse(R"({"any": {"a": 1}})"), "22P02", "targeting.any");
    expect_rule_error(json::parse(R"({"any": []})"), "targeting.any");
    expect_rule_code(json::parse(R"({"all": [[]]})"), "22P02", "targeting.all[0]");
    expect_rule_code(json::parse(R"({"not": [{"a": 1}]})"), "22P02", "targeting.not");
    expect_rule_error(json::parse(R"({"all": [{"not": {"a": {"bogus": 1}}}]})"),
                      "targeting.all[0].not.a.bogus");
}

json nested_nots(int n) {
    json rule = {{"a", 1}};
    for (int i = 0; i < n; ++i) rule = json{{"not", rule}};
    return rule;
}

TEST(TargetingTest, NestingDepthIsLimitedTo32) {
    // 31 "not" around an attribute rule: 32 rule objects deep, accepted
    auto t = Targeting::compile(nested_nots(31));
    EXPECT_FALSE(t.match({{"a", 1}}).matched);  // odd number of negations
    EXPECT_TRUE(t.match({{"a", 2}}).matched);
    std::string deep = "targeting";
    for (int i = 0; i < 32; ++i) deep += ".not";
    expect_rule_error(nested_nots(32), deep);
    expect_rule_error(nested_nots(200), deep);  // the path stops where the limit is hit
}

TEST(TargetingTest, RuleDocumentsAreBounded) {
    // 999 attribute conditions plus the top-level rule object: exactly the 1000 allowed.
    json rules = json::object();
    for (int i = 0; i < 999; ++i) rules["a" + std::to_string(i)] = i;
    EXPECT_NO_THROW(Targeting::compile(rules));
    rules["one_more"] = 1;
    expect_rule_error(rules, "targeting");
    // Empty rule objects in "any" count too: they cost a node each.
    json any = json::array();
    for (int i = 0; i < 1000; ++i) any.push_back(json::object());
    expect_rule_error(json{{"any", any}}, "targeting");

    // 10,000 list values in total, over several lists.
    json values = json::array();
    for (int i = 0; i < 5000; ++i) values.push_back(i);
    json lists = {{"a", values}, {"b", {{"not_in", values}}}};
    EXPECT_NO_THROW(Targeting::compile(lists));
    lists["c"] = json::array({"x"});
    expect_rule_error(lists, "targeting");
    try {
        Targeting::compile(lists);
    } catch (const abx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("more than 10000 list values"), std::string::npos);
    }
}

TEST(TargetingTest, ReasonsEchoAtMost64CharactersOfAContextValue) {
    const std::string long_value(10000, 'x');
    const std::string r = reason({{"lang", "fr"}}, {{"lang", long_value}});
    // "lang " + the first 64 characters of "xxx..." (the quote included) + "..." + the rest.
    EXPECT_EQ(r, "lang \"" + std::string(63, 'x') + "... is not \"fr\"");
    // Cut at a character, not a byte: 100 two-byte characters.
    std::string accents;
    for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";
    std::string accents63;
    for (int i = 0; i < 63; ++i) accents63 += "\xc3\xa9";
    EXPECT_EQ(reason({{"lang", "fr"}}, {{"lang", accents}}),
              "lang \"" + accents63 + "... is not \"fr\"");
    // Arrays and objects too; numbers and short values are shown whole.
    json big = json::array();
    for (int i = 0; i < 1000; ++i) big.push_back(i);
    const std::string shown = reason({{"n", {{"gt", 1}}}}, {{"n", big}});
    EXPECT_EQ(shown, "n " + big.dump().substr(0, 64) + "... is not a number");
    EXPECT_EQ(reason({{"n", {{"gt", 9}}}}, {{"n", 1.5}}), "n 1.5 is not > 9");
    const std::string exactly(62, 'y');  // 64 characters with the quotes: not cut
    EXPECT_EQ(reason({{"lang", "fr"}}, {{"lang", exactly}}),
              "lang \"" + exactly + "\" is not \"fr\"");
    // Inside "any" every sub-reason is bounded the same way.
    const std::string any = reason(json::parse(R"({"any": [{"a": "1"}, {"b": "2"}]})"),
                                   {{"a", long_value}, {"b", long_value}});
    EXPECT_LT(any.size(), 250u) << any;
}

TEST(TargetingTest, ValidateContext) {
    EXPECT_NO_THROW(abx::validate_context(nullptr));
    EXPECT_NO_THROW(abx::validate_context(json::object()));
    EXPECT_NO_THROW(abx::validate_context(json::parse(R"({"country": "SN", "age": 30})")));
    for (const json& bad : {json::array(), json("SN"), json(3)}) {
        try {
            abx::validate_context(bad);
            ADD_FAILURE() << bad.dump();
        } catch (const abx::Error& e) {
            EXPECT_EQ(e.sqlstate, "22P02");
            EXPECT_EQ(std::string(e.what()),
                      "invalid context: must be a JSON object of attributes");
        }
    }
    json ctx = json::parse(R"({"country": "SN", "cart": {"items": [1, 2]}})");
    ctx["cart"]["items"][1] = NAN;
    try {
        abx::validate_context(ctx);
        ADD_FAILURE() << "NaN accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22003");
        EXPECT_EQ(std::string(e.what()),
                  "invalid context.cart.items[1]: number is out of range for double precision");
    }
    // 65536 bytes of JSON text pass, one more byte fails: {"k":"..."} is 8 bytes plus the string.
    json big = {{"k", std::string(65536 - 8, 'x')}};
    EXPECT_NO_THROW(abx::validate_context(big));
    big["k"] = std::string(65536 - 7, 'x');
    try {
        abx::validate_context(big);
        ADD_FAILURE() << "65537 bytes accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_NE(std::string(e.what()).find("invalid context: must be at most 65536 bytes"),
                  std::string::npos);
    }
    json deep = json::object();
    for (int i = 0; i < 32; ++i) deep = json{{"d", deep}};  // 33 levels
    try {
        abx::validate_context(deep);
        ADD_FAILURE() << "depth 33 accepted";
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_NE(std::string(e.what()).find("invalid context: must not be nested more than 32"),
                  std::string::npos);
    }
}

}  // namespace
