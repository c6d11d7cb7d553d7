// The messages each delivery channel receives (docs/integrations.md).
#include <openssl/evp.h>

#include <ctime>

#include "abx/delivery.hpp"

namespace abx::delivery {
namespace {

nlohmann::json or_null(const std::optional<std::string>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string text_of(const nlohmann::json& data, const char* key) {
    auto it = data.find(key);
    if (it == data.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// What happened, in words, per event type.
std::string what(const Event& e) {
    const nlohmann::json& d = e.data;
    if (e.type == "experiment.promoted") {
        std::string s = "promoted variant " + text_of(d, "winner");
        if (d.contains("warnings") && d["warnings"].is_array() && !d["warnings"].empty()) {
            s += " with warnings:";
            for (const auto& w : d["warnings"])
                s += " " + (w.is_string() ? w.get<std::string>() : w.dump()) + ";";
            s.pop_back();
        }
        return s;
    }
    if (e.type == "experiment.rolled_back") {
        std::string reason = text_of(d, "reason");
        return "rolled back the promotion of " + text_of(d, "winner") +
               (reason.empty() ? "" : ": " + reason);
    }
    if (e.type == "experiment.approval_requested")
        return "is eligible to promote " + text_of(d, "winner") + " and awaits approval";
    if (e.type == "experiment.approval_rejected")
        return "approval rejected: " + text_of(d, "reason");
    if (e.type == "experiment.status_changed")
        return "status " + text_of(d, "from") + " -> " + text_of(d, "to");
    if (e.type == "experiment.winner_changed")
        return "winner is now " + text_of(d, "winnerVariantKey");
    if (e.type == "experiment.variant_stopped") return "stopped variant " + text_of(d, "variant");
    return e.type;
}

// A header value: as is when ASCII, else an RFC 2047 encoded word (UTF-8, base64).
std::string header_text(const std::string& text) {
    bool ascii = true;
    for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii) return text;
    std::string encoded(4 * ((text.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    encoded.resize(static_cast<std::size_t>(n));
    return "=?UTF-8?B?" + encoded + "?=";
}

std::string approval_link(const Event& e, std::string_view base) {
    if (base.empty() || !e.experiment || e.type != "experiment.approval_requested") return "";
    std::string b(base);
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b + "/ui/#/experiments/" + *e.experiment;
}

}  // namespace

std::string webhook_body(const Event& e) {
    return nlohmann::json{{"id", std::to_string(e.id)},
                          {"type", e.type},
                          {"level", e.level},
                          {"created_at", e.created_at},
                          {"organization", or_null(e.organization)},
                          {"experiment", or_null(e.experiment)},
                          {"data", e.data}}
        .dump();
}

std::string summary(const Event& e, std::string_view level) {
    std::string where = e.experiment ? *e.experiment : std::string("abx");
    if (e.organization) where = *e.organization + "/" + where;
    return "[" + std::string(level) + "] " + where + " " + what(e);
}

nlohmann::json slack_message(const Event& e, std::string_view level,
                             std::string_view approval_base_url) {
    std::string text = summary(e, level);
    std::string link = approval_link(e, approval_base_url);
    if (!link.empty())
        text += " - approve or reject: " + link;
    else if (e.type == "experiment.approval_requested" && e.experiment)
        // No UI configured: the SQL an operator runs (docs/operations.md, "Approval").
        text += " - approve with SELECT abx.approve('" + *e.experiment +
                "') or reject with SELECT abx.reject('" + *e.experiment + "', '<reason>')";
    nlohmann::json blocks = nlohmann::json::array();
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}});
    nlohmann::json note = {
        {"type", "mrkdwn"},
        {"text", "abx event " + std::to_string(e.id) + " (" + e.type + ") at " + e.created_at}};
    nlohmann::json context = {{"type", "context"}, {"elements", nlohmann::json::array({note})}};
    blocks.push_back(context);
    if (!link.empty()) {
        nlohmann::json button = {{"type", "button"},
                                 {"text", {{"type", "plain_text"}, {"text", "Review approval"}}},
                                 {"url", link}};
        blocks.push_back({{"type", "actions"}, {"elements", nlohmann::json::array({button})}});
    }
    return {{"text", text}, {"blocks", blocks}};
}

nlohmann::json pagerduty_event(const Event& e, std::string_view level,
                               std::string_view routing_key) {
    // Events API v2 severities: critical, error, warning, info.
    return {{"routing_key", routing_key},
            {"event_action", "trigger"},
            {"dedup_key", "abx-" + std::to_string(e.id)},
            {"payload",
             {{"summary", summary(e, level).substr(0, 1024)},
              {"severity", level},
              {"source", e.organization ? "abx/" + *e.organization : std::string("abx")},
              {"component", or_null(e.experiment)},
              {"class", e.type},
              {"timestamp", e.created_at},
              {"custom_details", e.data}}}};
}

std::string email_message(const Event& e, std::string_view level, std::string_view from,
                          const std::vector<std::string>& to, std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    std::string recipients;
    for (const std::string& r : to) recipients += (recipients.empty() ? "" : ", ") + r;
    // The subject is one line: the summary without line breaks.
    std::string subject = summary(e, level);
    for (char& c : subject)
        if (c == '\r' || c == '\n') c = ' ';
    std::string body = summary(e, level) + "\r\n\r\nEvent " + std::to_string(e.id) + " (" + e.type +
                       ") at " + e.created_at + "\r\n\r\n" + e.data.dump(2) + "\r\n";
    std::string out;
    out += "Date: " + std::string(date) + "\r\n";
    out += "From: " + std::string(from) + "\r\n";
    out += "To: " + recipients + "\r\n";
    out += "Subject: " + header_text(subject) + "\r\n";
    out += "Message-ID: <abx-event-" + std::to_string(e.id) + "@abx>\r\n";
    out += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    // Body lines never start a line with "." alone (SMTP's end of data; curl dot-stuffs too).
    std::string normalized;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) normalized += '\r';
        normalized += body[i];
    }
    return out + normalized;
}

}  // namespace abx::delivery
