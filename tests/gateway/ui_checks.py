"""The ops page's files over HTTP: /ui redirects to /ui/, the files come from memory with their
type, an ETag and the security headers, and nothing else can be named."""


def static_files(t, c):
    r = c.request("GET", "/ui")
    t.check("GET /ui redirects to /ui/", r.status == 301 and r.headers.get("location") == "/ui/", r)
    r = c.request("GET", "/ui/")
    t.check("GET /ui/ is the page", r.status == 200 and "text/html" in r.headers.get("content-type", "")
            and b'src="js/app.js"' in r.raw, r)
    csp = r.headers.get("content-security-policy", "")
    t.check("the page may load only its own scripts and talk only to its own origin",
            "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp)
    t.check("the page is never framed or sniffed",
            r.headers.get("x-frame-options") == "DENY" and r.headers.get("x-content-type-options") == "nosniff", r.headers)
    etag = r.headers.get("etag")
    r304 = c.request("GET", "/ui/", headers={"If-None-Match": etag})
    t.check("an unchanged file is a 304 for its ETag", r304.status == 304 and not r304.raw, r304)
    js = c.request("GET", "/ui/js/app.js")
    t.check("scripts are served as JavaScript", js.status == 200 and js.headers.get("content-type", "").startswith("text/javascript"), js)
    chart = c.request("GET", "/ui/vendor/chart.min.js")
    t.check("Chart.js comes from Debian's libjs-chart.js (no CDN)", chart.status == 200 and b"Chart" in chart.raw[:2000], chart.status)
    head = c.request("HEAD", "/ui/js/app.js")
    t.check("HEAD gives the length without the body",
            head.status == 200 and not head.raw and head.headers.get("content-length") == str(len(js.raw)), head)
    for path in ("/ui/../etc/passwd", "/ui/%2e%2e/etc/passwd", "/ui/js/../../README.md", "/ui/nope.js"):
        r = c.request("GET", path)
        t.check(f"GET {path} is a JSON 404", r.status == 404 and r.json and r.json.get("code") == "ABX404", r)
    r = c.request("POST", "/ui/", body={})
    t.check("POST /ui/ is 405 with Allow", r.status == 405 and r.headers.get("allow") == "GET, HEAD", r)
