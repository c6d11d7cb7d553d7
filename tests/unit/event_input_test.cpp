#include "abx/event_input.hpp"

#include "abx/error.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace {

using abx::EventInput;
using abx::EventLimits;
using abx::parse_rfc3339_micros;
using nlohmann::json;

constexpr std::int64_t kSecond = 1'000'000;

// --- RFC 3339 -------------------------------------------------------------------------------
// Expected values were computed independently with GNU date / python, e.g.
//   date -u -d '2026-11-22T10:00:00+02:00' +%s                        -> 1795334400

TEST(Rfc3339Test, Epoch) {
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:01Z"), kSecond);
}

TEST(Rfc3339Test, OffsetsAndSeparators) {
    // date -u -d '2026-11-22T10:00:00+02:00' +%s -> 1795334400
    const std::int64_t expected = 1795334400 * kSecond;
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T10:00:00+02:00"), expected);
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T08:00:00Z"), expected);
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22t08:00:00z"), expected);
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22 08:00:00Z"), expected);
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T08:00:00+00:00"), expected);
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T08:00:00-00:00"), expected);
    // date -u -d '2026-11-22 08:00:00-05:30' +%s -> 1795354200
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22 08:00:00-05:30"), 1795354200 * kSecond);
    // python3: (datetime(2026,11,22,10,tzinfo=timezone(timedelta(hours=23,minutes=59)))
    //           - datetime(1970,1,1,tzinfo=timezone.utc)) // timedelta(microseconds=1)
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T10:00:00+23:59"), 1795255260000000);
}

TEST(Rfc3339Test, FractionalSeconds) {
    // python3: (datetime(2026,11,22,10,0,0,123456,tzinfo=timezone(timedelta(hours=2)))
    //           - datetime(1970,1,1,tzinfo=timezone.utc)) // timedelta(microseconds=1)
    EXPECT_EQ(parse_rfc3339_micros("2026-11-22T10:00:00.123456+02:00"), 1795334400123456);
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.5Z"), 500000);
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.000001Z"), 1);
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.120Z"), 120000);
    // more than 6 digits are truncated, never rounded
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.123456789Z"), 123456);
    EXPECT_EQ(parse_rfc3339_micros("1970-01-01T00:00:00.9999999Z"), 999999);
    // date -u -d '1969-12-31T23:59:59Z' +%s -> -1
    EXPECT_EQ(parse_rfc3339_micros("1969-12-31T23:59:59.5Z"), -kSecond + 500000);
}

TEST(Rfc3339Test, LeapDays) {
    // date -u -d '2024-02-29T12:00:00Z' +%s -> 1709208000
    EXPECT_EQ(parse_rfc3339_micros("2024-02-29T12:00:00Z"), 1709208000 * kSecond);
    // date -u -d '2000-02-29T00:00:00Z' +%s -> 951782400 (divisible by 400: leap)
    EXPECT_EQ(parse_rfc3339_micros("2000-02-29T00:00:00Z"), 951782400 * kSecond);
    expect_error([] { parse_rfc3339_micros("2023-02-29T12:00:00Z"); }, "22007", "day");
    expect_error([] { parse_rfc3339_micros("1900-02-29T00:00:00Z"); }, "22007", "day");
    expect_error([] { parse_rfc3339_micros("2024-02-30T00:00:00Z"); }, "22007", "day");
}

TEST(Rfc3339Test, RangeEnds) {
    // date -u -d '0001-01-01T00:00:00Z' +%s -> -62135596800
    EXPECT_EQ(parse_rfc3339_micros("0001-01-01T00:00:00Z"), -62135596800 * kSecond);
    // date -u -d '9999-12-31T23:59:59Z' +%s -> 253402300799
    EXPECT_EQ(parse_rfc3339_micros("9999-12-31T23:59:59.999999Z"), 253402300799 * kSecond + 999999);
    EXPECT_EQ(parse_rfc3339_micros("2026-12-31T23:59:59Z") + kSecond,
              parse_rfc3339_micros("2027-01-01T00:00:00Z"));
    EXPECT_EQ(parse_rfc3339_micros("2026-04-30T00:00:00Z") + 86400 * kSecond,
              parse_rfc3339_micros("2026-05-01T00:00:00Z"));
}

