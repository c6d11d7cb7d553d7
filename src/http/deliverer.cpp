#include "deliverer.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "abx/delivery.hpp"

namespace abx::http {

namespace {
using nlohmann::json;

std::string curl_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* out = nullptr;
    if (curl_url_get(u, part, &out, flags) != CURLUE_OK || out == nullptr) return "";
    std::string s(out);
    curl_free(out);
    return s;
}
}  // namespace

OutboundCheck check_outbound(const std::string& url, bool allow_private) {
    OutboundCheck out;
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        out.reason = "refused: the URL cannot be parsed";
        return out;
    }
    std::string scheme = curl_part(u.get(), CURLUPART_SCHEME);
    if (scheme != "http" && scheme != "https" && scheme != "smtp" && scheme != "smtps") {
        out.reason = "refused: only http, https, smtp and smtps URLs are delivered to";
        return out;
    }
    if (!curl_part(u.get(), CURLUPART_USER).empty()) {
        out.reason = "refused: the URL carries a user name";
        return out;
    }
    std::string host = curl_part(u.get(), CURLUPART_HOST);
    std::string port = curl_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    std::string bare = host;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
        bare = bare.substr(1, bare.size() - 2);
    if (bare.empty()) {
        out.reason = "refused: the URL names no host";
        return out;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(bare.c_str(), port.c_str(), &hints, &found); rc != 0) {
        out.reason = "cannot resolve " + bare + ": " + gai_strerror(rc);
        return out;
    }
    std::vector<std::string> addresses;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* where =
            a->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (inet_ntop(a->ai_family, where, text, sizeof text) == nullptr) continue;
        std::string address(text);
        bool seen = false;
        for (const std::string& s : addresses) seen = seen || s == address;
        if (!seen) addresses.push_back(address);
    }
    freeaddrinfo(found);
    if (addresses.empty()) {
        out.reason = "cannot resolve " + bare + ": no address";
        return out;
    }
    // Every address must be allowed: a name resolving to a public and a private address is one
    // a rebinding attacker controls.
    for (const std::string& a : addresses) {
        delivery::AddressClass c = delivery::classify_address(a);
        if (c != delivery::AddressClass::Public && !allow_private) {
            out.reason = "refused: " + bare + " resolves to " + a + ", a " +
                         std::string(delivery::address_class_name(c)) +
                         " address (outbound_allow_private is off)";
            return out;
        }
    }
    // The checked addresses are the ones connected to (no second lookup to rebind).
    if (delivery::classify_address(bare) == delivery::AddressClass::Invalid) {
        out.resolve = bare + ":" + port + ":";
        for (std::size_t i = 0; i < addresses.size(); ++i) {
            bool v6 = addresses[i].find(':') != std::string::npos;
            out.resolve += (i ? "," : "") + (v6 ? "[" + addresses[i] + "]" : addresses[i]);
        }
    }
    out.allowed = true;
    return out;
}

namespace {

// One attempt of one delivery: the request and, once done, its outcome.
struct Transfer {
    std::int64_t delivery_id = 0;
    int attempt = 0;
    std::string target;
    bool mail = false;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    curl_slist* resolve = nullptr;
    curl_slist* recipients = nullptr;
    std::string body;
    std::size_t sent = 0;
    std::string response;
    char error[CURL_ERROR_SIZE] = {};
    // Outcome: delivered | failed | refused; empty while in flight.
    std::string outcome;
    long http_status = 0;
    std::string message;

