"""HTTP client for the deployed upload API: `PUT {invoke_url}/{bucket}/{filename}`.

Real HTTP over requests, with bounded timeouts and no retries: a failed upload must be
seen as failed, never retried into a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

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
