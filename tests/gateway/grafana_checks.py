"""Every panel query of grafana/dashboards/*.json returns data from a real Prometheus scraping
abx-http, after a short simulated experiment (a bandit, so the alpha/beta panel has arms)."""
import json
import os
import time

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
# Grafana's template variables, as "All" selects them.
VARIABLES = {"$experiment": ".+", "${experiment}": ".+"}


def panel_queries():
    out = []
    folder = os.path.join(ROOT, "grafana", "dashboards")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            doc = json.load(f)
        for panel in doc["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for var, value in VARIABLES.items():
                    expr = expr.replace(var, value)
                out.append((name, panel["title"], expr))
    return out


def simulate(t, c):
    """A bandit experiment with assignments and conversions, aggregated; and a readiness probe."""
    admin, svc = t.token("abx_admin"), t.token("abx_service")
    doc = t.abx_document("grafana-bandit")
    doc["kind"] = "bandit"
    t.status("grafana: create a bandit", c.request("POST", "/api/admin/experiments", token=admin, body=doc), 201)
    t.status("grafana: start it", c.request("POST", "/api/experiments/grafana-bandit/start", token=admin), 200)
    for i in range(40):
        r = c.request("GET", f"/api/experiments/grafana-bandit/assignment?subjectId=g{i}", token=svc)
        if r.status == 200 and i % 3 == 0:
            c.request("POST", "/api/experiments/grafana-bandit/events", token=svc,
                      body={"subjectId": f"g{i}", "eventKey": "buy"})
    t.status("grafana: aggregate (internal route)",
             c.request("POST", "/api/internal/experiments/aggregate/run", token=t.internal_token), 200)
    c.request("GET", "/readiness")


def panels_return_data(t, c, query):
    queries = panel_queries()
    t.check("grafana: both dashboards have panels", len({q[0] for q in queries}) == 2 and len(queries) >= 10,
            str(queries))
    pending = {q: None for q in queries}
    deadline = time.time() + 30  # the scraper picks the new series up within a few intervals
    while pending and time.time() < deadline:
        for q in list(pending):
            result = query(q[2])
            if result:
                del pending[q]
            else:
                pending[q] = result
        if pending:
            time.sleep(1)
    for name, title, expr in queries:
        t.check(f"grafana {name} '{title}': {expr[:60]} returns data", (name, title, expr) not in pending,
                f"no data for {expr}")
