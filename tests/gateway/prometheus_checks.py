"""A real Prometheus (Debian's package) scrapes abx-http's /api/meta/metrics with a bearer token;
the series are queried back through Prometheus's HTTP API."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import grafana_checks


# Seed 003's "META request latency P95" panel.
P95 = "histogram_quantile(0.95, sum(rate(meta_request_latency_ms_bucket[5m])) by (le))"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    return doc["data"]["result"] if doc.get("status") == "success" else []


def scrape(t, c):
    binary = shutil.which("prometheus")
    if not t.check("Debian's prometheus is installed", binary is not None):
        return
    work = tempfile.mkdtemp(prefix="abx-prom-")
    port = _free_port()
    target = urllib.parse.urlparse(t.url)
    token = t.token("abx_analyst", ttl=3600)
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: abx
    metrics_path: /api/meta/metrics
    authorization:
      type: Bearer
      credentials: {token}
    static_configs:
      - targets: ["{target.hostname}:{target.port}"]
""")
    log = open(os.path.join(work, "prometheus.log"), "w")
    p = subprocess.Popen([binary, f"--config.file={work}/prometheus.yml",
                          f"--storage.tsdb.path={work}/data", f"--web.listen-address=127.0.0.1:{port}"],
                         stdout=log, stderr=log)
    try:
        # Traffic to see: a few requests of a known route.
        for _ in range(5):
            c.request("GET", "/api/experiments/prom-none/winner", token=t.token("abx_service"))
        deadline = time.time() + 30
        up = []
        while time.time() < deadline:
            try:
                c.request("GET", "/api/experiments/prom-none/winner", token=t.token("abx_service"))
                up = _query(port, 'up{job="abx"}')
                if (up and up[0]["value"][1] == "1" and _query(port, "policy_denies_total")
                        and _query(port, P95)):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        t.check("Prometheus scrapes abx-http (up == 1)", up and up[0]["value"][1] == "1",
                f"{up}; log: {open(os.path.join(work, 'prometheus.log')).read()[-500:]}")
        lat = _query(port, 'meta_request_latency_ms_count{route="/api/experiments/:code/winner",method="GET",status="404"}')
        t.check("meta_request_latency_ms{route,method,status} queried back from Prometheus",
                lat and float(lat[0]["value"][1]) >= 5, str(lat))
        p95 = _query(port, P95)
        t.check("seed 003's P95 panel query evaluates", p95 != [], str(p95))
        denies = _query(port, "policy_denies_total")
        t.check("policy_denies_total{feature,reason} (read from the database) in Prometheus",
                denies and all("feature" in s["metric"] and "reason" in s["metric"] for s in denies),
                str(denies))
        for name in ["experiments_total", "audit_failures_total", "experiment_assignments_total",
                     "meta_readiness_checks_total", "experiment_metrics_total"]:
            t.check(f"{name} in Prometheus", _query(port, name) != [], name)
        grafana_checks.simulate(t, c)
        grafana_checks.panels_return_data(t, c, lambda expr: _query(port, expr))
    finally:
        p.terminate()
        p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