TEST(Rfc3339Test, RejectsMalformedText) {
    const char* bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T10:00Z",             // seconds are required
        "2026-11-22T10:00:00",           // offset is required
        "2026-11-22T10:00:00.Z",         // fraction without digits
        "2026-11-22T10:00:00+0200",      // offset without colon
        "2026-11-22T10:00:00+02",        // offset without minutes
        "2026-11-22T10:00:00+2:00",      //
        "2026-11-22X10:00:00Z",          // bad separator
        "2026-11-22T10:00:00Z ",         // trailing text
        " 2026-11-22T10:00:00Z",         // leading text
        "2026-11-22T10:00:00ZZ",         //
        "2026-1-22T10:00:00Z",           // one-digit month
        "26-11-22T10:00:00Z",            //
        "+2026-11-22T10:00:00Z",         //
        "2026-11-22T1:00:00Z",           //
        "2026-11-22T10:00:00,5Z",        // comma fraction
        "2026/11/22T10:00:00Z",          //
        "2026-11-22T10:00:00+02:00:00",  //
        "2026-11-22T10:00:00 +02:00",    //
        "now",
    };
    for (const char* text : bad) {
        SCOPED_TRACE(text);
        expect_error([&] { parse_rfc3339_micros(text); }, "22007", "not an RFC 3339 timestamp");
    }
}

TEST(Rfc3339Test, RejectsOutOfRangeFields) {
    const char* bad[] = {
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",      "2026-11-00T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-32T00:00:00Z",      "2026-11-22T24:00:00Z",
        "2026-11-22T10:60:00Z", "2026-11-22T10:00:60Z",  // leap second refused
        "2026-12-31T23:59:60Z", "2026-11-22T10:00:00+24:00", "2026-11-22T10:00:00-02:60",
    };
    for (const char* text : bad) {
        SCOPED_TRACE(text);
        expect_error([&] { parse_rfc3339_micros(text); }, "22007", "out of range");
    }
}

// --- validate_event -------------------------------------------------------------------------

EventLimits limits() {
    EventLimits l;
    l.now_us = 1795334400 * kSecond;  // 2026-11-22T08:00:00Z
    l.max_future_us = 300 * kSecond;
    return l;
}

EventInput good_event() {
    EventInput e;
    e.experiment = "checkout_button_color";
    e.subject = "user_123";
    e.event_key = "conversion";
    e.value = 49.99;
    e.ts_us = limits().now_us - 60 * kSecond;
    e.meta = {{"source", "web"}};
    e.idempotency_key = "evt-1";
    return e;
}

void expect_invalid_event(const EventInput& e, const std::string& field) {
    expect_error([&] { abx::validate_event(e, limits()); }, "22023", "invalid " + field + ":");
}

TEST(EventInputTest, ValidEventPasses) {
    EXPECT_NO_THROW(abx::validate_event(good_event(), limits()));
    EventInput e = good_event();
    e.ts_us.reset();
    e.idempotency_key.reset();
    e.event_key = "checkout:step-2.done_";
    e.subject = std::string(256, 's');
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
}

TEST(EventInputTest, InvalidFieldsAreNamed) {
    EventInput e = good_event();
    e.experiment.clear();
    expect_invalid_event(e, "experiment");

    e = good_event();
    e.subject.clear();
    expect_invalid_event(e, "subject");
    e.subject = std::string(257, 's');
    expect_invalid_event(e, "subject");

    const std::string bad_keys[] = {"", "has space", "\xc3\xa9", "a/b", std::string(65, 'k')};
    for (const std::string& key : bad_keys) {
        e = good_event();
        e.event_key = key;
        SCOPED_TRACE(key);
        expect_invalid_event(e, "event");
    }
    e.event_key = std::string(64, 'k');
    EXPECT_NO_THROW(abx::validate_event(e, limits()));

    for (double v : {std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity(), std::nan("")}) {
        e = good_event();
        e.value = v;
        expect_error([&] { abx::validate_event(e, limits()); }, "22003", "invalid value:");
    }

    e = good_event();
    e.idempotency_key = "";
    expect_invalid_event(e, "idempotency_key");
    e.idempotency_key = std::string(201, 'i');
    expect_invalid_event(e, "idempotency_key");
    e.idempotency_key = std::string(200, 'i');
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
    std::string accented;  // 200 two-byte characters: 400 bytes, 200 characters
    for (int i = 0; i < 200; ++i) accented += "\xc3\xa9";
    e.idempotency_key = accented;
    EXPECT_NO_THROW(abx::validate_event(e, limits()));

    e = good_event();
    e.meta = json::array();
    expect_error([&] { abx::validate_event(e, limits()); }, "22P02", "invalid meta:");
}

