#include "websocket_protocol.hpp"

#include <algorithm>
#include <stdexcept>

namespace abx::http::ws {

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<std::int64_t> optional_id(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) throw std::runtime_error(std::string(key) + " is not an integer");
    return it->get<std::int64_t>();
}
}  // namespace

ClientMessage parse_client_message(std::string_view text) {
    ClientMessage m;
    m.document = nlohmann::json::parse(text, nullptr, false);
    if (m.document.is_discarded()) {
        m.error = "invalid message: not JSON";
        return m;
    }
    if (!m.document.is_object()) {
        m.error = "invalid message: must be a JSON object";
        return m;
    }
    if (auto code = m.document.find("experimentCode");
        code != m.document.end() && code->is_string())
        m.experiment_code = code->get<std::string>();
    auto type = m.document.find("type");
    if (type == m.document.end() || !type->is_string()) {
        m.error = "invalid message.type: must be \"subscribe\" or \"unsubscribe\"";
        return m;
    }
    if (*type == "subscribe") {
        m.kind = ClientMessage::Kind::Subscribe;  // the database checks the rest
    } else if (*type == "unsubscribe") {
        if (m.experiment_code.empty()) {
            m.error = "invalid message.experimentCode: must be a non-empty string";
            return m;
        }
        m.kind = ClientMessage::Kind::Unsubscribe;
    } else {
        m.error = "invalid message.type: must be \"subscribe\" or \"unsubscribe\"";
    }
    return m;
}

std::string error_message(std::string_view code, std::string_view message,
                          std::string_view experiment_code) {
    nlohmann::json j = {{"type", "error"}, {"code", code}, {"message", message}};
    if (!experiment_code.empty()) j["experimentCode"] = experiment_code;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

UpgradeCredentials upgrade_credentials(std::string_view authorization_header,
                                       std::string_view subprotocol_header) {
    if (!authorization_header.empty()) return {std::string(authorization_header), false};
    // "bearer, <token>": the first offered protocol is the scheme, the second the token.
    std::vector<std::string_view> items;
    while (!subprotocol_header.empty()) {
        std::size_t comma = subprotocol_header.find(',');
        items.push_back(trim(subprotocol_header.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        subprotocol_header.remove_prefix(comma + 1);
    }
    for (std::size_t i = 0; i + 1 < items.size(); ++i)
        if (iequals(items[i], "bearer") && !items[i + 1].empty())
            return {"Bearer " + std::string(items[i + 1]), true};
    return {};
}

bool SendQueue::push(std::shared_ptr<const std::string> message) {
    if (items_.size() >= limit_) return false;
    items_.push_back(std::move(message));
    return true;
}

std::shared_ptr<const std::string> SendQueue::pop() {
    if (items_.empty()) return nullptr;
    auto m = std::move(items_.front());
    items_.pop_front();
    return m;
}

bool Subscriptions::add(SessionId session, std::int64_t experiment,
                        std::optional<std::int64_t> organization) {
    if (!by_session_[session].insert(experiment).second) return false;
    by_experiment_[experiment][session] = organization;
    return true;
}

bool Subscriptions::remove(SessionId session, std::int64_t experiment) {
    auto s = by_session_.find(session);
    if (s == by_session_.end() || !s->second.erase(experiment)) return false;
    if (s->second.empty()) by_session_.erase(s);
    auto e = by_experiment_.find(experiment);
    e->second.erase(session);
    if (e->second.empty()) by_experiment_.erase(e);
    return true;
}

void Subscriptions::remove_session(SessionId session) {
    auto s = by_session_.find(session);
    if (s == by_session_.end()) return;
    for (std::int64_t experiment : std::set<std::int64_t>(s->second)) remove(session, experiment);
}

std::vector<Subscriptions::SessionId> Subscriptions::targets(
    std::int64_t experiment, std::optional<std::int64_t> organization) const {
    std::vector<SessionId> out;
    auto e = by_experiment_.find(experiment);
    if (e == by_experiment_.end()) return out;
    for (const auto& [session, org] : e->second)
        if (org == organization) out.push_back(session);
    return out;
}

std::size_t Subscriptions::count(SessionId session) const {
    auto s = by_session_.find(session);
    return s == by_session_.end() ? 0 : s->second.size();
}

void RecentMessages::add(std::int64_t experiment, std::optional<std::int64_t> organization,
                         std::shared_ptr<const std::string> text) {
    items_.push_back({++last_, experiment, organization, std::move(text)});
    if (items_.size() > capacity_) items_.pop_front();
}

std::vector<std::shared_ptr<const std::string>> RecentMessages::since(
    std::uint64_t after, std::int64_t experiment, std::optional<std::int64_t> organization) const {
    std::vector<std::shared_ptr<const std::string>> out;
    for (const Item& i : items_)
        if (i.number > after && i.experiment == experiment && i.organization == organization)
            out.push_back(i.text);
    return out;
}

void OutboxCursor::start(std::int64_t head) {
    started_ = true;
    last_ = head;
    pending_.clear();
}

std::string OutboxCursor::pending_array() const {
    std::string out = "{";
    for (const auto& [id, fence] : pending_) {
        if (out.size() > 1) out += ',';
        out += std::to_string(id);
    }
    return out + "}";
}

std::vector<OutboxCursor::Event> OutboxCursor::take(const Batch& batch) {
    std::vector<Event> out;
    for (const Event& e : batch.events) {
        if (pending_.erase(e.id)) {
            out.push_back(e);
        } else if (e.id > last_) {
            // Every id between the last one and this one is pending, until this snapshot's
            // transactions have ended. Past the bound, the oldest are given up.
            std::int64_t from = std::max(last_ + 1, e.id - static_cast<std::int64_t>(kMaxPending));
            for (std::int64_t skipped = from; skipped < e.id; ++skipped)
                pending_[skipped] = batch.fence;
            last_ = e.id;
            out.push_back(e);
        }
    }
    last_ = std::max(last_, batch.head);
    while (pending_.size() > kMaxPending) pending_.erase(pending_.begin());
    // Asked for in this snapshot and absent, skipped under a snapshot whose transactions have
    // all ended since: it will never appear.
    std::erase_if(pending_, [&](const auto& p) { return p.second <= batch.xmin; });
    std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) { return a.id < b.id; });
    return out;
}

OutboxCursor::Batch OutboxCursor::parse(const nlohmann::json& d) {
    if (!d.is_object() || !d.contains("events") || !d["events"].is_array())
        throw std::runtime_error("feed_since: no events array");
    Batch b;
    for (const auto& e : d["events"]) {
        if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer())
            throw std::runtime_error("feed_since: an event without an integer id");
        b.events.push_back({e["id"].get<std::int64_t>(), optional_id(e, "organizationId"),
                            optional_id(e, "experimentId"), e.value("message", nlohmann::json())});
    }
    auto number = [&](const char* key) {
        if (!d.contains(key) || !d[key].is_number_integer())
            throw std::runtime_error(std::string("feed_since: no integer ") + key);
        return d[key].get<std::int64_t>();
    };
    b.head = number("head");
    b.xmin = static_cast<std::uint64_t>(number("xmin"));
    b.fence = static_cast<std::uint64_t>(number("fence"));
    return b;
}

}  // namespace abx::http::ws
