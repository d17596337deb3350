"""HTTP client for the deployed upload API: `PUT {invoke_url}/{bucket}/{filename}`.

Real HTTP over requests, with bounded timeouts and no retries: a failed upload must be
seen as failed, never retried into a pass.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

DEFAULT_TIMEOUT = (5.0, 60.0)


def encode_key(key: str) -> str:
    """One path segment: `/` and everything unsafe percent-encoded."""
    return quote(key, safe="")


@dataclass
class UploadClient:
    invoke_url: str
    bucket: str
    session: requests.Session | None = None
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    on_upload: Callable[[int, float, int], None] | None = None  # (bytes, seconds, status)

    def __post_init__(self) -> None:
        self.invoke_url = self.invoke_url.rstrip("/")
        self.session = self.session or requests.Session()

    def url(self, key: str, bucket: str | None = None) -> str:
        return f"{self.invoke_url}/{encode_key(bucket or self.bucket)}/{encode_key(key)}"

    def put(
        self,
        key: str,
        body: bytes | Iterable[bytes],
        content_type: str | None = None,
        bucket: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        assert self.session is not None
        started = time.perf_counter()
        response = self.session.put(self.url(key, bucket), data=body, headers=sent, timeout=self.timeout)
        if self.on_upload and isinstance(body, bytes):
            self.on_upload(len(body), time.perf_counter() - started, response.status_code)
        return response

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        assert self.session is not None
        return self.session.request(method, f"{self.invoke_url}{path}", timeout=self.timeout, **kwargs)  # type: ignore[arg-type]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(url: str, request: bytes, half_close: bool = False, timeout: float = 15.0,
             linger: float = 0.5) -> list[RawResponse]:
    """Send bytes exactly as given to the host of `url`; return every response read.

    For what `requests` refuses to send: folded or injected headers, lying
    Content-Length, bodies that stop mid-stream, raw `..` segments. Reads until the server
    closes the connection, `timeout` passes, or complete responses have arrived and
    nothing more follows for `linger` seconds (bounded either way).

    The write side stays open unless `half_close` is asked for: some servers drop the
    response of a connection the client half-closed (LocalStack's does, even for a valid
    PUT), so only a check about a body that stops mid-stream should half-close.
    """
    parsed = urlsplit(url)
    scheme, host = parsed.scheme, parsed.hostname or ""
    port = parsed.port or (443 if scheme == "https" else 80)
    deadline = time.monotonic() + timeout
    raw = socket.create_connection((host, port), timeout=timeout)
    sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host) if scheme == "https" else raw
    received = bytearray()
    with sock:
        sock.sendall(request)
        if half_close:
            if scheme == "https":
                raise ValueError("half_close is only possible on plain http")
            sock.shutdown(socket.SHUT_WR)
        while time.monotonic() < deadline:
            complete = _complete_responses(bytes(received))
            wait = deadline - time.monotonic()
            if complete:
                wait = min(wait, linger)
            sock.settimeout(max(0.05, wait))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if complete:
                    break
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return parse_responses(bytes(received))


def _complete_responses(data: bytes) -> bool:
    """True when `data` holds at least one response and ends on a response boundary."""
    if not data.startswith(b"HTTP/"):
        return False
    while data.startswith(b"HTTP/"):
        head, separator, rest = data.partition(b"\r\n\r\n")
        if not separator:
            return False
        match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        if match is None:
            return False  # framed by the connection's end: wait for it
        length = int(match.group(1))
        if len(rest) < length:
            return False
        data = rest[length:]
    return not data


def parse_responses(data: bytes) -> list[RawResponse]:
    """HTTP/1.1 responses one after another (Content-Length framed, or to the end)."""
    responses = []
    while data.startswith(b"HTTP/"):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", len(rest)))
        responses.append(RawResponse(int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return responses


def raw_put(url: str, headers: list[str], body: bytes) -> bytes:
    """A PUT request to `url`'s path as given (no normalising); `headers` are raw lines, sent verbatim."""
    parsed = urlsplit(url)
    lines = [f"PUT {parsed.path or '/'} HTTP/1.1", f"Host: {parsed.netloc}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
