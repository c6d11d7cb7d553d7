"""abx-http's integration tests: a real cluster and a real gateway (started by
tests/shell/gateway.sh), driven over HTTP. Prints TAP-like lines; exits 1 on any failure."""
import json
import os
import re
import sys
import time

import auth_checks
import delivery_checks
import prometheus_checks
import resilience_checks
import route_checks
import ui_checks
from client import Checks, Client, jwt_hs256, now


class Context(Checks):
    def __init__(self):
        super().__init__()
        self.url = os.environ["ABX_GATEWAY_URL"]
        self.config_path = os.environ["ABX_GATEWAY_CONFIG"]
        self.secret = open(os.environ["GATEWAY_TEST_SECRET_FILE"], "rb").read().strip()
        d = os.environ["GATEWAY_TEST_KEYS"]
        self.keys = {k: os.path.join(d, f) for k, f in [
            ("rs", "rs.pem"), ("rs_pub", "rs.pub.pem"), ("ec", "ec.pem"), ("other", "other.pem")]}
        self.superadmin_password = os.environ["GATEWAY_TEST_SUPERADMIN_PASSWORD"]
        self.internal_token = os.environ["GATEWAY_TEST_INTERNAL_TOKEN"]

    def token(self, role, org=None, ttl=600, **claims):
        c = {"role": role, "exp": now() + ttl, "aud": "abx", "sub": "tester", **claims}
        if org:
            c["org"] = org
        return jwt_hs256(c, self.secret, {"alg": "HS256", "typ": "JWT", "kid": "hs1"})

    @staticmethod
    def abx_document(code, policy=None):
        return {"code": code, "salt": code,
                "metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}},
                "winner_policy": policy or {},
                "variants": [{"key": "a", "is_control": True, "config": {"color": "blue"}},
                             {"key": "b", "config": {"color": "green"}}]}

    @staticmethod
    def sync_to_second():
        time.sleep(1.02 - time.time() % 1)

    def client(self):
        return Client(self.url)


def every_route_called(t):
    """Each operation of docs/openapi.json (generated from the route table) was requested at least
    once with a path of its shape."""
    doc = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.json")))
    missing = []
    for template, item in doc["paths"].items():
        shape = re.compile("^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$")
        for method in item:
            if not any(m == method.upper() and shape.match(p) for m, p in Client.seen):
                missing.append(f"{method.upper()} {template}")
    t.check(f"every route of docs/openapi.json was called ({len(missing)} missing)", not missing,
            ", ".join(missing))


def main():
    t = Context()
    only = sys.argv[1:]
    steps = [
        ("probes", auth_checks.probes),
        ("attacks", auth_checks.attacks),
        ("accepted tokens", auth_checks.accepted_tokens),
        ("role claims", auth_checks.role_claims),
        ("basic superadmin", auth_checks.basic_superadmin),
        ("hostile input", route_checks.hostile_input),
        ("seed 004", route_checks.seed_004),
        ("websocket route", route_checks.websocket_route),
        ("seed 002", route_checks.seed_002),
        ("seed 001", route_checks.seed_001),
        ("seed 000", route_checks.seed_000),
        ("internal", route_checks.internal_routes),
        ("ops page", route_checks.ops_page),
        ("deliveries", delivery_checks.delivery_routes),
        ("ops page files", ui_checks.static_files),
        ("metrics", route_checks.metrics),
        ("prometheus", prometheus_checks.scrape),
        ("memory", resilience_checks.large_body_memory),
        ("start-up refusals", resilience_checks.start_up_refusals),
        ("pool exhaustion", resilience_checks.pool_exhaustion),
        ("sigterm", resilience_checks.sigterm_finishes_in_flight),
        ("database down", resilience_checks.database_down),
        ("rate limit", auth_checks.rate_limit),
    ]
    for name, step in steps:
        if only and name not in only:
            continue
        print(f"# {name}")
        c = t.client()
        try:
            step(t, c)
        except Exception as e:  # a crash of a step is a failure, and the others still run
            t.check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
        finally:
            c.close()
    if not only:
        every_route_called(t)
    print(f"gateway: {t.passed} passed, {t.failed} failed")
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    main()
