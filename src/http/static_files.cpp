#include "static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/sha.h>

#include "encoding.hpp"

namespace abx::http {

namespace fs = std::filesystem;

namespace {
bool read_whole(const fs::path& p, std::string& out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return static_cast<bool>(in) || in.eof();
}

StaticFile make_file(std::string url_path, std::string body) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
    StaticFile f;
    f.content_type = std::string(content_type_for(url_path));
    f.etag = "\"" + to_hex(digest, 8) + "\"";
    f.body = std::move(body);
    return f;
}
}  // namespace

std::string_view content_type_for(std::string_view path) {
    static const std::pair<std::string_view, std::string_view> types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (auto& [ext, type] : types)
        if (path.ends_with(ext)) return type;
    return "application/octet-stream";
}

const std::vector<std::pair<std::string, std::string>>& ui_security_headers() {
    static const std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self' ws: wss:; font-src 'self'; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        // Revalidate every time (an ETag makes that a 304): an upgraded page is never mixed
        // with a cached older script.
        {"Cache-Control", "no-cache"},
    };
    return headers;
}

StaticFiles StaticFiles::load(const std::string& dir,
                              const std::vector<std::pair<std::string, std::string>>& extra,
                              std::vector<std::string>& warnings) {
    StaticFiles files;
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) {
        warnings.push_back("ui_dir \"" + dir + "\" is not a directory: /ui/ is not served");
        return files;
    }
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string rel = fs::relative(it->path(), dir, ec).generic_string();
        if (ec || rel.empty() || rel.starts_with("..")) continue;
        std::string body;
        if (!read_whole(it->path(), body)) {
            warnings.push_back("cannot read " + it->path().string());
            continue;
        }
        files.add("/ui/" + rel, std::move(body));
    }
    if (ec) warnings.push_back("reading " + dir + ": " + ec.message());
    for (auto& [url, path] : extra) {
        std::string body;
        if (read_whole(path, body))
            files.add(url, std::move(body));
        else
            warnings.push_back("cannot read " + path + " (served as " + url + ")");
    }
    return files;
}

void StaticFiles::add(std::string url_path, std::string body) {
    StaticFile f = make_file(url_path, std::move(body));
    files_.insert_or_assign(std::move(url_path), std::move(f));
}

const StaticFile* StaticFiles::find(std::string_view path) const {
    if (path == "/ui/") path = "/ui/index.html";
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace abx::http
