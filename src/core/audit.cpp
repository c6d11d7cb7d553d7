// Hash chain of the audit log: see abx/audit.hpp.
#include "abx/audit.hpp"

#include "abx/error.hpp"

#include <openssl/evp.h>

#include <map>

namespace abx::audit {
namespace {

void field(std::string& out, const char* name, const std::string& value) {
    out += name;
    out += '=';
    out += std::to_string(value.size());
    out += ':';
    out += value;
    out += '\n';
}

void field(std::string& out, const char* name, const std::optional<std::string>& value) {
    if (value) return field(out, name, *value);
    out += name;
    out += "=-\n";
}

std::string seq_text(std::int64_t seq) {
    return std::to_string(seq);
}

}  // namespace

std::string canonical(const Entry& e) {
    std::string out = "abx-audit-v1\n";
    field(out, "seq", std::to_string(e.seq));
    field(out, "at_us", std::to_string(e.at_us));
    field(out, "actor", e.actor);
    field(out, "jwt_subject", e.jwt_subject);
    field(out, "organization_id",
          e.organization_id ? std::optional<std::string>(std::to_string(*e.organization_id))
                            : std::nullopt);
    field(out, "action", e.action);
    field(out, "target", e.target);
    field(out, "change", e.change);
    field(out, "request_id", e.request_id);
    field(out, "outcome", e.outcome);
    field(out, "error_code", e.error_code);
    return out;
}

Digest chain_hash(const Digest& previous, const Entry& entry) {
    const std::string body = canonical(entry);
    Digest out{};
    unsigned int length = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, previous.data(), previous.size()) == 1 &&
              EVP_DigestUpdate(ctx, body.data(), body.size()) == 1 &&
              EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == out.size();
    EVP_MD_CTX_free(ctx);
    if (!ok) throw Error(sqlstate::kInternalError, "SHA-256 of an audit entry failed");
    return out;
}

std::string to_hex(const Digest& digest) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

std::optional<Digest> from_bytes(const std::string& bytes) {
    if (bytes.size() != Digest{}.size()) return std::nullopt;
    Digest d{};
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<unsigned char>(bytes[i]);
    return d;
}

void ChainVerifier::fail(std::int64_t seq, std::string why) {
    if (broken_seq_) return;
    broken_seq_ = seq;
    reason_ = std::move(why);
}

bool ChainVerifier::feed(const Entry& entry, const Digest& stored_previous,
                         const Digest& stored_hash) {
    if (broken_seq_) return false;
    ++checked_;
    const std::int64_t expected = last_seq_ + 1;
    if (entry.seq != expected) {
        if (entry.seq > expected)
            fail(expected, "entry " + seq_text(expected) + " is missing: the log goes from " +
                               seq_text(last_seq_) + " to " + seq_text(entry.seq));
        else
            fail(entry.seq, "entry " + seq_text(entry.seq) + " is out of order (after " +
                                seq_text(last_seq_) + ")");
        return false;
    }
    if (stored_previous != last_hash_) {
        fail(entry.seq, "entry " + seq_text(entry.seq) + " does not follow entry " +
                            seq_text(last_seq_) +
                            ": its previous hash is not that entry's hash (an entry was removed, "
                            "replaced or moved)");
        return false;
    }
    if (chain_hash(last_hash_, entry) != stored_hash) {
        fail(entry.seq,
             "entry " + seq_text(entry.seq) + " was changed: its content does not match its hash");
        return false;
    }
    last_seq_ = entry.seq;
    last_hash_ = stored_hash;
    return true;
}

void ChainVerifier::malformed(std::int64_t seq) {
    fail(seq, "entry " + seq_text(seq) + " has a malformed hash (not 32 bytes)");
}

void ChainVerifier::finish(std::optional<std::int64_t> head_seq,
                           const std::optional<Digest>& head_hash) {
    if (broken_seq_) return;
    const std::int64_t recorded = head_seq.value_or(0);
    if (recorded > last_seq_) {
        fail(last_seq_ + 1, "the log ends at entry " + seq_text(last_seq_) +
                                " but its head records " + seq_text(recorded) +
                                " entries: the entries after " + seq_text(last_seq_) +
                                " were deleted");
    } else if (recorded < last_seq_) {
        fail(recorded + 1, "entries after " + seq_text(recorded) +
                               " are not recorded in the head (appended outside abx)");
    } else if (recorded > 0 && head_hash && *head_hash != last_hash_) {
        fail(last_seq_, "the head's hash does not match entry " + seq_text(last_seq_));
    }
}

nlohmann::json document_change(const nlohmann::json& before, const nlohmann::json& after) {
    nlohmann::json out_before = nlohmann::json::object(), out_after = nlohmann::json::object();
    auto variants_by_key = [](const nlohmann::json& doc) {
        std::map<std::string, nlohmann::json> by_key;
        auto it = doc.find("variants");
        if (it != doc.end() && it->is_array())
            for (const auto& v : *it)
                if (v.is_object() && v.contains("key") && v["key"].is_string())
                    by_key[v["key"].get<std::string>()] = v;
        return by_key;
    };
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json& b = before.is_object() ? before : empty;
    const nlohmann::json& a = after.is_object() ? after : empty;
    for (auto it = b.begin(); it != b.end(); ++it) {
        if (it.key() == "variants") continue;
        auto other = a.find(it.key());
        if (other == a.end())
            out_before[it.key()] = it.value();
        else if (*other != it.value()) {
            out_before[it.key()] = it.value();
            out_after[it.key()] = *other;
        }
    }
    for (auto it = a.begin(); it != a.end(); ++it)
        if (it.key() != "variants" && !b.contains(it.key())) out_after[it.key()] = it.value();

    auto vb = variants_by_key(b), va = variants_by_key(a);
    nlohmann::json vbefore = nlohmann::json::object(), vafter = nlohmann::json::object();
    for (const auto& [key, v] : vb) {
        auto other = va.find(key);
        if (other == va.end() || other->second != v) vbefore[key] = v;
        if (other != va.end() && other->second != v) vafter[key] = other->second;
    }
    for (const auto& [key, v] : va)
        if (!vb.count(key)) vafter[key] = v;
    if (!vbefore.empty()) out_before["variants"] = vbefore;
    if (!vafter.empty()) out_after["variants"] = vafter;
    return {{"before", out_before}, {"after", out_after}};
}

}  // namespace abx::audit