    ~Transfer() {
        if (easy) curl_easy_cleanup(easy);
        curl_slist_free_all(headers);
        curl_slist_free_all(resolve);
        curl_slist_free_all(recipients);
    }
};

// The start of a receiver's answer, for last_error: printable ASCII only (anything else, a NUL or
// bytes that are not UTF-8, would make the report itself fail, and the delivery never settle).
std::size_t keep_response(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::size_t bytes = size * n;
    for (std::size_t i = 0; i < bytes && t->response.size() < 512; ++i) {
        char c = data[i];
        t->response += (c >= 0x20 && c < 0x7f) ? c : ' ';
    }
    return bytes;
}

std::size_t read_body(char* buffer, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::size_t bytes = std::min(size * n, t->body.size() - t->sent);
    std::memcpy(buffer, t->body.data() + t->sent, bytes);
    t->sent += bytes;
    return bytes;
}

std::string text_or(const json& j, const char* key, const std::string& fallback = "") {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

delivery::Event event_of(const json& e) {
    delivery::Event ev;
    ev.id = e.at("id").get<std::int64_t>();
    ev.type = e.at("type").get<std::string>();
    ev.level = e.at("level").get<std::string>();
    ev.created_at = e.at("created_at").get<std::string>();
    if (e.contains("organization") && e["organization"].is_string())
        ev.organization = e["organization"];
    if (e.contains("experiment") && e["experiment"].is_string()) ev.experiment = e["experiment"];
    ev.data = e.value("data", json::object());
    return ev;
}

// The transfer of one claimed delivery, ready for the multi handle, or already refused.
std::unique_ptr<Transfer> prepare(const json& claim, const Config& config) {
    auto t = std::make_unique<Transfer>();
    t->delivery_id = claim.at("delivery_id").get<std::int64_t>();
    t->attempt = claim.at("attempt").get<int>();
    const json& target = claim.at("target");
    t->target = text_or(target, "name");
    std::string kind = text_or(target, "kind"), url = text_or(target, "url");
    std::string secret = text_or(target, "secret");
    delivery::Event ev = event_of(claim.at("event"));
    std::string level = delivery::route(ev.type, ev.level).level;

    bool mail = t->mail = kind == "email";
    if (!mail) {
        if (auto problem = delivery::url_problem(url)) {
            t->outcome = "refused";
            t->message = "refused: the URL " + *problem;
            return t;
        }
    } else if (url.rfind("smtp://", 0) != 0 && url.rfind("smtps://", 0) != 0) {
        t->outcome = "refused";
        t->message = "refused: an email target's URL must be smtp:// or smtps://";
        return t;
    }
    OutboundCheck check = check_outbound(url, config.outbound_allow_private);
    if (!check.allowed) {
        // A refusal is final (dead letter); a name that does not resolve may resolve later.
        t->outcome = check.reason.rfind("refused", 0) == 0 ? "refused" : "failed";
        t->message = check.reason;
        return t;
    }

    CURL* c = t->easy = curl_easy_init();
    if (c == nullptr) {
        t->outcome = "failed";
        t->message = "curl_easy_init failed";
        return t;
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, mail ? "smtp,smtps" : "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could lead anywhere
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(config.deliver_timeout_ms, 5000)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config.deliver_timeout_ms));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(c, CURLOPT_PRIVATE, t.get());
    if (!check.resolve.empty()) {
        t->resolve = curl_slist_append(nullptr, check.resolve.c_str());
        curl_easy_setopt(c, CURLOPT_RESOLVE, t->resolve);
    }

    if (mail) {
        const json& settings = target.contains("settings") ? target["settings"] : json::object();
        std::vector<std::string> to;
        for (const auto& r : settings.value("to", json::array()))
            to.push_back(r.get<std::string>());
        std::string from = text_or(settings, "from");
        t->body = delivery::email_message(ev, level, from, to, std::time(nullptr));
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str());
        for (const std::string& r : to)
            t->recipients = curl_slist_append(t->recipients, ("<" + r + ">").c_str());
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, t->recipients);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c, CURLOPT_READDATA, t.get());
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
        // STARTTLS when offered; required when a password would cross the connection.
        std::string user = text_or(settings, "username");
        curl_easy_setopt(c, CURLOPT_USE_SSL,
                         static_cast<long>(user.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL));
        if (!user.empty()) {
            curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
            curl_easy_setopt(c, CURLOPT_PASSWORD, secret.c_str());
        }
        return t;
    }

    std::vector<std::string> headers = {"Content-Type: application/json",
                                        "User-Agent: abx-http/" + config.version, "Expect:"};
    if (kind == "webhook") {
        t->body = delivery::webhook_body(ev);
        headers.push_back("abx-event-id: " + std::to_string(ev.id));
        headers.push_back("abx-event-type: " + ev.type);
        headers.push_back("abx-delivery-id: " + std::to_string(t->delivery_id));
        headers.push_back("abx-delivery-attempt: " + std::to_string(t->attempt));
        headers.push_back("abx-signature: " +
                          delivery::signature(secret, std::time(nullptr), t->body));
    } else if (kind == "slack") {
        t->body = delivery::slack_message(ev, level, config.approval_base_url).dump();
    } else {  // pagerduty
        t->body = delivery::pagerduty_event(ev, level, secret).dump();
    }
    for (const std::string& h : headers) t->headers = curl_slist_append(t->headers, h.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_response);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t.get());
    return t;
}

void finish(Transfer& t, CURLcode rc) {
    bool mail = t.mail;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.http_status);
    if (rc != CURLE_OK) {
        t.outcome = "failed";
        t.message =
            std::string(curl_easy_strerror(rc)) + (t.error[0] ? std::string(": ") + t.error : "");
    } else if (mail || (t.http_status >= 200 && t.http_status < 300)) {
        t.outcome = "delivered";
    } else {
        t.outcome = "failed";
        t.message =
            "HTTP " + std::to_string(t.http_status) +
            (t.http_status >= 300 && t.http_status < 400 ? " (redirects are not followed)" : "") +
            (t.response.empty() ? "" : ": " + t.response);
    }
    if (mail) t.http_status = 0;
}

// Sends the prepared transfers concurrently; returns when all are done or on stop.
void send_all(std::vector<std::unique_ptr<Transfer>>& transfers,
              const std::atomic<bool>& stopping) {
    CURLM* multi = curl_multi_init();
    int running = 0;
    for (auto& t : transfers)
        if (t->outcome.empty()) curl_multi_add_handle(multi, t->easy), ++running;
    while (running > 0 && !stopping) {
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
            finish(*t, m->data.result);
        }
        if (running > 0) curl_multi_poll(multi, nullptr, 0, 200, nullptr);
    }
    for (auto& t : transfers)
        if (t->easy) curl_multi_remove_handle(multi, t->easy);
    curl_multi_cleanup(multi);
}

