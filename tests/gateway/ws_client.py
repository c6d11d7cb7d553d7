"""A minimal RFC 6455 WebSocket client on asyncio streams (Python's standard library only),
written for abx-http's tests independently of the gateway's Beast code: the opening handshake
with Sec-WebSocket-Accept checked, masked client frames, fragmented messages, automatic pongs
(switchable off, to play a dead client) and the closing handshake."""
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeRefused(Exception):
    def __init__(self, status, headers, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code, self.reason = code, reason


class WebSocket:
    def __init__(self, reader, writer, headers):
        self.reader, self.writer, self.headers = reader, writer, headers
        self.answer_pings = True
        self.pings = 0
        self.close_code = None
        self.close_reason = ""

    @classmethod
    async def connect(cls, host, port, path="/api/experiments/ws", headers=None, rcvbuf=None,
                      timeout=10):
        sock = None
        if rcvbuf:
            # A small receive window before connecting: a client that stops reading fills up fast.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
        else:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=1 << 22), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        got = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                got[k.strip().lower()] = v.strip()
        if status != 101:
            body = b""
            n = int(got.get("content-length", "0"))
            if n:
                body = await asyncio.wait_for(reader.readexactly(n), timeout)
            writer.close()
            raise HandshakeRefused(status, got, body)
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if got.get("sec-websocket-accept") != accept:
            writer.close()
            raise AssertionError(f"bad Sec-WebSocket-Accept: {got} vs {accept}")
        return cls(reader, writer, got)

    def _frame(self, opcode, payload: bytes):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + masked

    async def send_raw(self, opcode, payload: bytes):
        self.writer.write(self._frame(opcode, payload))
        await self.writer.drain()

    async def send(self, message):
        text = message if isinstance(message, str) else json.dumps(message)
        await self.send_raw(TEXT, text.encode())

    async def _read_frame(self):
        b0, b1 = await self.reader.readexactly(2)
        fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
        if b1 & 0x80:
            raise AssertionError("a server frame must not be masked")
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return fin, opcode, await self.reader.readexactly(n)

    async def recv(self, timeout=10):
        """The next text message (str); answers pings; raises Closed on a close frame or EOF."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError()
            try:
                fin, opcode, payload = await asyncio.wait_for(self._read_frame(), left)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close_code = self.close_code or 1006
                raise Closed(1006, "connection lost")
            if opcode == PING:
                self.pings += 1
                if self.answer_pings:
                    await self.send_raw(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_code, self.close_reason = code, payload[2:].decode(errors="replace")
                try:
                    await self.send_raw(CLOSE, payload[:2])
                except ConnectionError:
                    pass
                self.writer.close()
                raise Closed(code, self.close_reason)
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    async def recv_json(self, timeout=10):
        return json.loads(await self.recv(timeout))

    async def close(self, code=1000):
        try:
            await self.send_raw(CLOSE, struct.pack("!H", code))
            while True:
                await self.recv(timeout=5)
        except (Closed, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            self.writer.close()

    def stop_reading(self):
        """Plays a client that stops reading: the kernel's receive buffer fills, then the
        server's send buffer (asyncio would otherwise keep reading into its own buffer)."""
        self.writer.transport.pause_reading()

    def abort(self):
        self.writer.transport.abort()
