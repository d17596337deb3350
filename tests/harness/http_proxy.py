"""A loopback HTTP proxy in front of the local AWS, for tests that must see or bend what a
child process (Terraform's provider, its S3 backend) asks: it forwards every request,
records what it forwarded and what came back, and lets a test answer some requests itself."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Exchange:
    """One request the proxy forwarded, and the status the upstream answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int


class ForwardingProxy:
    """Forwards to `upstream`; `answer(method, path)` may answer a request instead (None: forward)."""

    def __init__(self, upstream: str, answer: Callable[[str, str], Answer | None] | None = None) -> None:
        self.exchanges: list[Exchange] = []
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                own = answer(self.command, self.path) if answer else None
                if own is not None:
                    self._answer(own.status, own.headers, own.body)
                    return
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    upstream_connection.request(self.command, self.path, body=body,
                                                headers={k: v for k, v in self.headers.items()
                                                         if k.lower() != "connection"})
                    reply = upstream_connection.getresponse()
                    content = reply.read()
                    proxy.exchanges.append(Exchange(self.command, self.path, dict(self.headers.items()), reply.status))
                    self._answer(reply.status, [(k, v) for k, v in reply.getheaders() if k.lower() not in HOP_BY_HOP],
                                 content)
                finally:
                    upstream_connection.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
