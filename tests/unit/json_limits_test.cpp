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

}  // namespace
