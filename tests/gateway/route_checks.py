"""Every seed's routes through abx-http, with their error paths."""
import json
import os
import subprocess
import time


def sql(query):
    """One value from the test database (as the cluster's superuser)."""
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", query],
                          capture_output=True, text=True, check=True).stdout.strip()


def hostile_input(t, c):
    svc = t.token("abx_service")
    for code in ["%27%3B--", "..", "%2E", "%22x%22", "%E2%9C%93", "a%20b", "x" * 300,
                 "1%3BDROP%20TABLE%20abx.experiments", "%5C"]:
        r = c.request("GET", f"/api/experiments/{code}/winner", token=svc)
        t.check(f"code {code[:40]!r}: 4xx with a JSON error, never 5xx",
                400 <= r.status < 500 and r.json and "code" in r.json, repr(r))
    for path in ["/api/experiments/a%00b/winner", "/api/experiments/%ff/winner",
                 "/api/experiments/%zz/winner", "/api/experiments/x/assignment?subjectId=%00"]:
        t.status(f"{path}: 400 (NUL, invalid UTF-8, bad escape)", c.request("GET", path, token=svc), 400)
    t.check("experiments table still there", sql("SELECT to_regclass('abx.experiments') IS NOT NULL") == "t")
    r = c.request("POST", "/api/experiments/x/events", token=svc, raw=b'{"eventKey": "a",,}',
                  headers={"Content-Type": "application/json"})
    t.check("malformed JSON: 400 naming the byte", r.status == 400 and "byte 18" in r.json["message"], repr(r))
    r = c.request("POST", "/api/experiments/x/events", token=svc, raw=b'{"eventKey": "\xff"}',
                  headers={"Content-Type": "application/json"})
    t.status("invalid UTF-8 in a JSON body", r, 400)
    r = c.request("POST", "/api/experiments/x/events", token=svc, raw=b"[" * 100000 + b"]" * 100000,
                  headers={"Content-Type": "application/json"})
    t.check("100,000 nested arrays: 4xx, not 5xx", 400 <= r.status < 500, repr(r))
    r = c.request("POST", "/api/experiments/x/events", token=svc, raw=b"eventKey=a",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.status("a form body", r, 415)
    r = c.request("GET", "/api/no/such/route", token=svc)
    t.status("unknown path", r, 404)
    r = c.request("DELETE", "/api/experiments/x/winner", token=svc)
    t.check("wrong method: 405 with Allow: GET", r.status == 405 and r.headers.get("allow") == "GET", repr(r))
    alive = c.request("GET", "/health")
    t.status("the gateway is still healthy after all that", alive, 200)


def seed_004(t, c):
    admin, svc, reader = t.token("abx_admin"), t.token("abx_service"), t.token("abx_reader")
    r = c.request("POST", "/api/admin/experiments", token=admin, body=t.abx_document("s4"))
    t.status("admin create (abx spec)", r, 201)
    t.status("start (POST /api/experiments/:id/start)", c.request("POST", "/api/experiments/s4/start", token=admin), 200)
    r = c.request("GET", "/api/experiments/s4/assignment?subjectId=u1", token=svc)
    t.status("GET assignment", r, 200)
    first = r.json or {}
    t.check("assignment: variantKey, config, winner snapshot",
            first.get("variantKey") in ("a", "b") and "config" in first and "winner" in first, repr(r))
    r = c.request("GET", "/api/experiments/s4/assignment?subjectId=u1", token=svc)
    t.check("sticky: the same variant again", r.json and r.json.get("variantKey") == first.get("variantKey"), repr(r))
    r = c.request("GET", "/api/experiments/s4/assignment", token=svc)
    t.check("no subjectId: 400 naming query.subjectId",
            r.status == 400 and "query.subjectId" in r.json["message"], repr(r))
    t.status("a reader may not assign (experiments:assign)",
             c.request("GET", "/api/experiments/s4/assignment?subjectId=u2", token=reader), 403)
    r = c.request("GET", "/api/experiments/nope/assignment?subjectId=u1", token=svc)
    t.status("unknown experiment", r, 404)
    r = c.request("POST", "/api/experiments/s4/events", token=svc, body={"subjectId": "u1", "eventKey": "buy", "value": 2})
    t.check("POST one event: stored", r.status == 200 and r.json.get("stored") == 1, repr(r))
    r = c.request("POST", "/api/experiments/s4/events", token=svc,
                  body={"events": [{"subjectId": "u1", "eventKey": "buy"}, {"subjectId": "ghost", "eventKey": "buy"}]})
    t.check("POST {events}: per-item results (one stored, one P0002)",
            r.status == 200 and r.json.get("stored") == 1 and r.json.get("failed") == 1
            and r.json["results"][1]["error"]["code"] == "P0002", repr(r))
    r = c.request("POST", "/api/experiments/s4/events", token=svc, body={"subjectId": "u1", "eventKey": "buy", "value": "x"})
    t.check("a bad value: 400 naming the field", r.status == 400 and "value" in r.json["message"], repr(r))
    r = c.request("GET", "/api/experiments/s4/winner", token=svc)
    t.check("GET winner snapshot", r.status == 200 and r.json.get("experimentCode") == "s4", repr(r))
    r = c.request("GET", "/api/admin/experiments?status=running", token=admin)
    t.check("admin list", r.status == 200 and any(e.get("code") == "s4" for e in r.json["experiments"]), repr(r))
    r = c.request("PATCH", "/api/admin/experiments/s4", token=admin, body={"description": "via HTTP"},
                  headers={"X-Request-Id": "req-s4-patch"})
    t.check("admin update", r.status == 200 and r.json.get("description") == "via HTTP", repr(r))
    t.check("the response echoes X-Request-Id", r.headers.get("x-request-id") == "req-s4-patch", r.headers)
    t.check("the audit entry carries the request id and the JWT subject", sql(
        "SELECT actor || '|' || coalesce(jwt_subject, '') FROM abx.audit_log WHERE request_id = 'req-s4-patch'")
        == "abx_admin|tester", sql("SELECT count(*) FROM abx.audit_log WHERE request_id = 'req-s4-patch'"))
    t.status("admin routes need experiments:admin", c.request("GET", "/api/admin/experiments", token=svc), 403)
    r = c.request("GET", "/api/admin/experiments/s4", token=admin)
    t.check("admin get", r.status == 200 and r.json.get("code") == "s4", repr(r))
    t.status("admin create a draft", c.request("POST", "/api/admin/experiments", token=admin,
                                               body=t.abx_document("scratch")), 201)
    r = c.request("DELETE", "/api/admin/experiments/scratch", token=admin)
    t.status("admin delete a draft", r, 200)
    t.status("... it is gone", c.request("GET", "/api/admin/experiments/scratch", token=admin), 404)
    r = c.request("GET", "/api/admin/experiments/s4/metrics", token=admin)
    t.status("admin metrics", r, 200)
    t.live_code = "s4"
    # Organizations: the JWT's org claim decides; another organization cannot see the experiment.
    acme, globex = t.token("abx_experimenter", org="acme"), t.token("abx_experimenter", org="globex")
    r = c.request("POST", "/api/experiments", token=acme, body={"name": "acme-only", "variants": [
        {"name": "A", "traffic_share": 50, "is_control": True}, {"name": "B", "traffic_share": 50}]})
    t.status("acme creates its experiment", r, 201)
    t.status("acme reads it", c.request("GET", "/api/experiments/acme-only", token=acme), 200)
    t.status("globex does not see it", c.request("GET", "/api/experiments/acme-only", token=globex), 404)
    r = c.request("GET", "/api/experiments/acme-only", token=acme, headers={"x-org-id": "globex"})
    t.status("x-org-id contradicting the token's org", r, 403)
    r = c.request("GET", "/api/experiments/acme-only?orgId=acme", token=acme)
    t.status("?orgId= agreeing with the token", r, 200)


def seed_002(t, c):
    # A marketing team's experiment lives in its organization (global ones are for ops admins).
    mk, svc = t.token("abx_experimenter", org="acme"), t.token("abx_service", org="acme")
    payload = {"name": "Checkout Button Color", "description": "Test blue vs green button",
               "targeting": {"country": ["SN", "FR"], "lang": ["fr"]},
               "variants": [{"name": "Control (Blue)", "config": {"button_color": "blue"}, "traffic_share": 50, "is_control": True},
                            {"name": "Green Button", "config": {"button_color": "green"}, "traffic_share": 50}]}
    r = c.request("POST", "/api/experiments", token=mk, body=payload)
    t.status("seed 002 create", r, 201)
    doc = r.json or {}
    xid, code = str(doc.get("id")), doc.get("code")
    t.status("a service may not create", c.request("POST", "/api/experiments", token=svc, body=payload), 403)
    r = c.request("GET", "/api/experiments", token=mk)
    t.check("list", r.status == 200 and any(str(e.get("id")) == xid for e in r.json["experiments"]), repr(r))
    a, b = c.request("GET", f"/api/experiments/{xid}", token=mk), c.request("GET", f"/api/experiments/{code}", token=mk)
    t.check(":id is the numeric id or the code", a.status == b.status == 200 and a.json["id"] == b.json["id"], f"{a!r} {b!r}")
    t.status("PATCH", c.request("PATCH", f"/api/experiments/{xid}", token=mk, body={"description": "v2"}), 200)
    r = c.request("POST", f"/api/experiments/{xid}/start", token=mk)
    t.check("start", r.status == 200 and r.json.get("status") == "running", repr(r))
    r = c.request("POST", f"/api/experiments/{xid}/assign", token=svc,
                  body={"molam_id": "user_123", "context": {"country": "SN", "lang": "fr"}})
    t.status("assign molam_id", r, 200)
    variant = (r.json or {}).get("variant_id")
    r = c.request("GET", f"/api/experiments/{xid}/assignment/user_123", token=svc)
    t.check("GET assignment/:molam_id", r.status == 200 and r.json.get("variant_id") == variant, repr(r))
    count = lambda: sql(f"SELECT count(*) FROM abx.events WHERE experiment_id = {xid}")
    before = count()
    event = {"variant_id": variant, "molam_id": "user_123", "event_type": "conversion", "value": 49.99,
             "metadata": {"source": "web", "page": "checkout"}}
    t.status("track with the assigned variant_id", c.request("POST", f"/api/experiments/{xid}/track", token=svc, body=event), 200)
    other = "green-button" if variant != "green-button" else "control-blue"
    r = c.request("POST", f"/api/experiments/{xid}/track", token=svc, body={**event, "variant_id": other})
    t.check("track with another variant_id: refused (22023, 400)", r.status == 400 and r.json["code"] == "22023", repr(r))
    t.check("... and never stored", int(count()) == int(before) + 1, f"{before} → {count()}")
    t.status("results", c.request("GET", f"/api/experiments/{xid}/results", token=mk), 200)
    t.status("insights", c.request("GET", f"/api/experiments/{xid}/insights", token=mk), 200)
    r = c.request("POST", f"/api/experiments/{xid}/stop", token=mk)
    t.check("stop pauses", r.status == 200 and r.json.get("status") == "paused", repr(r))
    r = c.request("POST", f"/api/experiments/{xid}/start", token=mk)
    t.check("start resumes", r.status == 200 and r.json.get("status") == "running", repr(r))


def seed_001(t, c):
    admin, svc = t.token("abx_admin"), t.token("abx_service")
    doc = t.abx_document("promo", policy={"mode": "automatic", "min_assignments": 20, "pick_after_hours": 0,
                                          "min_improvement": 0.01, "confidence": 0.9})
    t.status("create", c.request("POST", "/api/admin/experiments", token=admin, body=doc), 201)
    t.status("start", c.request("POST", "/api/experiments/promo/start", token=admin), 200)
    sql("SELECT count(*) FROM generate_series(1, 400) i, abx.assign('promo', 'p' || i) a, "
        "LATERAL (SELECT abx.track('promo', 'p' || i, 'buy') WHERE (a.variant = 'b' AND i % 10 < 6) "
        "OR (a.variant = 'a' AND i % 10 = 0)) x")
    r = c.request("POST", "/api/internal/experiments/aggregate/run", token=t.internal_token)
    t.status("aggregate through the internal route", r, 200)
    # The run recorded its look: the timeline ends on the figures /results reports.
    r = c.request("GET", "/api/experiments/promo/timeline", token=t.token("abx_analyst"))
    looks = (r.json or {}).get("looks") or []
    results = c.request("GET", "/api/experiments/promo/results", token=admin).json or {}
    last = {(l["variant"], l["metric"]): l["n"] for l in looks if l["run"] == max(x["run"] for x in looks)} if looks else {}
    t.check("timeline after an aggregation has looks, the last one as /results",
            r.status == 200 and looks and r.json["bandit"] == [] and r.json["control"] == "a"
            and last == {(x["variant"], x["metric"]): x["n"] for x in results.get("results", [])}, repr(r))
    r = c.request("GET", "/api/experiments/promo/timeline?metric=nope", token=admin)
    t.check("timeline of an unknown metric: 400 naming query.metric",
            r.status == 400 and "query.metric" in r.json.get("message", ""), repr(r))
    r = c.request("GET", "/api/experiments/promo/timeline?limit=0", token=admin)
    t.check("timeline limit out of range: 400 naming query.limit",
            r.status == 400 and "query.limit" in r.json.get("message", ""), repr(r))
    r = c.request("GET", "/api/monitoring/experiments/promo/promote?minSampleSize=10", token=admin)
    d = (r.json or {}).get("data", {})
    t.check("eligibility: success, eligible, winner b", r.status == 200 and r.json.get("success") is True
            and d.get("isEligible") is True and d.get("winner") == "b", repr(r))
    r = c.request("GET", "/api/monitoring/experiments/promo/promote?minSampleSize=100000", token=admin)
    t.check("eligibility with a query override: not eligible",
            r.status == 200 and r.json["data"]["isEligible"] is False, repr(r))
    r = c.request("POST", "/api/monitoring/experiments/promo/promote", token=admin,
                  body={"promotionType": "manual", "promotedBy": "user-123", "userId": "user-123"})
    t.check("promote: the winner b", r.status == 200 and r.json.get("success") is True
            and r.json["data"]["promotion"]["promotedVariantName"] == "b", repr(r))
    r = c.request("GET", "/api/experiments/promo/assignment?subjectId=newcomer", token=svc)
    t.check("after promotion everyone gets b", r.status == 200 and r.json.get("variantKey") == "b", repr(r))
    r = c.request("GET", "/api/monitoring/experiments/promo/history", token=admin)
    t.check("history: one promotion", r.status == 200 and r.json["data"]["count"] == 1, repr(r))
    r = c.request("DELETE", "/api/monitoring/experiments/promo/promote", token=admin,
                  body={"reason": "errors in production", "rolledBackBy": "user-123"})
    t.check("rollback", r.status == 200 and r.json.get("success") is True, repr(r))
    r = c.request("DELETE", "/api/monitoring/experiments/promo/promote", token=admin, body={"reason": "again"})
    t.check("rolling back twice: 409 in the envelope", r.status == 409 and r.json.get("success") is False, repr(r))
    r = c.request("POST", "/api/monitoring/auto-promotion/check", body={})
    t.check("auto-promotion check without the secret: 401", r.status == 401 and r.json.get("success") is False, repr(r))
    r = c.request("POST", "/api/monitoring/auto-promotion/check", token=t.internal_token, body={})
    t.check("auto-promotion check with the bearer secret", r.status == 200 and r.json.get("success") is True, repr(r))
    r = c.request("POST", "/api/monitoring/auto-promotion/check", body={"cronSecret": t.internal_token, "userId": "cron"})
    t.check("auto-promotion check with seed 001's cronSecret", r.status == 200 and r.json.get("success") is True, repr(r))


def seed_000(t, c):
    admin = t.token("abx_admin")
    body = {"name": "exp-1", "goal": "reduce latency",
            "sla_target": {"p95_latency_ms": 800, "error_rate_threshold": 0.02}}
    sql("ALTER SYSTEM SET abx.allow_autonomy = off")
    sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    r = c.request("POST", "/api/meta/experiments/start", token=admin, body=body)
    t.check("META start with autonomy off: 403, a policy denial",
            r.status == 403 and "policy" in r.json["message"], repr(r))
    sql("ALTER SYSTEM RESET abx.allow_autonomy")
    sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    r = c.request("POST", "/api/meta/experiments/start", token=admin, body=body)
    t.check("META start with autonomy on: 201, running", r.status == 201 and r.json.get("status") == "running", repr(r))
    xid = str((r.json or {}).get("id"))
    r = c.request("GET", f"/api/meta/experiments/{xid}/metrics", token=admin)
    t.status("META metrics", r, 200)
    r = c.request("POST", "/api/meta/experiments/stop", token=admin, body={"id": xid})
    t.status("META stop", r, 200)
    deadline = time.time() + 10
    while time.time() < deadline and sql(
            "SELECT count(*) FROM abx.audit_log WHERE action = 'policy.deny' AND change::text LIKE '%meta.experiments.start%'") == "0":
        time.sleep(0.2)
    t.check("the refused META start is audited as a policy denial", sql(
        "SELECT count(*) > 0 FROM abx.audit_log WHERE action = 'policy.deny' AND change::text LIKE '%meta.experiments.start%'") == "t")


def internal_routes(t, c):
    path = "/api/internal/experiments/aggregate/run"
    t.status("internal route without a token", c.request("POST", path), 401)
    t.status("internal route with a wrong token", c.request("POST", path, token="x" * 40), 401)
    t.status("internal route with a user's JWT", c.request("POST", path, token=t.token("abx_admin")), 401)
    t.status("aggregate/run with the internal token", c.request("POST", path, token=t.internal_token), 200)
    r = c.request("POST", "/api/internal/experiments/retention/run", token=t.internal_token)
    t.status("retention/run with the internal token", r, 200)


def metrics(t, c):
    r = c.request("GET", "/api/meta/metrics", token=t.token("abx_analyst"))
    t.check("metrics in the text format", r.status == 200 and r.headers["content-type"].startswith("text/plain"), repr(r))
    for name in ["meta_request_latency_ms_bucket{", "meta_readiness_checks_total{", "policy_denies_total{",
                 "audit_failures_total", "experiments_total{", "experiment_decision_latency_ms_count",
                 "abx_http_pool_connections{"]:
        t.check(f"metrics: {name.rstrip('{')}", name in r.text, r.text[:500])
    # The deliveries' gauges (0.5.0): typed gauge, one series per status and channel.
    t.check("metrics: abx_deliveries is a gauge per status and channel",
            "# TYPE abx_deliveries gauge" in r.text
            and 'abx_deliveries{kind="webhook",status="dead"}' in r.text,
            r.text[-800:])
    t.check("metrics: abx_delivery_oldest_pending_seconds is a gauge",
            "# TYPE abx_delivery_oldest_pending_seconds gauge" in r.text, r.text[-800:])
    t.check("metrics: policy_denies_total stays a counter", "# TYPE policy_denies_total counter" in r.text)
    r2 = c.request("GET", "/metrics", token=t.token("abx_analyst"))
    t.status("/metrics too", r2, 200)


def websocket_route(t, c):
    """GET /api/experiments/ws is a WebSocket (tests/shell/websocket.sh drives it over RFC 6455);
    a plain GET is told to upgrade, and is not taken as an experiment called "ws"."""
    r = c.request("GET", "/api/experiments/ws", token=t.token("abx_reader", org="acme"))
    t.status("a plain GET of /api/experiments/ws", r, 426)
    t.check("… says Upgrade: websocket", r.headers.get("upgrade") == "websocket", r.headers)


def ops_page(t, c):
    """The routes of the ops page (/ui/): /api/me, the lifecycle buttons, approvals, the audit log
    and its verification, the jobs."""
    t.status("/api/me without a token", c.request("GET", "/api/me"), 401)
    mk = t.token("abx_experimenter", org="acme")
    r = c.request("GET", "/api/me", token=mk)
    me = r.json or {}
    t.check("/api/me as acme's experimenter: role, subject, organization, rights",
            r.status == 200 and me.get("role") == "abx_experimenter" and me.get("subject") == "tester"
            and me.get("organization") == "acme" and {"key": "acme", "name": "acme"} in me.get("organizations", [])
            and "experiments:lifecycle" in me.get("rights", []) and "experiments:admin" not in me.get("rights", [])
            and me.get("superuser") is False, repr(r))
    r = c.request("GET", "/api/me", token=t.token("abx_service"))
    t.check("/api/me as a service: its three rights, no organization",
            r.status == 200 and r.json.get("rights") == ["experiments:assign", "experiments:events:write",
                                                        "experiments:winner:read"]
            and r.json.get("organization") is None, repr(r))
    body = {"name": "Ops Page Cycle", "variants": [{"name": "A", "traffic_share": 50, "is_control": True},
                                                   {"name": "B", "traffic_share": 50}]}
    r = c.request("POST", "/api/experiments", token=mk, body=body)
    t.status("create for the round trip", r, 201)
    xid = str((r.json or {}).get("id"))
    t.status("start", c.request("POST", f"/api/experiments/{xid}/start", token=mk), 200)
    r = c.request("POST", f"/api/experiments/{xid}/pause", token=mk)
    t.check("pause: the document, paused", r.status == 200 and r.json.get("status") == "paused"
            and r.json["variants"][0].get("variant_id") == "a", repr(r))
    r = c.request("POST", f"/api/experiments/{xid}/pause", token=mk)
    t.check("pausing twice: 409 (55000)", r.status == 409 and r.json.get("code") == "55000", repr(r))
    r = c.request("POST", "/api/experiments/ops-page-cycle/resume", token=mk)
    t.check("resume by code: running", r.status == 200 and r.json.get("status") == "running", repr(r))
    r = c.request("POST", f"/api/experiments/{xid}/complete", token=mk)
    t.check("complete", r.status == 200 and r.json.get("status") == "completed", repr(r))
    t.status("a marketing user may not archive", c.request("POST", f"/api/experiments/{xid}/archive", token=mk), 403)
    r = c.request("POST", f"/api/experiments/{xid}/archive", token=t.token("abx_admin", org="acme"))
    t.check("an ops admin archives", r.status == 200 and r.json.get("status") == "archived", repr(r))
    r = c.request("GET", "/api/experiments?status=archived&q=PAGE%20cycle", token=mk)
    t.check("list ?status=archived&q=: found, with type and promoted",
            r.status == 200 and [e["code"] for e in r.json["experiments"]] == ["ops-page-cycle"]
            and r.json["experiments"][0]["type"] == "ab" and r.json["experiments"][0]["promoted"] is False, repr(r))
    analyst = t.token("abx_analyst", org="acme")
    r = c.request("GET", "/api/audit?experiment=ops-page-cycle&action=experiment.&limit=3", token=analyst)
    entries = (r.json or {}).get("entries", [])
    t.check("audit filtered by experiment and action prefix, newest first, paged",
            r.status == 200 and [e["action"] for e in entries] == ["experiment.archive", "experiment.complete",
                                                                   "experiment.resume"]
            and all(e["experiment"] == "ops-page-cycle" and e["organization"] == "acme" for e in entries)
            and isinstance(r.json.get("next_before"), int), repr(r))
    r2 = c.request("GET", f"/api/audit?experiment=ops-page-cycle&before={r.json['next_before']}", token=analyst)
    t.check("… the next page goes on from next_before",
            r2.status == 200 and [e["action"] for e in r2.json["entries"]][:2] == ["experiment.pause", "experiment.start"]
            and r2.json["next_before"] is None, repr(r2))
    r = c.request("GET", "/api/audit?from=yesterday", token=analyst)
    t.check("audit with a malformed from: 400 naming query.from",
            r.status == 400 and "query.from" in r.json.get("message", ""), repr(r))
    t.status("audit needs audit:read", c.request("GET", "/api/audit", token=mk), 403)
    r = c.request("GET", "/api/audit/verify", token=t.token("abx_analyst"))
    t.check("audit/verify: the chain is intact", r.status == 200 and r.json.get("ok") is True
            and r.json.get("broken_seq") is None and r.json.get("head_seq", 0) > 0, repr(r))
    r = c.request("GET", "/api/jobs?limit=5", token=t.token("abx_analyst"))
    t.check("jobs: the built-in jobs, runs listed",
            r.status == 200 and any(j["name"] == "auto_promotion" for j in r.json.get("jobs", []))
            and isinstance(r.json.get("runs"), list), repr(r))
    r = c.request("POST", "/api/monitoring/experiments/ops-page-cycle/reject", token=mk, body={})
    t.check("reject without a reason: 400 naming body.reason, in the envelope",
            r.status == 400 and r.json.get("success") is False and "body.reason" in r.json.get("message", ""), repr(r))
    r = c.request("POST", "/api/monitoring/experiments/ops-page-cycle/approve", token=mk)
    t.check("approve without a pending request: 404 in the envelope",
            r.status == 404 and r.json.get("success") is False, repr(r))
