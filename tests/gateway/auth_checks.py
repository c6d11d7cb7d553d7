"""JWT attack list, role claims, Basic superadmin, probes and the rate limit of abx-http."""
import base64
import json

from client import b64url, jwt_hs256, jwt_openssl, now


def database_calls(t, c):
    """The gateway's count of requests that took a pooled connection (read with an analyst)."""
    r = c.request("GET", "/api/meta/metrics", token=t.token("abx_analyst"))
    for line in r.text.splitlines():
        if line.startswith("abx_http_database_calls_total "):
            return int(line.split()[1])
    raise AssertionError(f"no abx_http_database_calls_total in /api/meta/metrics: {r!r}")


def attacks(t, c):
    """Every case is answered 401 without touching the database pool."""
    secret = t.secret
    rs_pub = open(t.keys["rs_pub"], "rb").read()
    good = {"role": "abx_service", "exp": now() + 60}
    header = {"alg": "HS256", "typ": "JWT", "kid": "hs1"}
    valid = jwt_hs256(good, secret, header)
    h64, p64, s64 = valid.split(".")
    cases = {
        "alg none": b64url(json.dumps({"alg": "none", "kid": "hs1"}).encode()) + "." + p64 + ".",
        "alg None": b64url(json.dumps({"alg": "None", "kid": "hs1"}).encode()) + "." + p64 + "." + s64,
        "empty signature": h64 + "." + p64 + ".",
        "HS256 signed with the RSA public key": jwt_hs256(
            good, rs_pub, {"alg": "HS256", "typ": "JWT", "kid": "rs1"}),
        "unknown kid": jwt_hs256(good, secret, {"alg": "HS256", "kid": "nobody"}),
        "expired: exp now-31 (30 s skew)": jwt_hs256(
            {"role": "abx_service", "exp": now() - 31}, secret, header),
        "nbf in the future": jwt_hs256(
            {"role": "abx_service", "exp": now() + 600, "nbf": now() + 120}, secret, header),
        "iat in the future": jwt_hs256(
            {"role": "abx_service", "exp": now() + 600, "iat": now() + 120}, secret, header),
        "exp non-numeric": jwt_hs256({"role": "abx_service", "exp": "tomorrow"}, secret, header),
        "wrong aud": jwt_hs256({"role": "abx_service", "exp": now() + 60, "aud": "other"}, secret, header),
        "missing aud (required)": jwt_hs256({"role": "abx_service", "exp": now() + 60}, secret, header),
        "tampered payload": h64 + "." + b64url(json.dumps(
            {"role": "abx_admin", "exp": now() + 60, "aud": "abx"}).encode()) + "." + s64,
        "2 segments": h64 + "." + p64,
        "4 segments": valid + ".x",
        "8 KB+ token": jwt_hs256({"role": "abx_service", "exp": now() + 60, "aud": "abx",
                                  "pad": "x" * 8300}, secret, header),
        "RS256 token signed with another key": jwt_openssl(
            {"role": "abx_service", "exp": now() + 60, "aud": "abx"}, t.keys["other"], "RS256", "rs1"),
    }
    before = database_calls(t, c)
    path = "/api/experiments/anything/winner"
    t.sync_to_second()  # the exp boundary cases must not straddle a second
    for name, token in cases.items():
        r = c.request("GET", path, token=token)
        t.status(f"JWT attack: {name}", r, 401)
        t.check(f"JWT attack: {name}: JSON body with code and message",
                r.json is not None and r.json.get("code") == "ABX401" and r.json.get("message"), repr(r))
    r = c.request("GET", path, auth="Bearer ")
    t.status("JWT attack: empty bearer", r, 401)
    r = c.request("GET", path)
    t.status("no Authorization header", r, 401)
    t.check("401 carries WWW-Authenticate: Bearer", r.headers.get("www-authenticate") == "Bearer", r.headers)
    r = c.request("GET", path, auth="Bearer " + "x" * 20000)
    t.status("a 20 KB header: 431 (over the header limit)", r, 431)
    c.close()
    after = database_calls(t, c)
    t.check("the refused requests never took a database connection",
            after - before == 1, f"{before} → {after} (1 is the metrics call itself)")


