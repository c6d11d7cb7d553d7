"""abx-http's WebSocket feed, end to end (started by tests/shell/websocket.sh): a real cluster, a
real gateway, and the stdlib RFC 6455 client of ws_client.py. Prints TAP-like lines; exits 1 on
any failure. Changes are made with psql (as the superuser, acting for an organization), so what
the feed delivers is what the database committed, whoever made it."""
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from client import Checks, jwt_hs256, now
from ws_client import BINARY, Closed, HandshakeRefused, WebSocket

URL = urllib.parse.urlparse(os.environ["ABX_GATEWAY_URL"])
HOST, PORT = URL.hostname, URL.port
SECRET = open(os.environ["WS_TEST_SECRET_FILE"], "rb").read().strip()
t = Checks()


def token(role="abx_reader", org="acme", ttl=600, **claims):
    c = {"role": role, "exp": now() + ttl, "sub": "ws-tester", **claims}
    if org:
        c["org"] = org
    return jwt_hs256(c, SECRET)


def auth(tok):
    return {"Authorization": "Bearer " + tok}


def sql(statement, org=None):
    """One psql -c (one transaction), acting for an organization."""
    env = dict(os.environ, PGOPTIONS=f"-c abx.organization={org}" if org else "")
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", statement],
                       capture_output=True, text=True, env=env)
    if r.returncode:
        raise AssertionError(f"psql failed: {r.stderr.strip()}")
    return r.stdout.strip()


def experiment(code, org, start=True):
    spec = {"code": code, "salt": code,
            "metrics": {"primary": {"key": "c", "kind": "rate", "event": "buy"}},
            "variants": [{"key": "a", "is_control": True}, {"key": "b"}]}
    sql(f"SELECT abx.create_experiment('{json.dumps(spec)}')", org)
    if start:
        sql(f"SELECT abx.start('{code}')", org)


def metric(name):
    req = urllib.request.Request(os.environ["ABX_GATEWAY_URL"] + "/metrics",
                                 headers=auth(token("abx_analyst")))
    for attempt in range(40):  # 503 while the pool reconnects after a database restart
        try:
            text = urllib.request.urlopen(req, timeout=10).read().decode()
            break
        except urllib.error.HTTPError as e:
            if e.code != 503 or attempt == 39:
                raise
            time.sleep(0.25)
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


async def connect(tok=None, headers=None, path="/api/experiments/ws", **kw):
    h = dict(headers or {})
    if tok:
        h.update(auth(tok))
    return await WebSocket.connect(HOST, PORT, path, h, **kw)


async def subscribe(ws, code):
    await ws.send({"type": "subscribe", "experimentCode": code})
    return await ws.recv_json()


async def next_of(ws, kind, timeout=10, **fields):
    """The next message of a type (and fields); others are skipped: results may come any time,
    and an event committed just before a subscribe may arrive just after it."""
    deadline = time.monotonic() + timeout
    while True:
        m = await ws.recv_json(timeout=max(0.01, deadline - time.monotonic()))
        if m.get("type") == kind and all(m.get(k) == v for k, v in fields.items()):
            return m


async def quiet(ws, seconds, kinds=("winner", "status")):
    """The messages of these types received within `seconds` (none expected)."""
    got = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            m = await ws.recv_json(timeout=deadline - time.monotonic())
            if m.get("type") in kinds:
                got.append(m)
    except asyncio.TimeoutError:
        pass
    return got


