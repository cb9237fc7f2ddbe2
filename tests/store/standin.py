"""A local stand-in HTTP server that answers like an InfluxDB we cannot run here (1.8, 2.x, 3.x).

It is a fake, on purpose and only for what cannot run on this machine: it records the requests
the real client code sends (paths, query strings, headers, bodies) and answers with canned
responses, so tests check what Ronde would send to those servers and how it reads the answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @staticmethod
    def json(obj: object, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(obj).encode())


Route = Callable[[Request], Reply]


@dataclass
class StandIn:
    url: str
    routes: dict[tuple[str, str], Route]
    requests: list[Request]

    def on(self, method: str, path: str, route: Route | Reply) -> None:
        if isinstance(route, Reply):
            fixed = route

            def answer(_req: Request) -> Reply:
                return fixed

            self.routes[(method, path)] = answer
        else:
            self.routes[(method, path)] = route

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]


@contextmanager
def standin() -> Iterator[StandIn]:
    routes: dict[tuple[str, str], Route] = {}
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            req = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), self._body())
            requests.append(req)
            route = routes.get((self.command, parts.path))
            reply = route(req) if route else Reply.json({"message": "not found"}, 404)
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _body(self) -> bytes:
            """Content-Length, or chunked (``Transfer-Encoding: chunked``: the store's line protocol writes)."""
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""
            body = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers, up to the empty line
            return bytes(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="influx-standin", daemon=True)
    thread.start()
    try:
        yield StandIn(f"http://127.0.0.1:{server.server_address[1]}", routes, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
