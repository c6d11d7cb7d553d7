// The ops page's files: loaded once from ui_dir, found by exact URL path only, typed, tagged.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config.hpp"
#include "static_files.hpp"

using namespace abx::http;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path = fs::temp_directory_path() / ("abx-ui-test-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path / "js" / "pages"); }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& rel, const std::string& body) const {
        std::ofstream(path / rel, std::ios::binary) << body;
    }
};
}  // namespace

TEST(StaticFiles, LoadsTheTreeAndServesIndexForTheFolder) {
    TempDir dir;
    dir.write("index.html", "<!doctype html>");
    dir.write("app.css", "body{}");
    dir.write("js/pages/list.js", "export {}");
    std::vector<std::string> warnings;
    StaticFiles files = StaticFiles::load(dir.path.string(), {}, warnings);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(files.size(), 3u);
    ASSERT_NE(files.find("/ui/"), nullptr);
    EXPECT_EQ(files.find("/ui/")->body, "<!doctype html>");
    EXPECT_EQ(files.find("/ui/")->content_type, "text/html; charset=utf-8");
    ASSERT_NE(files.find("/ui/js/pages/list.js"), nullptr);
    EXPECT_EQ(files.find("/ui/js/pages/list.js")->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(files.find("/ui/app.css")->content_type, "text/css; charset=utf-8");
}

TEST(StaticFiles, NothingOutsideTheLoadedFilesIsFound) {
    TempDir dir;
    dir.write("index.html", "x");
    std::vector<std::string> warnings;
    StaticFiles files = StaticFiles::load(dir.path.string(), {}, warnings);
    EXPECT_EQ(files.find("/ui/../index.html"), nullptr);
    EXPECT_EQ(files.find("/ui/./index.html"), nullptr);
    EXPECT_EQ(files.find("/ui//index.html"), nullptr);
    EXPECT_EQ(files.find("/ui/index.html/"), nullptr);
    EXPECT_EQ(files.find("/ui/%2e%2e/etc/passwd"), nullptr);
    EXPECT_EQ(files.find("/ui/missing.js"), nullptr);
    EXPECT_EQ(files.find("/uix/index.html"), nullptr);
}

TEST(StaticFiles, EtagChangesWithTheContent) {
    StaticFiles files;
    files.add("/ui/a.js", "one");
    std::string first = files.find("/ui/a.js")->etag;
    files.add("/ui/a.js", "two");
    std::string second = files.find("/ui/a.js")->etag;
    EXPECT_NE(first, second);
    EXPECT_EQ(first.front(), '"');
    EXPECT_EQ(first.size(), 18u);  // 16 hex digits in quotes
}

TEST(StaticFiles, ExtraFilesAndMissingOnesAreWarningsNotFailures) {
    TempDir dir;
    dir.write("index.html", "x");
    dir.write("chart.min.js", "chart");
    std::vector<std::string> warnings;
    StaticFiles files =
        StaticFiles::load(dir.path.string(),
                          {{"/ui/vendor/chart.min.js", (dir.path / "chart.min.js").string()},
                           {"/ui/vendor/missing.js", (dir.path / "nope.js").string()}},
                          warnings);
    ASSERT_NE(files.find("/ui/vendor/chart.min.js"), nullptr);
    EXPECT_EQ(files.find("/ui/vendor/chart.min.js")->body, "chart");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("nope.js"), std::string::npos);

    warnings.clear();
    StaticFiles none = StaticFiles::load((dir.path / "absent").string(), {}, warnings);
    EXPECT_EQ(none.size(), 0u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("not a directory"), std::string::npos);
}

TEST(StaticFiles, SecurityHeadersAllowOnlyThePagesOwnOrigin) {
    bool csp = false;
    for (auto& [name, value] : ui_security_headers())
        if (name == "Content-Security-Policy") {
            csp = true;
            EXPECT_NE(value.find("default-src 'none'"), std::string::npos);
            EXPECT_NE(value.find("script-src 'self'"), std::string::npos);
            EXPECT_EQ(value.find("unsafe-inline"), std::string::npos);
            EXPECT_NE(value.find("frame-ancestors 'none'"), std::string::npos);
        }
    EXPECT_TRUE(csp);
}

TEST(StaticFiles, ConfigurationKeys) {
    Config c = parse_config("ui_dir = /opt/abx/ui\nui_chart_js = /srv/chart.js\n", {});
    EXPECT_EQ(c.ui_dir, "/opt/abx/ui");
    EXPECT_EQ(c.ui_chart_js, "/srv/chart.js");
    Config d = parse_config("", {});
    EXPECT_EQ(d.ui_dir, "");
    EXPECT_EQ(d.ui_chart_js, "/usr/share/javascript/chart.js/chart.min.js");
}
