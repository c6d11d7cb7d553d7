"""A tiny Prometheus exporter the SLO test controls (tests/shell/slo.sh).

Every scrape of /metrics counts 100 more requests per experiment of the state file (JSON
{"<experiment code>": {"latency": seconds, "errors": fraction}}), all at that latency, a fraction of
them answered 500: http_request_duration_seconds_bucket{experiment, le} and
http_requests_total{experiment, status}, cumulative, as an instrumented service publishes them.
Usage: slo_exporter.py PORT STATE_FILE. A second mode, `silent PORT`, accepts connections and never
answers (a hung Prometheus).
"""
import http.server
import json
import socket
import sys
import threading
import time

BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0]
PER_SCRAPE = 100


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.buckets = {}  # (experiment, le) -> count
        self.requests = {}  # (experiment, status) -> count

    def scrape(self, state):
        with self.lock:
            for exp, s in sorted(state.items()):
                latency = float(s.get("latency", 0.1))
                errors = round(PER_SCRAPE * float(s.get("errors", 0.0)))
                for le in BUCKETS + [float("inf")]:
                    key = (exp, le)
                    self.buckets[key] = self.buckets.get(key, 0) + (PER_SCRAPE if latency <= le else 0)
                for status, n in (("200", PER_SCRAPE - errors), ("500", errors)):
                    self.requests[(exp, status)] = self.requests.get((exp, status), 0) + n
            lines = ["# TYPE http_request_duration_seconds histogram"]
            for (exp, le), n in sorted(self.buckets.items()):
                le_text = "+Inf" if le == float("inf") else repr(le)
                lines.append(f'http_request_duration_seconds_bucket{{experiment="{exp}",le="{le_text}"}} {n}')
            lines.append("# TYPE http_requests_total counter")
            for (exp, status), n in sorted(self.requests.items()):
                lines.append(f'http_requests_total{{experiment="{exp}",status="{status}"}} {n}')
            return "\n".join(lines) + "\n"


def serve(port, state_file):
    counters = Counters()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                with open(state_file) as f:
                    state = json.load(f)
            except (OSError, ValueError):
                state = {}
            body = counters.scrape(state).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def silent(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)  # read nothing, answer nothing, close nothing
        if len(held) > 1000:
            time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "silent":
        silent(int(sys.argv[2]))
    else:
        serve(int(sys.argv[1]), sys.argv[2])
