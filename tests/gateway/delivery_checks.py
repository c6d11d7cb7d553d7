"""The delivery routes (docs/http-api.md, "Delivery targets and dead letters") through abx-http.
This gateway does not deliver (deliver is off): the deliveries stay pending, which is what the
operator routes act on here. tests/shell/webhooks.sh covers the delivering gateway."""
from route_checks import sql


def delivery_routes(t, c):
    admin, analyst = t.token("abx_admin", org="acme"), t.token("abx_analyst", org="acme")
    base = "/api/admin/delivery-targets"
    r = c.request("POST", base, token=admin, body={"name": "gw-hook", "kind": "webhook",
                                                   "url": "https://hooks.example.com/abx"})
    t.check("create a webhook: 201, its generated secret shown once",
            r.status == 201 and r.json.get("secret", "").startswith("whsec_"), repr(r))
    r = c.request("POST", base, token=admin, body={"name": "gw-bad", "kind": "webhook", "url": "file:///etc/passwd"})
    t.check("a file:// URL: 400 naming body.url", r.status == 400 and "body.url" in r.json["message"], repr(r))
    r = c.request("POST", base, token=admin, body={"name": "gw-hook", "kind": "webhook", "url": "https://x.example.com/"})
    t.status("the same name again: 409", r, 409)
    t.status("an analyst may not manage targets", c.request("GET", base, token=analyst), 403)
    r = c.request("GET", base, token=admin)
    t.check("list: the target, without its secret",
            r.status == 200 and [x["name"] for x in r.json["targets"]] == ["gw-hook"]
            and "secret" not in r.json["targets"][0], repr(r))
    r = c.request("PATCH", base + "/gw-hook", token=admin, body={"event_types": ["experiment.status_changed"]})
    t.check("update its event types", r.status == 200 and r.json["event_types"] == ["experiment.status_changed"], repr(r))
    t.status("update an unknown target: 404", c.request("PATCH", base + "/nope", token=admin, body={}), 404)

    # An event of acme: one pending delivery to the hook.
    r = c.request("POST", "/api/admin/experiments", token=admin, body=t.abx_document("gw-hooked"))
    t.status("an experiment of acme", r, 201)
    t.status("... started", c.request("POST", "/api/experiments/gw-hooked/start", token=admin), 200)
    r = c.request("GET", "/api/admin/deliveries?status=pending", token=admin)
    t.check("its status change waits for the hook",
            r.status == 200 and [(d["target"], d["event_type"]) for d in r.json["deliveries"]]
            == [("gw-hook", "experiment.status_changed")], repr(r))
    delivery = r.json["deliveries"][0]["id"] if r.status == 200 and r.json["deliveries"] else 0
    t.status("a bad status filter: 400", c.request("GET", "/api/admin/deliveries?status=lost", token=admin), 400)
    r = c.request("POST", f"/api/admin/deliveries/{delivery}/retry", token=admin)
    t.check("retry (now)", r.status == 200 and r.json["status"] == "pending", repr(r))
    r = c.request("POST", f"/api/admin/deliveries/{delivery}/discard", token=admin)
    t.check("discard", r.status == 200 and r.json["status"] == "discarded", repr(r))
    t.status("discard again: 409", c.request("POST", f"/api/admin/deliveries/{delivery}/discard", token=admin), 409)
    t.status("an unknown delivery: 404", c.request("POST", "/api/admin/deliveries/999999/retry", token=admin), 404)
    t.check("the operators' actions are audited with the JWT subject", sql(
        "SELECT string_agg(action || ':' || coalesce(jwt_subject, ''), ',' ORDER BY seq) FROM abx.audit_log "
        "WHERE action IN ('delivery.retry', 'delivery.discard')") == "delivery.retry:tester,delivery.discard:tester")
    r = c.request("DELETE", base + "/gw-hook", token=admin)
    t.check("delete the target", r.status == 200 and r.json["deleted"] is True, repr(r))
    t.status("... it is gone", c.request("DELETE", base + "/gw-hook", token=admin), 404)
