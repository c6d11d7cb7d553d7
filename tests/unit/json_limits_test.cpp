#include "abx/json_limits.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "expect_error.hpp"

using nlohmann::json;

namespace {

json with_nan_at(json doc, const json::json_pointer& where) {
    doc[where] = NAN;
    return doc;
}

TEST(JsonLimits, FindsTheFirstUnrepresentableNumberByPath) {
    json spec = json::parse(R"({"code": "x", "variants": [{"key": "a", "weight": 1},
                                                         {"key": "b", "weight": 2}]})");
    EXPECT_EQ(abx::find_unrepresentable_number(spec, ""), std::nullopt);
    EXPECT_EQ(
        abx::find_unrepresentable_number(with_nan_at(spec, "/variants/1/weight"_json_pointer), ""),
        "variants[1].weight");
    json ctx = json::parse(R"({"age": 3, "tags": [1, 2, {"deep": 4}]})");
    EXPECT_EQ(
        abx::find_unrepresentable_number(with_nan_at(ctx, "/tags/2/deep"_json_pointer), "context"),
        "context.tags[2].deep");
    // Document order: the earlier field is reported.
    json two = with_nan_at(with_nan_at(ctx, "/tags/0"_json_pointer), "/tags/2/deep"_json_pointer);
    EXPECT_EQ(abx::find_unrepresentable_number(two, "context"), "context.tags[0]");
    EXPECT_EQ(abx::find_unrepresentable_number(json(NAN), "value"), "value");
    // Infinity is not the marker (the reader never produces it); only NaN is.
    EXPECT_EQ(abx::find_unrepresentable_number(json::array({1.5, -0.0}), "x"), std::nullopt);
}

TEST(JsonLimits, RequireRaisesOutOfRangeNamingThePath) {
    json ctx = json::parse(R"({"age": 3})");
    ctx["age"] = NAN;
    expect_error([&] { abx::require_representable_numbers(ctx, "context"); }, "22003",
                 "invalid context.age: number is out of range for double precision");
}

TEST(JsonLimits, DepthCountsNestedContainers) {
    EXPECT_EQ(abx::json_depth(json(1)), 0u);
    EXPECT_EQ(abx::json_depth(json::object()), 1u);
    EXPECT_EQ(abx::json_depth(json::parse(R"({"a": {"b": [1, [2]]}})")), 4u);
}

TEST(JsonLimits, DoubleReadsNumbersAndRefusesTheMarker) {
    EXPECT_EQ(abx::json_double(json(2.5), "w"), 2.5);
    EXPECT_EQ(abx::json_double(json(-3), "w"), -3.0);
    EXPECT_EQ(abx::json_double(json(std::uint64_t{1} << 63), "w"), 9223372036854775808.0);
    expect_error([] { abx::json_double(json("2.5"), "variants[1].weight"); }, "22P02",
                 "invalid variants[1].weight: must be a number");
    expect_error([] { abx::json_double(json(true), "x"); }, "22P02", "invalid x:");
    expect_error([] { abx::json_double(json(nullptr), "x"); }, "22P02", "invalid x:");
    expect_error([] { abx::json_double(json(NAN), "coverage"); }, "22003",
                 "invalid coverage: number is out of range for double precision");
    expect_error([] { abx::json_double(json(INFINITY), "coverage"); }, "22003",
                 "invalid coverage: number is out of range for double precision");
}

TEST(JsonLimits, RequiredFieldTellsMissingFromNull) {
    const json doc = json::parse(R"({"a": 1, "n": null})");
    EXPECT_EQ(abx::required_field(doc, "a", "x.a"), 1);
    expect_error([&] { abx::required_field(doc, "b", "x.b"); }, "22023",
                 "invalid x.b: is required");
    expect_error([&] { abx::required_field(doc, "n", "x.n"); }, "22004", "x.n must not be null");
}

TEST(JsonLimits, TextSizeIsTheLengthOfTheCompactDump) {
    const json docs[] = {
        json::parse(R"({"a": [1, 2.5, -3e-7, true, false, null], "b\"q": "line\nbreak",
                        "c": {}, "d": [], "e": "\u00e9\u0001", "f": {"g": [[{}]]}})"),
        json(nullptr),
        json("plain"),
        json(std::uint64_t{18446744073709551615u}),
        json::array(),
        json("bad \xff utf-8"),
    };
    for (const json& d : docs) {
        const std::string text = d.dump(-1, ' ', false, json::error_handler_t::replace);
        SCOPED_TRACE(text);
        EXPECT_EQ(abx::json_text_size(d, 1u << 20), text.size());
        EXPECT_EQ(abx::json_text_size(d, text.size()), text.size());
        if (text.size() > 1) {
            EXPECT_GT(abx::json_text_size(d, text.size() - 1), text.size() - 1);
        }
    }
    // A huge string stops the count without being escaped.
    EXPECT_GT(abx::json_text_size(json(std::string(1 << 20, 'x')), 100), 100u);
}

TEST(JsonLimits, DocumentLimits) {
    // {"k": "xxx..."} is 8 bytes plus the string: exactly 65536 bytes passes, one more fails.
    json doc = {{"k", std::string(abx::kMaxDocumentBytes - 8, 'x')}};
    EXPECT_NO_THROW(abx::require_document_limits(doc, "meta"));
    doc["k"] = std::string(abx::kMaxDocumentBytes - 7, 'x');
    expect_error([&] { abx::require_document_limits(doc, "meta"); }, "22023",
                 "invalid meta: must be at most 65536 bytes");
    json deep = json::object();
    for (int i = 1; i < 32; ++i) deep = json{{"d", deep}};  // 32 levels
    EXPECT_NO_THROW(abx::require_document_limits(deep, "context"));
    deep = json{{"d", deep}};
    expect_error([&] { abx::require_document_limits(deep, "context"); }, "22023",
                 "invalid context: must not be nested more than 32 levels deep");
}

}  // namespace
