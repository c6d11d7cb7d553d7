"""Local receivers for the deliverer's tests (tests/shell/webhooks.sh).

    python3 delivery_sinks.py http PORT LOG    every POST appended to LOG as one JSON line
                                               ({path, headers, body, at}); answers 200, or the
                                               status a path ending in /status/NNN asks for, after
                                               the seconds a path ending in /slow/S asks for
    python3 delivery_sinks.py smtp PORT LOG    an SMTP sink (aiosmtpd, Debian's python3-aiosmtpd):
                                               every message appended to LOG as one JSON line
                                               ({mail_from, rcpt_tos, data})
    python3 delivery_sinks.py verify LOG SECRET [TOLERANCE]
                                               checks every webhook line's abx-signature the way a
                                               receiver should (docs/integrations.md); prints the
                                               count, exits 1 on the first bad one

"Down" is simply the process not running: the port refuses connections.
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_http(port, log):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "at": time.time()}) + "\n")
                f.flush()
            status = 200
            if "/status/" in self.path:
                status = int(self.path.rsplit("/", 1)[1])
            if "/slow/" in self.path:  # received (logged), answered too late for the sender
                time.sleep(int(self.path.rsplit("/", 1)[1]))
            answer = b"ok" if status < 300 else b"nope"
            if self.path.endswith("/garbage"):  # a 500 whose body is not text
                status, answer = 500, b"\xff\xfe\x00bad"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.request_queue_size = 128  # the deliverer connects in batches
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def serve_smtp(port, log):
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                                    "data": envelope.content.decode("utf-8", "replace")}) + "\n")
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def verify_signature(header, body, secret, tolerance, now=None):
    """A receiver's check: t within tolerance of now, v1 = HMAC-SHA256(secret, t + "." + body)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    if abs((now or time.time()) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def verify(log, secret, tolerance):
    n = 0
    with open(log, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if "abx-signature" not in r["headers"]:
                continue
            # The receipt time is when the signature was checked (the log is read later).
            if not verify_signature(r["headers"]["abx-signature"], r["body"], secret, tolerance, now=r["at"]):
                print(f"bad signature: {r['headers']['abx-signature']} on {r['body'][:80]}")
                sys.exit(1)
            if json.loads(r["body"])["id"] != r["headers"]["abx-event-id"]:
                print("abx-event-id differs from the body's id")
                sys.exit(1)
            n += 1
    print(n)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "http":
        serve_http(int(sys.argv[2]), sys.argv[3])
    elif mode == "smtp":
        serve_smtp(int(sys.argv[2]), sys.argv[3])
    elif mode == "verify":
        verify(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 300)
    else:
        sys.exit(f"unknown mode {mode}")