def accepted_tokens(t, c):
    path = "/api/experiments/nothing-here/winner"
    aud = {"aud": "abx"}
    t.sync_to_second()
    ok = [
        ("HS256", t.token("abx_service")),
        ("RS256", jwt_openssl({"role": "abx_service", "exp": now() + 60, **aud}, t.keys["rs"], "RS256", "rs1")),
        ("ES256", jwt_openssl({"role": "abx_service", "exp": now() + 60, **aud}, t.keys["ec"], "ES256", "ec1")),
        ("exp now-29 (within the 30 s skew)", jwt_hs256(
            {"role": "abx_service", "exp": now() - 29, **aud}, t.secret, {"alg": "HS256", "kid": "hs1"})),
        ("aud as an array", jwt_hs256({"role": "abx_service", "exp": now() + 60, "aud": ["x", "abx"]},
                                      t.secret, {"alg": "HS256", "kid": "hs1"})),
    ]
    for name, token in ok:
        r = c.request("GET", path, token=token)
        # Authenticated: the database answers (404: no such experiment), not the gateway's 401.
        t.check(f"accepted {name}: reaches the database (404 for an unknown experiment)",
                r.status == 404 and r.json and r.json.get("code") == "P0002", repr(r))


def role_claims(t, c):
    path = "/api/experiments/x/winner"
    for role in ["postgres", "abx_http", "abx_gateway", "pg_read_all_data", "nobody_here"]:
        r = c.request("GET", path, token=t.token(role))
        t.status(f"role claim {role!r} refused", r, 401)
    r = c.request("GET", path, token=jwt_hs256({"exp": now() + 60, "aud": "abx"}, t.secret,
                                                {"alg": "HS256", "kid": "hs1"}))
    t.status("a token without a role claim (no default role configured)", r, 401)


def basic_superadmin(t, c):
    good = "Basic " + base64.b64encode(b"root:" + t.superadmin_password.encode()).decode()
    bad = "Basic " + base64.b64encode(b"root:wrong").decode()
    r = c.request("GET", "/api/admin/experiments", auth=good)
    t.status("Basic superadmin on /api/admin/experiments", r, 200)
    r = c.request("GET", "/api/admin/experiments", auth=bad)
    t.status("Basic superadmin with a wrong password", r, 401)
    r = c.request("GET", "/api/experiments", auth=good)
    t.status("Basic superadmin outside /api/admin", r, 401)
    cfg = open(t.config_path).read()
    t.check("the config holds the password only as a salted PBKDF2 hash",
            t.superadmin_password not in cfg and "pbkdf2-sha256$" in cfg)


def probes(t, c):
    r = c.request("GET", "/health")
    t.status("GET /health", r, 200)
    t.check("/health says ok", r.json and r.json.get("status") == "ok", repr(r))
    r = c.request("GET", "/version")
    t.status("GET /version", r, 200)
    t.check("/version names the version", r.json and r.json.get("version"), repr(r))
    r = c.request("GET", "/readiness")
    t.status("GET /readiness (no token)", r, 200)
    t.check("/readiness: ready or degraded with db, queue, outbound checks",
            r.json and r.json.get("status") in ("ready", "degraded")
            and set(r.json.get("checks", {})) >= {"db", "queue", "outbound"}, repr(r))
    r = c.request("GET", "/openapi.json")
    t.status("GET /openapi.json", r, 200)
    t.check("the OpenAPI document is 3.1 with every seed's paths",
            r.json and r.json["openapi"].startswith("3.1") and all(
                p in r.json["paths"] for p in [
                    "/api/experiments/{code}/assignment", "/api/admin/experiments/{id}/metrics",
                    "/api/monitoring/experiments/{name}/promote", "/api/meta/experiments/start",
                    "/api/internal/experiments/aggregate/run", "/readiness"]), "paths missing")
    for token_role, expected in [("abx_service", 403), ("abx_analyst", 200), (None, 401)]:
        r = c.request("GET", "/api/meta/metrics",
                      token=t.token(token_role) if token_role else None)
        t.status(f"/api/meta/metrics as {token_role or 'nobody'} (needs meta:read)", r, expected)
    r = c.request("GET", "/api/meta/audit-stats", token=t.token("abx_analyst"))
    t.status("/api/meta/audit-stats with meta:read", r, 200)
    t.check("/api/meta/audit-stats has top_errors", r.json is not None and "top_errors" in r.json, repr(r))
    r = c.request("GET", "/api/meta/audit-stats", token=t.token("abx_service"))
    t.status("/api/meta/audit-stats without meta:read", r, 403)


def rate_limit(t, c):
    """Seed 003: public endpoints 60 requests/min/IP (this runs last: it spends the budget)."""
    statuses = [c.request("GET", "/health").status for _ in range(70)]
    t.check("/health: 429 once the minute's 60 are spent", 429 in statuses and statuses[0] == 200,
            str(statuses))
    r = c.request("GET", "/version")
    t.status("the public group shares the limit", r, 429)
    t.check("429 carries Retry-After", r.headers.get("retry-after", "").isdigit(), r.headers)
    r = c.request("GET", "/api/experiments/x/winner", token=t.token("abx_service"))
    t.check("other groups are not limited by the public group", r.status != 429, repr(r))
