"""HTTP client for the deployed upload API: `PUT {invoke_url}/{bucket}/{filename}`.

Real HTTP over requests, with bounded timeouts and no retries: a failed upload must be
seen as failed, never retried into a pass.

The caller check the stack was applied with decides what each request carries
(`CallerAuth`): nothing (NONE), the usage plan's key in `x-api-key` (API_KEY), or a SigV4
signature for service `execute-api` made with botocore's signer over the exact path and body
sent (AWS_IAM; "Control access to a REST API with IAM permissions",
https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html). Only `host`
and `x-amz-date` (and a session token) are signed, so raw-socket checks can add header lines.

Every upload of a body in memory carries its SHA-256 (base64, `x-amz-checksum-sha256`): the
module maps it onto the S3 request, and S3 refuses a body that does not match it and stores
nothing (PutObject API reference; docs/aws-behaviour.md, "Integrity headers reaching S3").
A check that sends its own, or none, says so (`checksum=False`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from harness.client.stack_outputs import StackOutputs

DEFAULT_TIMEOUT = (5.0, 60.0)
REQUEST_ID_HEADER = "x-amzn-RequestId"
EXTENDED_REQUEST_ID_HEADER = "x-amz-apigw-id"
EXECUTE_API_SERVICE = "execute-api"
API_KEY_HEADER = "x-api-key"
CHECKSUM_SHA256_HEADER = "x-amz-checksum-sha256"


def sha256_base64(body: bytes) -> str:
    """The body's SHA-256 as S3's checksum headers carry it: base64 of the 32 bytes."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def md5_base64(body: bytes) -> str:
    """The body's MD5 as Content-MD5 carries it: base64 of the 16 bytes (RFC 1864)."""
    return base64.b64encode(hashlib.md5(body).digest()).decode()  # S3's integrity check, not security


@dataclass(frozen=True)
class CallerAuth:
    """What a request carries to pass the stack's caller check."""

    kind: str = "NONE"  # NONE | API_KEY | AWS_IAM
    api_key: str | None = None
    credentials: Credentials | None = None
    region: str = "us-east-1"

    def headers(self, method: str, url: str, body: bytes = b"") -> dict[str, str]:
        """Headers to add to a request of `method` to `url` (path as sent) with `body`."""
        if self.kind == "API_KEY" and self.api_key:
            return {API_KEY_HEADER: self.api_key}
        if self.kind == "AWS_IAM" and self.credentials is not None:
            request = AWSRequest(method=method, url=url, data=body, headers={"Host": urlsplit(url).netloc})
            SigV4Auth(self.credentials, EXECUTE_API_SERVICE, self.region).add_auth(request)
            return {name: value for name, value in request.headers.items() if name.lower() != "host"}
        return {}

    def header_lines(self, method: str, url: str, body: bytes = b"") -> list[str]:
        """The same headers as raw lines, for `raw_put`."""
        return [f"{name}: {value}" for name, value in self.headers(method, url, body).items()]


def caller_auth(authorization: str, api_key: str | None, credentials: Credentials | None,
                region: str) -> CallerAuth:
    """The CallerAuth for a stack applied with `authorization` (NONE, AWS_IAM or API_KEY)."""
    if authorization == "API_KEY" and not api_key:
        raise ValueError("the stack requires an API key but its outputs carry none (api_key_value)")
    if authorization == "AWS_IAM" and credentials is None:
        raise ValueError("the stack requires SigV4 (AWS_IAM) but no AWS credentials were found")
    return CallerAuth(authorization, api_key, credentials, region)


