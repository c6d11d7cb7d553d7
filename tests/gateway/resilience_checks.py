"""abx-http under stress: a 10 MB body, SIGTERM with a request in flight, the database down."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from client import Client


def _status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def gateway_pid():
    return int(open(os.environ["GATEWAY_TEST_PIDFILE"]).read())


def large_body_memory(t, c):
    """A 10 MB body never grows the process by more than 3x its size (peak RSS, VmHWM)."""
    pid = gateway_pid()
    c.request("GET", "/health")
    before = _status_kb(pid, "VmHWM")
    events = [{"subjectId": f"s{i}", "event": "view", "value": i} for i in range(190000)]
    body = json.dumps({"events": events}).encode()
    size_kb = len(body) // 1024
    r = c.request("POST", "/api/experiments/nope/events", token=t.token("abx_service"), raw=body,
                  headers={"Content-Type": "application/json"})
    t.check(f"a {size_kb // 1024} MB body is answered with a 4xx, not a crash",
            400 <= r.status < 500, repr(r))
    after = _status_kb(pid, "VmHWM")
    growth = after - before
    t.check(f"peak RSS grew by {growth // 1024} MB for a {size_kb // 1024} MB body (at most 3x)",
            growth <= 3 * size_kb, f"{before} kB → {after} kB")
    # Over max_body_bytes (16 MB): refused from the Content-Length, before any of it is read.
    host, port = t.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/experiments/nope/events HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 17825792\r\n\r\n")
        answer = s.recv(4096).decode(errors="replace")
    t.check("a body over max_body_bytes (16 MB): 413 at once", answer.startswith("HTTP/1.1 413"), answer[:200])


def sigterm_finishes_in_flight(t, c):
    """SIGTERM: the request in flight (blocked on a row lock) completes; then the process exits."""
    admin = t.token("abx_admin")
    code = "sigterm_probe"
    r = c.request("POST", "/api/admin/experiments", token=admin, body=t.abx_document(code))
    t.status("create the experiment to lock", r, 201)
    locker = subprocess.Popen(["psql", "-X", "-q", "-d", os.environ["PGDATABASE"]],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    locker.stdin.write(f"BEGIN; SELECT 1 FROM abx.experiments WHERE code = '{code}' FOR UPDATE;\n"
                       "SELECT pg_sleep(0.5);\n")
    locker.stdin.flush()
    time.sleep(1)
    result = {}

    def slow_patch():
        result["r"] = Client(t.url).request("PATCH", f"/api/admin/experiments/{code}", token=admin,
                                            body={"description": "patched during shutdown"})

    th = threading.Thread(target=slow_patch)
    th.start()
    time.sleep(1)
    pid = gateway_pid()
    os.kill(pid, signal.SIGTERM)
    time.sleep(1)
    t.check("while a request is in flight, SIGTERM does not kill the process", _alive(pid))
    locker.stdin.write("COMMIT;\n")
    locker.stdin.close()
    locker.wait(timeout=30)
    th.join(timeout=30)
    r = result.get("r")
    t.check("the in-flight request completed with 200", r is not None and r.status == 200, repr(r))
    deadline = time.time() + 10
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    t.check("the gateway exited after the request", not _alive(pid))
    _restart(t)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by the shell) counts as gone.
    try:
        return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _restart(t):
    log = open(os.environ["GATEWAY_TEST_LOG"], "ab")
    p = subprocess.Popen([os.environ["ABX_GATEWAY_BIN"], "--config", os.environ["ABX_GATEWAY_CONFIG"]],
                         stdout=log, stderr=log, start_new_session=True)
    open(os.environ["GATEWAY_TEST_PIDFILE"], "w").write(str(p.pid))
    c = Client(t.url)
    for _ in range(100):
        try:
            if c.request("GET", "/readiness").status == 200:
                return
        except OSError:
            pass
        c.close()
        time.sleep(0.1)
    raise AssertionError("abx-http did not come back")


def database_down(t, c):
    """The database down for 30 s: 503 with Retry-After, then recovery without a restart."""
    token = t.token("abx_service")
    if not getattr(t, "live_code", None):  # when run alone, without the seed 004 step
        c.request("POST", "/api/admin/experiments", token=t.token("abx_admin"), body=t.abx_document("outage"))
        t.live_code = "outage"
    path = f"/api/experiments/{t.live_code}/winner"
    t.status("before the outage", c.request("GET", path, token=token), 200)
    subprocess.run(os.environ["GATEWAY_TEST_PG_STOP"], shell=True, check=True)
    stopped = time.time()
    statuses, slowest = set(), 0.0
    while time.time() - stopped < 30:
        began = time.time()
        r = c.request("GET", path, token=token)
        slowest = max(slowest, time.time() - began)
        statuses.add(r.status)
        if r.status == 503 and "retry" not in t.__dict__:
            t.retry = r.headers.get("retry-after")
        time.sleep(1)
    t.check("during the outage every answer is 503", statuses == {503}, str(statuses))
    t.check("... with Retry-After", (getattr(t, "retry", None) or "").isdigit(), str(getattr(t, "retry", None)))
    t.check(f"... and quickly (slowest {slowest:.2f} s)", slowest < 3.0)
    r = c.request("GET", "/readiness")
    t.check("/readiness during the outage: 503 not_ready, db fail",
            r.status == 503 and r.json and r.json["status"] == "not_ready"
            and r.json["checks"]["db"]["status"] == "fail", repr(r))
    subprocess.run(os.environ["GATEWAY_TEST_PG_START"], shell=True, check=True, stdout=subprocess.DEVNULL)
    back = time.time()
    while time.time() - back < 20:
        r = c.request("GET", path, token=token)
        if r.status == 200:
            break
        time.sleep(0.2)
    t.check(f"recovered without a restart ({time.time() - back:.1f} s after the database)",
            r.status == 200, repr(r))


def _spawn(env_overrides, log_name):
    """A second abx-http from the same config file, with ABX_HTTP_* overrides; returns (process, url)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = {**os.environ, "ABX_HTTP_LISTEN_PORT": str(port), **env_overrides}
    log = open(os.path.join(os.path.dirname(os.environ["GATEWAY_TEST_LOG"]), log_name), "w+")
    p = subprocess.Popen([os.environ["ABX_GATEWAY_BIN"], "--config", os.environ["ABX_GATEWAY_CONFIG"]],
                         env=env, stdout=log, stderr=log)
    return p, f"http://127.0.0.1:{port}", log