async def refused_upgrades():
    async def status_of(**kw):
        try:
            ws = await connect(**kw)
            await ws.close()
            return 101, {}
        except HandshakeRefused as e:
            return e.status, json.loads(e.body or b"{}")
    s, body = await status_of()
    t.check("upgrade without a token → 401 before the upgrade", s == 401, f"{s} {body}")
    s, body = await status_of(tok="not.a.jwt")
    t.check("upgrade with a malformed token → 401", s == 401, f"{s} {body}")
    forged = jwt_hs256({"role": "abx_reader", "org": "acme", "exp": now() + 60}, b"x" * 48)
    s, body = await status_of(tok=forged)
    t.check("upgrade with a token of another key → 401", s == 401, f"{s} {body}")
    s, body = await status_of(tok=token(ttl=-120))
    t.check("upgrade with an expired token → 401", s == 401, f"{s} {body}")
    s, body = await status_of(tok=token(role="postgres"))
    t.check("upgrade with a role the gateway may not act as → 401", s == 401, f"{s} {body}")
    s, body = await status_of(path="/api/experiments/ws?access_token=" + token())
    t.check("a token in the URL is not taken → 401", s == 401, f"{s} {body}")
    req = urllib.request.Request(os.environ["ABX_GATEWAY_URL"] + "/api/experiments/ws",
                                 headers=auth(token()))
    try:
        urllib.request.urlopen(req, timeout=10)
        code, upgrade = 200, None
    except urllib.error.HTTPError as e:
        code, upgrade = e.code, e.headers.get("Upgrade")
    t.check("a plain GET of the WebSocket route → 426 Upgrade: websocket",
            code == 426 and upgrade == "websocket", f"{code} {upgrade}")
    # Browsers: the token as the subprotocol pair "bearer, <JWT>"; the server selects "bearer".
    ws = await connect(headers={"Sec-WebSocket-Protocol": "bearer, " + token()})
    t.check("the token in Sec-WebSocket-Protocol is accepted, subprotocol bearer selected",
            ws.headers.get("sec-websocket-protocol") == "bearer", ws.headers)
    m = await subscribe(ws, "checkout")
    t.check("… and it subscribes", m.get("type") == "subscribed", m)
    await ws.close()


async def events_and_isolation():
    acme = await connect(token())
    m = await subscribe(acme, "checkout")
    t.check("subscribe → subscribed with the current state",
            m == {"type": "subscribed", "experimentCode": "checkout", "status": "running",
                  "winnerVariantKey": None}, m)
    globex = await connect(token(org="globex"))
    m = await subscribe(globex, "checkout")  # globex's own experiment of the same code
    t.check("the other organization subscribes to its own experiment of the same code",
            m.get("type") == "subscribed", m)
    m = await subscribe(globex, "acme-only")
    t.check("subscribing to another organization's experiment → error on the socket (P0002)",
            m.get("type") == "error" and m.get("code") == "P0002" and m.get("experimentCode") == "acme-only", m)
    m = await subscribe(globex, "no-such-experiment")
    t.check("unknown experiment → error P0002, the connection stays open",
            m.get("type") == "error" and m.get("code") == "P0002", m)
    await globex.send("{not json")
    m = await globex.recv_json()
    t.check("a message that is not JSON → error ABX400", m.get("code") == "ABX400", m)
    await globex.send({"type": "subscribe", "experimentCode": "checkout", "extra": 1})
    m = await globex.recv_json()
    t.check("an unknown field → error 22023 naming it",
            m.get("code") == "22023" and "message.extra" in m.get("message", ""), m)
    service = await connect(token(role="abx_service"))
    m = await subscribe(service, "checkout")
    t.check("a role without experiments:read → error 42501", m.get("code") == "42501", m)
    await service.close()

    sql("SELECT abx.promote('checkout', 'b', 'websocket test')", "acme")
    status = await next_of(acme, "status")
    t.check("status event after a change committed in SQL",
            status == {"type": "status", "experimentCode": "checkout", "status": "completed",
                       "previousStatus": "running"}, status)
    winner = await next_of(acme, "winner")
    t.check("winner event exactly as seed 004 documents it",
            winner == {"type": "winner", "experimentCode": "checkout", "winnerVariantKey": "b"}, winner)
    leaked = await quiet(globex, 1.5)
    t.check("the other organization's client received none of it", not leaked, leaked)
    sql("SELECT abx.promote('checkout', 'a', 'websocket test')", "globex")
    winner = await next_of(globex, "winner")
    t.check("… and receives its own organization's winner",
            winner.get("winnerVariantKey") == "a", winner)
    leaked = await quiet(acme, 1.0)
    t.check("… which acme's client does not", not leaked, leaked)

    # Results after each aggregation run (no outbox row): abx_results NOTIFY, read as a reader.
    m = await subscribe(acme, "live")
    # (One psql call: clients that are not read for two ping intervals are closed.)
    sql("DO $$ BEGIN FOR i IN 0 .. 19 LOOP PERFORM abx.assign('live', 'u' || i); "
        "PERFORM abx.track('live', 'u' || i, 'buy'); END LOOP; END $$", "acme")
    sql("SELECT count(*) FROM abx.aggregate('live')", "acme")  # after the events committed
    results = await next_of(acme, "results")
    rows = results.get("results", [])
    n = sum(r["n"] for r in rows if r.get("metric") == "c")
    t.check("results event after an aggregation run, with the figures of the run",
            results.get("experimentCode") == "live" and len(rows) == 2 and n == 20, results)
    m = await quiet(globex, 1.0, kinds=("results",))
    t.check("… not sent to another organization", not m, m)

    await acme.send({"type": "unsubscribe", "experimentCode": "live"})
    m = await acme.recv_json()
    t.check("unsubscribe → unsubscribed", m == {"type": "unsubscribed", "experimentCode": "live"}, m)
    sql("SELECT abx.pause('live')", "acme")
    m = await quiet(acme, 1.0)
    t.check("… and no more events of it", not m, m)
    await acme.close()
    await globex.close()