TEST(EventInputTest, ValueRange) {
    const std::string why = "invalid value: must be 0 or have a magnitude between 1e-15 and 1e15";
    for (double v : {0.0, -0.0, 1e-15, -1e-15, 1e15, -1e15, 1.0, 49.99, -3.5}) {
        EventInput e = good_event();
        e.value = v;
        SCOPED_TRACE(v);
        EXPECT_NO_THROW(abx::validate_event(e, limits()));
    }
    for (double v : {1e15 * (1 + 1e-15), -1.0000001e15, 9.99e-16, -1e-300, 5e-324, 1e300,
                     std::numeric_limits<double>::infinity(), std::nan("")}) {
        EventInput e = good_event();
        e.value = v;
        SCOPED_TRACE(v);
        expect_error([&] { abx::validate_event(e, limits()); }, "22003", why);
    }
    // Why the range: 10^9 squares of the largest value stay finite, of the smallest stay normal.
    EXPECT_TRUE(std::isfinite(1e9 * (1e15 * 1e15)));
    EXPECT_TRUE(std::isnormal(1e-15 * 1e-15));
}

TEST(EventInputTest, SubjectIsOneTo256Bytes) {
    EXPECT_NO_THROW(abx::validate_subject("u"));
    EXPECT_NO_THROW(abx::validate_subject(std::string(256, 's')));
    std::string accented;  // 128 two-byte characters: 256 bytes
    for (int i = 0; i < 128; ++i) accented += "\xc3\xa9";
    EXPECT_NO_THROW(abx::validate_subject(accented));
    expect_error([&] { abx::validate_subject(accented + "x"); }, "22023",
                 "invalid subject: must be at most 256 bytes");
    expect_error([] { abx::validate_subject(""); }, "22023", "invalid subject: must not be empty");
    expect_error([] { abx::validate_subject("", "events[2].subject"); }, "22023",
                 "invalid events[2].subject:");
}

TEST(EventInputTest, MetaLimits) {
    EventInput e = good_event();
    e.meta = {{"k", std::string(65536 - 8, 'x')}};  // exactly 65536 bytes of JSON text
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
    e.meta["k"] = std::string(65536 - 7, 'x');
    expect_error([&] { abx::validate_event(e, limits()); }, "22023",
                 "invalid meta: must be at most 65536 bytes");
    json deep = json::object();
    for (int i = 1; i < 32; ++i) deep = json{{"d", deep}};
    e.meta = deep;  // 32 levels
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
    e.meta = json{{"d", deep}};
    expect_error([&] { abx::validate_event(e, limits()); }, "22023",
                 "invalid meta: must not be nested more than 32 levels deep");
    e.meta = {{"price", NAN}};
    expect_error([&] { abx::validate_event(e, limits()); }, "22003",
                 "invalid meta.price: number is out of range for double precision");
}

TEST(EventInputTest, FutureSkewIsLimited) {
    EventInput e = good_event();
    e.ts_us = limits().now_us + 300 * kSecond;  // exactly at the limit
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
    e.ts_us = limits().now_us + 300 * kSecond + 1;
    expect_error([&] { abx::validate_event(e, limits()); }, "22008",
                 "invalid ts: is more than 300 s in the future");
    e.ts_us = std::numeric_limits<std::int64_t>::max();
    expect_error([&] { abx::validate_event(e, limits()); }, "22008", "invalid ts:");
    EventLimits strict = limits();
    strict.max_future_us = 0;
    e.ts_us = strict.now_us + 1;
    expect_error([&] { abx::validate_event(e, strict); }, "22008", "invalid ts:");
}

TEST(EventInputTest, TimestampsStartIn2000) {
    EventInput e = good_event();
    e.ts_us = parse_rfc3339_micros("2000-01-01T00:00:00Z");  // the first accepted instant
    EXPECT_EQ(*e.ts_us, abx::kMinEventTsUs);
    EXPECT_NO_THROW(abx::validate_event(e, limits()));
    e.ts_us = *e.ts_us - 1;
    expect_error([&] { abx::validate_event(e, limits()); }, "22008",
                 "invalid ts: must not be before 2000-01-01");
    e.ts_us = std::numeric_limits<std::int64_t>::min();
    expect_error([&] { abx::validate_event(e, limits()); }, "22008", "invalid ts:");
    // A batch item names its path; the parser itself still reads any year for other callers.
    expect_error(
        [] {
            abx::parse_event_item({{"event", "v"}, {"ts", "1999-12-31T23:59:59Z"}}, 3, limits());
        },
        "22008", "invalid events[3].ts: must not be before 2000-01-01");
    EXPECT_EQ(parse_rfc3339_micros("1999-12-31T23:59:59Z"), abx::kMinEventTsUs - kSecond);
}

