"""A small HTTP client and JWT minter for abx-http's integration tests (Python's standard
library, plus the openssl command for RS256/ES256 signatures): written independently of the
gateway's own JWT code, so the two check each other."""
import base64
import hashlib
import hmac
import http.client
import json
import subprocess
import time
import urllib.parse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(claims: dict, secret: bytes, header: dict = None) -> str:
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def _der_to_raw(der: bytes) -> bytes:
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r || s, 32 bytes each.
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\x00").rjust(32, b"\x00")
        i += 2 + n
    return out


def jwt_openssl(claims: dict, private_pem_path: str, alg: str, kid: str) -> str:
    header = {"alg": alg, "typ": "JWT", "kid": kid}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", private_pem_path],
                         input=signing_input.encode(), capture_output=True, check=True).stdout
    if alg == "ES256":
        sig = _der_to_raw(sig)
    return signing_input + "." + b64url(sig)


class Response:
    def __init__(self, status, headers, body: bytes):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def text(self):
        return self.raw.decode(errors="replace")

    def __repr__(self):
        return f"{self.status} {self.text[:300]}"


class Client:
    """One keep-alive connection to the gateway. Every request made is noted in `Client.seen`
    (method, path), so the tests can show that each documented route was called."""

    seen = set()

    def __init__(self, url: str):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, token=None, body=None, headers=None, raw=None, auth=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if auth is not None:
            h["Authorization"] = auth
        Client.seen.add((method, path.split("?")[0]))
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                resp = Response(r.status, r.getheaders(), r.read())
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok - {name}")
        else:
            self.failed += 1
            print(f"not ok - {name}: {detail}")
        return ok

    def status(self, name, resp, expected):
        exp = expected if isinstance(expected, (list, tuple, set)) else [expected]
        return self.check(f"{name} → {resp.status}", resp.status in exp,
                          f"expected {expected}, got {resp!r}")


def now():
    return int(time.time())