async def protocol_limits():
    ws = await connect(token())
    await ws.send_raw(BINARY, b"\x00\x01")
    try:
        await ws.recv()
        code = None
    except Closed as e:
        code = e.code
    t.check("a binary message → closed with 1003", code == 1003, code)

    ws = await connect(token())
    await ws.send("x" * 5000)
    try:
        await ws.recv()
        code = None
    except Closed as e:
        code = e.code
    t.check("a message over websocket_max_message_bytes → closed with 1009", code == 1009, code)

    # Keep-alive: a ping after 2 s of silence; a client that never answers is closed within
    # another interval, one that answers stays.
    alive, dead = await connect(token()), await connect(token())
    dead.answer_pings = False
    started = time.monotonic()

    async def listen(ws, seconds):
        try:
            await ws.recv(timeout=seconds)
        except Closed:
            return time.monotonic() - started
        except asyncio.TimeoutError:
            return None
    closed_after, alive_closed = await asyncio.gather(listen(dead, 10), listen(alive, 8))
    t.check("a client that does not answer pings is closed (2 s ping, 2 s more)",
            closed_after is not None and 2 <= closed_after <= 8 and dead.pings >= 1,
            f"after {closed_after} s, {dead.pings} pings")
    t.check("a client that answers pings stays connected",
            alive_closed is None and alive.pings >= 2, f"closed after {alive_closed} s, {alive.pings} pings")
    await alive.close()

    ws = await connect(token(ttl=2))  # exp in 2 s, 1 s of leeway
    started = time.monotonic()
    try:
        while True:
            await ws.recv(timeout=10)
    except Closed as e:
        t.check("the socket is closed with 1008 when the token expires",
                e.code == 1008 and 1.5 <= time.monotonic() - started <= 6,
                f"{e.code} after {time.monotonic() - started:.1f} s")
    except asyncio.TimeoutError:
        t.check("the socket is closed with 1008 when the token expires", False, "still open")


async def slow_client():
    """A client that never reads is dropped when its queue is full; a fast one gets every message."""
    experiment("flood", "acme")
    dropped_before = metric("abx_http_websocket_dropped_total")
    slow = await connect(token(), rcvbuf=4096)
    await subscribe(slow, "flood")
    slow.stop_reading()  # from here on (nor does it answer pings)
    fast = await connect(token())
    await subscribe(fast, "flood")
    # 60 transactions of 10 status changes, 20 ms apart: bursts a reading client drains at once,
    # 600 messages (about 60 KB) for one that does not.
    flood = asyncio.get_running_loop().run_in_executor(None, sql, """
        DO $$ BEGIN
          FOR i IN 1 .. 60 LOOP
            FOR j IN 1 .. 5 LOOP PERFORM abx.pause('flood'); PERFORM abx.resume('flood'); END LOOP;
            COMMIT;
            PERFORM pg_sleep(0.02);
          END LOOP;
        END $$""", "acme")
    got, started = 0, time.monotonic()
    try:
        while got < 600:
            m = await fast.recv_json(timeout=15)
            got += m.get("type") == "status"
    except (asyncio.TimeoutError, Closed) as e:
        t.check("the fast client received all 600 messages", False, f"{got} then {e!r}")
    await flood
    t.check("the fast client received all 600 status messages while the slow one lagged",
            got == 600, f"{got} in {time.monotonic() - started:.1f} s")
    dropped = metric("abx_http_websocket_dropped_total")
    t.check("the slow client was dropped (abx_http_websocket_dropped_total + 1)",
            dropped == dropped_before + 1, f"{dropped_before} → {dropped}")
    t.check("the fast client is still connected", fast.close_code is None, fast.close_code)
    await fast.close()
    slow.abort()