// --- parse_event_item -----------------------------------------------------------------------

EventInput item(const json& j, std::size_t index = 3) {
    return abx::parse_event_item(j, index, limits());
}

void expect_item_error(const json& j, const std::string& sqlstate, const std::string& field) {
    expect_error([&] { item(j); }, sqlstate, "invalid events[3]" + field + ":");
}

TEST(EventInputTest, ParsesFullItem) {
    auto e = item(json::parse(R"({
        "experiment": "checkout_button_color", "subject": "user_123", "event": "conversion",
        "value": 49.99, "ts": "2026-11-22T10:00:00+02:00", "meta": {"page": "checkout"},
        "idempotency_key": "k1", "organization": "org-1"
    })"));
    EXPECT_EQ(e.experiment, "checkout_button_color");
    EXPECT_EQ(e.subject, "user_123");
    EXPECT_EQ(e.event_key, "conversion");
    EXPECT_DOUBLE_EQ(e.value, 49.99);
    ASSERT_TRUE(e.ts_us);
    EXPECT_EQ(*e.ts_us, 1795334400 * kSecond);
    EXPECT_EQ(e.meta, json({{"page", "checkout"}}));
    EXPECT_EQ(e.idempotency_key, "k1");
    EXPECT_EQ(e.organization, "org-1");
}

TEST(EventInputTest, ItemDefaults) {
    auto e = item({{"event", "view"}});
    EXPECT_EQ(e.experiment, "");  // left for the caller to fill in
    EXPECT_EQ(e.subject, "");
    EXPECT_DOUBLE_EQ(e.value, 1.0);
    EXPECT_FALSE(e.ts_us);
    EXPECT_EQ(e.meta, json::object());
    EXPECT_FALSE(e.idempotency_key);
    EXPECT_FALSE(e.organization);
    // once defaults are known, validate_event requires them
    expect_error([&] { abx::validate_event(e, limits()); }, "22023", "invalid experiment:");
    e = item({{"event", "view"}, {"organization", nullptr}, {"ts", nullptr}, {"meta", nullptr}});
    EXPECT_FALSE(e.organization);
    EXPECT_FALSE(e.ts_us);
    EXPECT_EQ(e.meta, json::object());
    EXPECT_DOUBLE_EQ(e.value, 1.0);
    // An explicit null value is refused, like abx.track(..., value => NULL).
    expect_error(
        [] {
            item({{"event", "view"}, {"value", nullptr}});
        },
        "22004", "events[3].value must not be null");
    expect_error([] { item({{"event", nullptr}}); }, "22004", "events[3].event must not be null");
}

TEST(EventInputTest, NumericSubjectBecomesDecimalString) {
    EXPECT_EQ(item({{"event", "view"}, {"subject", 12345}}).subject, "12345");
    EXPECT_EQ(item({{"event", "view"}, {"subject", -7}}).subject, "-7");
    EXPECT_EQ(item({{"event", "view"}, {"subject", std::uint64_t{18446744073709551615u}}}).subject,
              "18446744073709551615");
    expect_item_error({{"event", "view"}, {"subject", 1.5}}, "22P02", ".subject");
    expect_item_error({{"event", "view"}, {"subject", true}}, "22P02", ".subject");
}