def start_up_refusals(t, c):
    """The gateway refuses to start on a weak secret or a typo, naming it."""
    for overrides, fragment in [({"ABX_HTTP_JWT_SECRET": "too-short-secret"}, "32 bytes"),
                                ({"ABX_HTTP_POOL_SIZ": "3"}, "pool_siz: unknown setting"),
                                ({"ABX_HTTP_POOL_SIZE": "lots"}, "pool_size")]:
        p, _, log = _spawn(overrides, "refusal.log")
        code = p.wait(timeout=10)
        log.seek(0)
        text = log.read()
        t.check(f"start-up refused for {overrides}: exit 1 naming it", code == 1 and fragment in text, text[-300:])


def pool_exhaustion(t, c):
    """One pooled connection, held by a request waiting on a lock: the next request gets 503 with
    Retry-After after pool_timeout_ms, not a hang (environment overrides of the config file)."""
    admin = t.token("abx_admin")
    c.request("POST", "/api/admin/experiments", token=admin, body=t.abx_document("pool_probe"))
    p, url, _ = _spawn({"ABX_HTTP_THREADS": "1", "ABX_HTTP_POOL_SIZE": "1", "ABX_HTTP_POOL_TIMEOUT_MS": "300"},
                       "pool.log")
    try:
        other = Client(url)
        for _ in range(100):
            try:
                if other.request("GET", "/readiness").status == 200:
                    break
            except OSError:
                other.close()
            time.sleep(0.1)
        locker = subprocess.Popen(["psql", "-X", "-q", "-d", os.environ["PGDATABASE"]],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        locker.stdin.write("BEGIN; SELECT 1 FROM abx.experiments WHERE code = 'pool_probe' FOR UPDATE;\n")
        locker.stdin.flush()
        time.sleep(0.5)
        result = {}
        th = threading.Thread(target=lambda: result.setdefault("r", Client(url).request(
            "PATCH", "/api/admin/experiments/pool_probe", token=admin, body={"description": "x"})))
        th.start()
        time.sleep(0.5)
        began = time.time()
        r = other.request("GET", "/api/experiments/pool_probe/winner", token=t.token("abx_service"))
        waited = time.time() - began
        t.check(f"pool exhausted: 503 with Retry-After after {waited:.2f} s",
                r.status == 503 and r.headers.get("retry-after", "").isdigit() and 0.25 < waited < 2, repr(r))
        locker.stdin.write("COMMIT;\n")
        locker.stdin.close()
        locker.wait(timeout=30)
        th.join(timeout=30)
        t.check("the request holding the connection then completes", result.get("r") and result["r"].status == 200,
                repr(result.get("r")))
        r = other.request("GET", "/api/experiments/pool_probe/winner", token=t.token("abx_service"))
        t.status("and the pool serves again", r, 200)
    finally:
        p.terminate()
        p.wait(timeout=10)