async def database_restart():
    experiment("restart", "acme")
    ws = await connect(token())
    await subscribe(ws, "restart")
    connects = metric("abx_http_feed_connects_total")
    subprocess.run(os.environ["WS_TEST_PG_RESTART"], shell=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Committed at once: the feed is still reconnecting (its backoff), so this is caught up.
    sql("SELECT abx.pause('restart')", "acme")
    try:
        m = await next_of(ws, "status", timeout=20, status="paused")
    except (asyncio.TimeoutError, Closed) as e:
        m = repr(e)
    t.check("a change committed while the feed was away is delivered after it reconnects",
            isinstance(m, dict) and m.get("status") == "paused", m)
    after = metric("abx_http_feed_connects_total")
    t.check("the feed reconnected (abx_http_feed_connects_total grew)",
            after is not None and connects is not None and after > connects, f"{connects} → {after}")
    sql("SELECT abx.resume('restart')", "acme")
    try:
        m = await next_of(ws, "status", timeout=10, status="running")
    except (asyncio.TimeoutError, Closed) as e:
        m = repr(e)
    t.check("… and a change made after the reconnect is delivered (LISTEN again)",
            isinstance(m, dict) and m.get("status") == "running", m)
    await ws.close()


async def thousand_clients(n=int(os.environ.get("WS_TEST_CLIENTS", "1000"))):
    experiment("load", "acme")
    tok = token(ttl=3600)
    received = {}
    subscribed = [0]

    async def client(i, gate):
        async with gate:
            ws = await connect(tok, timeout=30)
            m = await subscribe(ws, "load")
            assert m.get("type") == "subscribed", m
            subscribed[0] += 1
        # Read from here on (pings are answered while waiting).
        try:
            while True:
                m = await ws.recv_json(timeout=60)
                if m.get("type") == "winner":
                    received[i] = time.monotonic()
                    break
        finally:
            ws.abort()

    gate = asyncio.Semaphore(100)
    started = time.monotonic()
    tasks = [asyncio.create_task(client(i, gate)) for i in range(n)]
    async def stop():
        for x in tasks:
            x.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # Every client has its "subscribed" answer (and the gateway counts them all).
    while subscribed[0] < n and time.monotonic() - started < 60:
        await asyncio.sleep(0.05)
        failed = [x for x in tasks if x.done() and x.exception()]
        if failed:
            await stop()
            raise failed[0].exception()
    setup = time.monotonic() - started
    t.check(f"{n} clients connected and subscribed", metric("abx_http_websocket_clients") == n,
            metric("abx_http_websocket_clients"))
    # A psql already connected, so the trigger costs one statement: t0 is taken just before it
    # is sent, so each delay is an upper bound of commit → receipt.
    proc = await asyncio.create_subprocess_exec(
        "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    proc.stdin.write(b"SET abx.organization = 'acme'; SELECT 'ready';\n")
    await proc.stdin.drain()
    await proc.stdout.readline()
    t0 = time.monotonic()
    proc.stdin.write(b"SELECT abx.promote('load', 'b', 'load test') IS NOT NULL;\n")
    await proc.stdin.drain()
    await proc.stdout.readline()
    committed = time.monotonic() - t0
    proc.stdin.close()
    await asyncio.wait(tasks, timeout=10)
    await proc.wait()
    delays = sorted((v - t0) * 1000 for v in received.values())
    await stop()
    if len(delays) == n:
        p50, p99 = statistics.median(delays), delays[int(0.99 * n) - 1]
        print(f"# {n} clients (set up in {setup:.1f} s); promote returned after {committed * 1000:.1f} ms; "
              f"winner delivery from the statement: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {delays[-1]:.1f} ms")
    t.check(f"all {n} concurrent clients received the winner change within 1 s",
            len(delays) == n and delays[-1] < 1000,
            f"{len(delays)} received, max {delays[-1] if delays else None} ms")


async def main():
    only = sys.argv[1:]
    experiment("checkout", "acme")
    experiment("acme-only", "acme")
    experiment("checkout", "globex")
    experiment("live", "acme")
    steps = [("refused", refused_upgrades), ("events", events_and_isolation),
             ("limits", protocol_limits), ("slow", slow_client), ("load", thousand_clients),
             ("restart", database_restart)]
    for name, step in steps:
        if only and name not in only:
            continue
        print(f"# {name}")
        try:
            await step()
        except Exception as e:  # a crash of a step is a failure, and the others still run
            t.check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
    print(f"websocket: {t.passed} passed, {t.failed} failed")
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    asyncio.run(main())