TEST(EventInputTest, ItemErrorsNameThePath) {
    expect_item_error(json::array(), "22P02", "");
    expect_item_error("conversion", "22P02", "");
    expect_item_error({{"event", "view"}, {"event_type", "x"}}, "22023", ".event_type");
    expect_item_error({{"value", 1}}, "22023", ".event");
    expect_item_error({{"event", 5}}, "22P02", ".event");
    expect_item_error({{"event", "has space"}}, "22023", ".event");
    expect_item_error({{"event", "view"}, {"experiment", ""}}, "22023", ".experiment");
    expect_item_error({{"event", "view"}, {"experiment", 1}}, "22P02", ".experiment");
    expect_item_error({{"event", "view"}, {"subject", ""}}, "22023", ".subject");
    expect_item_error({{"event", "view"}, {"subject", std::string(257, 's')}}, "22023", ".subject");
    expect_item_error({{"event", "view"}, {"value", "12"}}, "22P02", ".value");
    expect_item_error({{"event", "view"}, {"ts", 1795334400}}, "22P02", ".ts");
    expect_item_error({{"event", "view"}, {"ts", "2023-02-29T00:00:00Z"}}, "22007", ".ts");
    expect_item_error({{"event", "view"}, {"ts", "2026-11-22T08:05:01Z"}}, "22008", ".ts");
    expect_item_error({{"event", "view"}, {"value", 1e16}}, "22003", ".value");
    expect_item_error({{"event", "view"}, {"value", -1e-16}}, "22003", ".value");
    expect_item_error({{"event", "view"}, {"value", true}}, "22P02", ".value");
    expect_item_error({{"event", "view"}, {"meta", {{"k", std::string(65536, 'x')}}}}, "22023",
                      ".meta");
    expect_item_error({{"event", "view"}, {"meta", json::array()}}, "22P02", ".meta");
    expect_item_error({{"event", "view"}, {"meta", "x"}}, "22P02", ".meta");
    expect_item_error({{"event", "view"}, {"idempotency_key", ""}}, "22023", ".idempotency_key");
    expect_item_error({{"event", "view"}, {"idempotency_key", 3}}, "22P02", ".idempotency_key");
    expect_item_error({{"event", "view"}, {"organization", 3}}, "22P02", ".organization");
    expect_error(
        [] {
            item({{"event", "view"}, {"ts", "yesterday"}});
        },
        "22007", "invalid events[3].ts: not an RFC 3339 timestamp");
    expect_error(
        [] {
            abx::parse_event_item({{"event", "view"}, {"value", "x"}}, 0, limits());
        },
        "22P02", "invalid events[0].value:");
    // exactly at the skew limit is accepted
    EXPECT_NO_THROW(item({{"event", "view"}, {"ts", "2026-11-22T08:05:00Z"}}));
    EXPECT_DOUBLE_EQ(item({{"event", "view"}, {"value", 0}}).value, 0.0);
    EXPECT_DOUBLE_EQ(item({{"event", "view"}, {"value", -1e15}}).value, -1e15);
}

// The glue reads a number that did not fit a double (1e999 is valid jsonb) as NaN; anywhere in an
// item it is refused naming its path.
TEST(EventInputTest, ItemNumbersThatDidNotFitAreOutOfRange) {
    const std::pair<const char*, const char*> cases[] = {
        {"/value", "events[2].value"},
        {"/meta/price", "events[2].meta.price"},
        {"/meta/cart/1", "events[2].meta.cart[1]"},
        {"/subject", "events[2].subject"},
    };
    for (const auto& [pointer, path] : cases) {
        SCOPED_TRACE(path);
        json j = json::parse(R"({"event": "buy", "value": 3, "subject": 7,
                                 "meta": {"price": 1, "cart": [1, 2]}})");
        j[json::json_pointer(pointer)] = NAN;
        expect_error(
            [&] { abx::parse_event_item(j, 2, limits()); }, "22003",
            std::string("invalid ") + path + ": number is out of range for double precision");
    }
}

// --- batch_items ----------------------------------------------------------------------------

TEST(EventInputTest, BatchShapes) {
    const json array = json::parse(R"([{"event": "a"}, {"event": "b"}])");
    EXPECT_EQ(&abx::batch_items(array), &array);
    const json wrapped = json::parse(R"({"events": [{"event": "a"}]})");
    EXPECT_EQ(&abx::batch_items(wrapped), &wrapped["events"]);
    EXPECT_EQ(abx::batch_items(json::array()).size(), 0u);

    const std::pair<const char*, const char*> bad[] = {
        {R"({"events": {"event": "a"}})", "22P02"},
        {R"({"events": "x"})", "22P02"},
        {R"("x")", "22P02"},
        {R"("events")", "22P02"},
        {R"(3)", "22P02"},
        {R"(true)", "22P02"},
        {R"({"events": [], "extra": 1})", "22023"},
        {R"({"event": "a"})", "22023"},
        {R"({})", "22023"},
    };
    for (const auto& [text, code] : bad) {
        SCOPED_TRACE(text);
        expect_error([&] { abx::batch_items(json::parse(text)); }, code, "invalid events:");
    }
    for (const char* text : {R"(null)", R"({"events": null})"}) {
        SCOPED_TRACE(text);
        expect_error([&] { abx::batch_items(json::parse(text)); }, "22004",
                     "events must not be null");
    }
}

}  // namespace
