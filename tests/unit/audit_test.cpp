#include "abx/audit.hpp"

#include <gtest/gtest.h>

using abx::audit::ChainVerifier;
using abx::audit::Digest;
using abx::audit::Entry;
using nlohmann::json;

namespace {

Entry first() {
    Entry e;
    e.seq = 1;
    e.at_us = 1767225600000000;
    e.actor = "alice";
    e.action = "experiment.create";
    e.target = "experiment:1";
    e.change = R"({"after": {"code": "x"}})";
    e.outcome = "ok";
    return e;
}

Entry second() {
    Entry e;
    e.seq = 2;
    e.at_us = 1767225601000000;
    e.actor = "bob";
    e.jwt_subject = "user-7";
    e.organization_id = 3;
    e.action = "experiment.start";
    e.target = "experiment:1";
    e.change = R"({"after": {"status": "running"}, "before": {"status": "draft"}})";
    e.request_id = "req-1";
    e.outcome = "ok";
    return e;
}

// Reference values from Python's hashlib over the documented serialisation:
//   sha256(bytes(32) + canonical(e1)), then sha256(h1 + canonical(e2)).
TEST(AuditChain, HashesMatchAnIndependentReference) {
    Digest h1 = abx::audit::chain_hash(abx::audit::kGenesis, first());
    EXPECT_EQ(abx::audit::to_hex(h1),
              "6422015269131624fbec3f0e3574918ec66d19205a586e464dcf4639ed31a824");
    EXPECT_EQ(abx::audit::to_hex(abx::audit::chain_hash(h1, second())),
              "070d811095c1f38c8d6d1c4c98412f29fb43ba08a8eb56ae0fba5e1630394c78");
}

TEST(AuditChain, CanonicalFormIsUnambiguous) {
    Entry a = first(), b = first();
    a.actor = "al";
    a.action = "iceexperiment.create";
    b.actor = "alice";
    b.action = "experiment.create";
    EXPECT_NE(abx::audit::canonical(a), abx::audit::canonical(b));
    Entry absent = first(), empty = first();
    empty.jwt_subject = "";
    EXPECT_NE(abx::audit::canonical(absent), abx::audit::canonical(empty));
}

struct Stored {
    Entry entry;
    Digest previous, hash;
};

std::vector<Stored> chain(int n) {
    std::vector<Stored> rows;
    Digest previous = abx::audit::kGenesis;
    for (int i = 1; i <= n; ++i) {
        Entry e = first();
        e.seq = i;
        e.target = "experiment:" + std::to_string(i);
        Digest h = abx::audit::chain_hash(previous, e);
        rows.push_back({e, previous, h});
        previous = h;
    }
    return rows;
}

ChainVerifier verify(const std::vector<Stored>& rows, std::optional<std::int64_t> head_seq,
                     std::optional<Digest> head_hash) {
    ChainVerifier v;
    for (const Stored& r : rows)
        if (!v.feed(r.entry, r.previous, r.hash)) break;
    v.finish(head_seq, head_hash);
    return v;
}

TEST(AuditChain, AnIntactChainVerifies) {
    auto rows = chain(5);
    ChainVerifier v = verify(rows, 5, rows.back().hash);
    EXPECT_TRUE(v.ok()) << v.reason();
    EXPECT_EQ(v.checked(), 5);
    EXPECT_TRUE(verify({}, std::nullopt, std::nullopt).ok());
}

TEST(AuditChain, EveryTamperingIsFoundAtItsEntry) {
    auto rows = chain(5);
    auto edited = rows;
    edited[2].entry.actor = "mallory";
    ChainVerifier v = verify(edited, 5, rows.back().hash);
    EXPECT_EQ(v.broken_seq(), 3);
    EXPECT_NE(v.reason().find("was changed"), std::string::npos) << v.reason();

    auto removed = rows;
    removed.erase(removed.begin() + 1);
    v = verify(removed, 5, rows.back().hash);
    EXPECT_EQ(v.broken_seq(), 2);
    EXPECT_NE(v.reason().find("missing"), std::string::npos) << v.reason();

    // Two entries swapped, each renumbered to the other's place.
    auto swapped = rows;
    std::swap(swapped[1], swapped[2]);
    swapped[1].entry.seq = 2;
    swapped[2].entry.seq = 3;
    v = verify(swapped, 5, rows.back().hash);
    EXPECT_EQ(v.broken_seq(), 2);

    auto tail = rows;
    tail.pop_back();
    v = verify(tail, 5, rows.back().hash);
    EXPECT_EQ(v.broken_seq(), 5);
    EXPECT_NE(v.reason().find("deleted"), std::string::npos) << v.reason();
    // A consistent tail deletion (head rewritten too) is invisible without an outside anchor.
    EXPECT_TRUE(verify(tail, 4, tail.back().hash).ok());
}

TEST(AuditChange, OnlyChangedFieldsAndVariantsByKey) {
    json before = json::parse(R"({"name": "a", "coverage": 1, "status": "draft",
        "variants": [{"key": "x", "weight": 1}, {"key": "y", "weight": 1}]})");
    json after = json::parse(R"({"name": "a", "coverage": 0.5, "status": "draft",
        "variants": [{"key": "x", "weight": 0}, {"key": "y", "weight": 1}, {"key": "z", "weight": 2}]})");
    json change = abx::audit::document_change(before, after);
    EXPECT_EQ(change["before"],
              json::parse(R"({"coverage": 1, "variants": {"x": {"key": "x", "weight": 1}}})"));
    EXPECT_EQ(change["after"],
              json::parse(R"({"coverage": 0.5, "variants": {"x": {"key": "x", "weight": 0},
                                                 "z": {"key": "z", "weight": 2}}})"));
}

}  // namespace
