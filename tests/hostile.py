"""A hostile HTTP server on 127.0.0.1 for the client's limits: one mode per way a server can hurt.

It speaks just enough HTTP/1.1 (one request per connection, ``Connection: close``) to answer the
client's requests, and it is bounded itself: every connection stops after ``MAX_CONNECTION_S``,
every body after ``MAX_BODY_BYTES`` sent, and the whole server after ``LIFETIME_S`` even if a test
forgets to stop it.

Modes (``mode`` at construction; every route not named answers as an empty account does):

    echo-auth-json-401   401 whose JSON error detail repeats the Authorization header
    echo-auth-json-500   the same as a 500 (retried, then reported)
    echo-auth-html-500   an HTML 500 page that prints the request headers
    echo-auth-urlencoded 401 whose detail is the header URL-encoded (Bearer%20KEY)
    deep-array           /ai/assistants answers 400 KB of ``[``
    gzip-bomb            /ai/assistants answers gzip that inflates without end (1 MB -> ~1 GB)
    total-pages          /ai/tools says ``meta.total_pages: 50000000``
    mcp-same-page        /ai/mcp_servers answers the same full page for every page number
    mcp-endless          /ai/mcp_servers answers a new full page for every page number
    trickle              /ai/assistants sends its body one byte every 0.3 s
    drip                 /ai/assistants sends its headers at once, then its body one byte every 2 s
    slow-headers         /ai/assistants sends its status line, then its headers one byte every 0.5 s
    think                /ai/assistants waits 1.5 s, then answers at once as an empty account does
    no-id                /ai/assistants lists an item without ``id``
    versions-refused     /ai/assistants lists assistant ``desk`` (id a-1), which has no canary config; its
                         versions answer 400 after 0.5 s
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
import zlib
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

MAX_CONNECTION_S = 20.0
MAX_BODY_BYTES = 1 << 30
LIFETIME_S = 60.0


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        started = time.monotonic()
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        url = urlsplit(target)
        self.server.requests.append(f"{method} {url.path}")
        try:
            self.server.answer(sock, method, url.path, parse_qs(url.query), headers, started)
        except OSError:
            return


def _send(sock: socket.socket, status: str, body: bytes, content_type: str = "application/json",
          extra: str = "") -> None:
    sock.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}"
        "Connection: close\r\n\r\n".encode() + body
    )


def _json(sock: socket.socket, value: Any, status: str = "200 OK") -> None:
    _send(sock, status, json.dumps(value).encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.requests: list[str] = []

    def answer(self, sock: socket.socket, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str], started: float) -> None:
        mode, auth = self.mode, headers.get("authorization", "")
        if mode == "echo-auth-json-401":
            return _json(sock, {"errors": [{"detail": f"invalid key in {auth}"}]}, "401 Unauthorized")
        if mode == "echo-auth-json-500":
            return _json(sock, {"errors": [{"detail": f"crashed handling {auth}"}]}, "500 Internal Server Error")
        if mode == "echo-auth-html-500":
            page = f"<html><body><h1>500</h1><pre>Authorization: {auth}</pre></body></html>".encode()
            return _send(sock, "500 Internal Server Error", page, "text/html")
        if mode == "echo-auth-urlencoded":
            return _json(sock, {"errors": [{"detail": f"see /login?h={quote(auth)}"}]}, "401 Unauthorized")
        page_number = int(query.get("page[number]", ["1"])[0])
        if path.endswith("/ai/assistants") and mode == "deep-array":
            return _send(sock, "200 OK", b"[" * 400_000)
        if path.endswith("/ai/assistants") and mode == "gzip-bomb":
            return self._gzip_bomb(sock, started)
        if path.endswith("/ai/assistants") and mode in ("trickle", "drip", "slow-headers"):
            body = json.dumps({"data": []}).encode() + b" " * 200
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            if mode == "slow-headers":
                status_line = head.index(b"\r\n") + 2
                sock.sendall(head[:status_line])
                return self._trickle(sock, head[status_line:] + body, 0.5, started)
            sock.sendall(head)
            return self._trickle(sock, body, 2.0 if mode == "drip" else 0.3, started)
        if path.endswith("/ai/assistants") and mode == "think":
            time.sleep(1.5)
            return _json(sock, {"data": []})
        if path.endswith("/ai/assistants") and mode == "no-id":
            return _json(sock, {"data": [{"name": "nameless"}]})
        if mode == "versions-refused":
            if path.endswith("/ai/assistants"):
                return _json(sock, {"data": [{"id": "a-1", "name": "desk", "instructions": "Help."}]})
            if path.endswith("/ai/assistants/a-1/canary-deploys"):
                return _json(sock, {"errors": [{"detail": "no canary deploy"}]}, "404 Not Found")
            if path.endswith("/ai/assistants/a-1/versions"):
                time.sleep(0.5)
                return _json(sock, {"errors": [{"detail": "versions are not available"}]}, "400 Bad Request")
        if path.endswith("/ai/tools"):
            total = 50_000_000 if mode == "total-pages" else 1
            items = [{"id": "t-1", "type": "webhook", "display_name": "x"}] if mode == "total-pages" else []
            return _json(sock, {"data": items, "meta": {"total_pages": total, "page_number": page_number}})
        if path.endswith("/ai/mcp_servers"):
            size = int(query.get("page[size]", ["20"])[0])
            if mode == "mcp-same-page":
                return _json(sock, [{"id": f"m-{i}", "name": f"m-{i}"} for i in range(size)])
            if mode == "mcp-endless":
                return _json(sock, [{"id": f"m-{page_number}-{i}", "name": f"m-{page_number}-{i}"}
                                    for i in range(size)])
            return _json(sock, [])
        return _json(sock, {"data": []})

    @staticmethod
    def _trickle(sock: socket.socket, data: bytes, every_s: float, started: float) -> None:
        """``data`` one byte every ``every_s`` seconds, until the connection's time is up."""
        for byte in data:
            if time.monotonic() - started > MAX_CONNECTION_S:
                return
            sock.sendall(bytes([byte]))
            time.sleep(every_s)

    def _gzip_bomb(self, sock: socket.socket, started: float) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b"a" * (1 << 20)

        def chunk(data: bytes) -> None:
            if data:
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        chunk(compressor.compress(b'{"data": "'))
        for _ in range(1024):  # 1 GiB once inflated, about 1 MB on the wire
            if time.monotonic() - started > MAX_CONNECTION_S:
                return
            chunk(compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH))
        chunk(compressor.compress(b'"}') + compressor.flush())
        sock.sendall(b"0\r\n\r\n")


class HostileServer:
    """``with HostileServer("trickle") as server: ... server.base_url``; stops after ``LIFETIME_S`` anyway."""

    def __init__(self, mode: str) -> None:
        self._server = _Server(mode)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._timer = threading.Timer(LIFETIME_S, self._server.shutdown)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v2"

    @property
    def requests(self) -> list[str]:
        return list(self._server.requests)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