@dataclass(frozen=True)
class RequestIds:
    """One answer of the gateway as its access log can be matched: what was sent, what came back, its ids
    (empty when the answer carried none)."""

    method: str
    path: str
    status: int
    request_id: str
    extended_request_id: str

    @classmethod
    def of(cls, response: requests.Response) -> RequestIds:
        request = response.request
        return cls(str(request.method), urlsplit(str(request.url)).path, response.status_code,
                   response.headers.get(REQUEST_ID_HEADER, ""), response.headers.get(EXTENDED_REQUEST_ID_HEADER, ""))

    def to_json(self) -> str:
        return json.dumps({"method": self.method, "path": self.path, "status": self.status,
                           "requestId": self.request_id, "extendedRequestId": self.extended_request_id})

    @classmethod
    def from_json(cls, text: str) -> RequestIds:
        data = json.loads(text)
        return cls(data["method"], data["path"], int(data["status"]), data["requestId"], data["extendedRequestId"])


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
    auth: CallerAuth = CallerAuth()
    on_response: Callable[[RequestIds], None] | None = None  # every answer's ids, from any thread

    def __post_init__(self) -> None:
        self.invoke_url = self.invoke_url.rstrip("/")
        self.session = self.session or requests.Session()

    def fresh(self, auth: CallerAuth | None = None) -> UploadClient:
        """The same client with its own HTTP session (one per thread), as another caller if `auth` is given."""
        return UploadClient(self.invoke_url, self.bucket, None, self.timeout, self.on_upload,
                            self.auth if auth is None else auth, self.on_response)

    def _answered(self, response: requests.Response) -> requests.Response:
        if self.on_response is not None:
            self.on_response(RequestIds.of(response))
        return response

    def url(self, key: str, bucket: str | None = None) -> str:
        return f"{self.invoke_url}/{encode_key(bucket or self.bucket)}/{encode_key(key)}"

    def put(
        self,
        key: str,
        body: bytes | Iterable[bytes],
        content_type: str | None = None,
        bucket: str | None = None,
        headers: dict[str, str] | None = None,
        checksum: bool = True,
    ) -> requests.Response:
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        if checksum and isinstance(body, bytes) and not any(name.lower() == CHECKSUM_SHA256_HEADER for name in sent):
            sent[CHECKSUM_SHA256_HEADER] = sha256_base64(body)
        assert self.session is not None
        url = self.url(key, bucket)
        if self.auth.kind == "AWS_IAM" and not isinstance(body, bytes):
            body = b"".join(body)  # the signature covers the payload's hash
        sent.update(self.auth.headers("PUT", url, body if isinstance(body, bytes) else b""))
        started = time.perf_counter()
        response = self.session.put(url, data=body, headers=sent, timeout=self.timeout)
        if self.on_upload and isinstance(body, bytes):
            self.on_upload(len(body), time.perf_counter() - started, response.status_code)
        return self._answered(response)

    def request(self, method: str, path: str, data: bytes = b"", headers: dict[str, str] | None = None,
                sign: bool = True) -> requests.Response:
        """Any method to any path under the invoke URL; with the caller check's headers unless `sign` is off."""
        assert self.session is not None
        url = f"{self.invoke_url}{path}"
        sent = dict(headers or {})
        if sign:
            sent.update(self.auth.headers(method, url, data))
        return self._answered(self.session.request(method, url, data=data, headers=sent, timeout=self.timeout))


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(url: str, request: bytes, half_close: bool = False, timeout: float = 15.0,
             linger: float = 0.5, source_address: str | None = None) -> list[RawResponse]:
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
    # source_address: on loopback any 127.x.y.z can be the caller (resource-policy checks)
    raw = socket.create_connection((host, port), timeout=timeout,
                                   source_address=(source_address, 0) if source_address else None)
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


def for_stack(outputs: StackOutputs, credentials: Credentials | None,
              on_upload: Callable[[int, float, int], None] | None = None,
              on_response: Callable[[RequestIds], None] | None = None) -> UploadClient:
    """The client for a deployed stack, carrying what its caller check (`outputs.authorization`) asks for."""
    auth = caller_auth(outputs.authorization, outputs.api_key,
                       credentials if outputs.authorization == "AWS_IAM" else None, outputs.region)
    return UploadClient(outputs.invoke_url, outputs.bucket_name, on_upload=on_upload, auth=auth,
                        on_response=on_response)