std::string log_time() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

Deliverer::Deliverer(const Config& config) : config_(config) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    worker_ = std::string(host) + ":" + std::to_string(getpid());
}

Deliverer::~Deliverer() {
    stop();
    if (wake_[0] >= 0) close(wake_[0]), close(wake_[1]);
}

void Deliverer::start() {
    curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread uses curl
    if (pipe(wake_) != 0) throw std::runtime_error("deliverer: pipe failed");
    thread_ = std::thread([this] { run(); });
}

void Deliverer::stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    char b = 1;
    [[maybe_unused]] auto n = write(wake_[1], &b, 1);
    thread_.join();
}

void Deliverer::run() {
    PGconn* conn = nullptr;
    auto close_conn = [&conn] {
        if (conn) PQfinish(conn);
        conn = nullptr;
    };
    auto wait = [this](int fd, int ms) {
        pollfd fds[2] = {{wake_[0], POLLIN, 0}, {fd, POLLIN, 0}};
        poll(fds, fd >= 0 ? 2 : 1, ms);
    };
    std::string batch = std::to_string(config_.deliver_batch);
    std::string lease = std::to_string(config_.deliver_lease_seconds);
    int backoff_ms = 500;
    while (!stopping_) {
        if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
            close_conn();
            conn = PQconnectdb(config_.db_uri.c_str());
            if (PQstatus(conn) != CONNECTION_OK) {
                std::cerr << log_time()
                          << " abx-http deliverer: cannot connect: " << PQerrorMessage(conn);
                close_conn();
                wait(-1, backoff_ms);
                backoff_ms = std::min(backoff_ms * 2, 10000);
                continue;
            }
            backoff_ms = 500;
            // The deliverer's functions are abx_gateway's; the login role is a member of it.
            PQclear(PQexec(conn, "SET application_name = 'abx-http deliverer'"));
            PQclear(PQexec(conn, "SET ROLE abx_gateway"));
            PQclear(PQexec(conn, "LISTEN abx_outbox"));
        }
        const char* params[3] = {worker_.c_str(), batch.c_str(), lease.c_str()};
        PGresult* r =
            PQexecParams(conn, "SELECT abx.claim_deliveries($1, $2::integer, $3::integer)", 3,
                         nullptr, params, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            std::cerr << log_time()
                      << " abx-http deliverer: claim failed: " << PQresultErrorMessage(r);
            PQclear(r);
            wait(-1, backoff_ms);
            backoff_ms = std::min(backoff_ms * 2, 10000);
            continue;
        }
        json claimed = json::parse(PQgetvalue(r, 0, 0), nullptr, false);
        PQclear(r);
        if (!claimed.is_array() || claimed.empty()) {
            // Nothing due: sleep until a NOTIFY (a new event) or the next poll (due retries).
            // A NOTIFY read along with the claim's result is already queued: claim again.
            auto drain = [&conn] {
                bool any = false;
                PQconsumeInput(conn);
                while (PGnotify* n = PQnotifies(conn)) PQfreemem(n), any = true;
                return any;
            };
            if (!drain()) {
                wait(PQsocket(conn), config_.deliver_poll_ms);
                drain();
            }
            continue;
        }
        std::vector<std::unique_ptr<Transfer>> transfers;
        for (const json& c : claimed) {
            try {
                transfers.push_back(prepare(c, config_));
            } catch (const std::exception& e) {
                auto t = std::make_unique<Transfer>();
                t->delivery_id = c.value("delivery_id", std::int64_t{0});
                t->attempt = c.value("attempt", 0);
                t->outcome = "failed";
                t->message = std::string("cannot prepare the delivery: ") + e.what();
                transfers.push_back(std::move(t));
            }
        }
        send_all(transfers, stopping_);
        for (auto& t : transfers) {
            if (t->outcome.empty()) continue;  // stopped in flight: the lease expires
            std::string id = std::to_string(t->delivery_id), attempt = std::to_string(t->attempt);
            std::string status = std::to_string(t->http_status);
            const char* p[5] = {id.c_str(), attempt.c_str(), t->outcome.c_str(),
                                t->http_status ? status.c_str() : nullptr,
                                t->message.empty() ? nullptr : t->message.c_str()};
            PGresult* rr = PQexecParams(
                conn, "SELECT abx.report_delivery($1::bigint, $2::integer, $3, $4::integer, $5)", 5,
                nullptr, p, nullptr, nullptr, 0);
            if (PQresultStatus(rr) != PGRES_TUPLES_OK)
                std::cerr << log_time() << " abx-http deliverer: report of delivery " << id
                          << " failed: " << PQresultErrorMessage(rr);
            PQclear(rr);
            if (t->outcome != "delivered")
                std::cerr << log_time() << " abx-http deliverer: delivery " << id << " (target "
                          << t->target << ", attempt " << attempt << ") " << t->outcome << ": "
                          << t->message << "\n";
        }
    }
    close_conn();
}

}  // namespace abx::http
