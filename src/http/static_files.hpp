// The ops page's files, served by abx-http under /ui/. They are read once at start into memory:
// a request can name only a file that was loaded, so no path from a request ever reaches the
// file system (no traversal, no symlink surprise), and serving one is a map lookup.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace abx::http {

struct StaticFile {
    std::string body;
    std::string content_type;
    std::string etag;  // "\"<sha256 of the body, 16 hex>\"": a changed file is a new tag
};

class StaticFiles {
  public:
    // Every regular file under `dir`, as /ui/<relative path>, plus `extra` (URL path, file): the
    // vendored libraries installed by Debian packages. A missing extra is a warning, not an
    // error: the page then says what is missing instead of the gateway refusing to start.
    static StaticFiles load(const std::string& dir,
                            const std::vector<std::pair<std::string, std::string>>& extra,
                            std::vector<std::string>& warnings);

    // "/ui/" is index.html; nullptr when nothing was loaded for this path.
    const StaticFile* find(std::string_view path) const;
    std::size_t size() const { return files_.size(); }

    void add(std::string url_path, std::string body);  // for tests

  private:
    std::map<std::string, StaticFile, std::less<>> files_;
};

std::string_view content_type_for(std::string_view path);

// The headers every /ui/ response carries: the page loads only its own files and talks only to
// this gateway (the API and its WebSocket), and no other site may frame it.
const std::vector<std::pair<std::string, std::string>>& ui_security_headers();

}  // namespace abx::http
