"""The integration call: map the method request onto an S3 request, call S3, map the answer.

- Request mapping: `integration.request.{path|querystring|header}.X` from
  `method.request.{path|querystring|header}.Y` or a quoted static value; the
  `arn:aws:apigateway:{region}:s3:path/...` URI is rendered with the mapped path values,
  each URL-encoded, so `a/b` or `../x` stays one S3 key.
- Payload encoding per `encodings.py`.
- The S3 call is signed as the integration's role (`credentials.py`) and handed to
  moto's S3 as a WSGI request; timeoutInMillis (default 29 s) bounds it: 504.
- Responses: the integration response whose selectionPattern fully matches S3's status
  code, else the one without a pattern; its responseParameters fill method response
  headers; the body passes through; API Gateway adds `Content-Type: application/json`
  where none is mapped (known issues page). No match and no default: 500.

MOCK integrations ("Set up mock integrations in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html), what
a CORS preflight answer is made of:
- the request template is chosen by the request's Content-Type, `application/json` when it
  has none; no match: `WHEN_NO_MATCH` passes the body through, `NEVER` (and
  `WHEN_NO_TEMPLATES` when templates exist) answers 415 ("Method request behavior for
  payloads without mapping templates",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html);
- a template cannot be applied to a binary payload (binaryMediaTypes, encodings.py) unless
  contentHandling is CONVERT_TO_TEXT: 500, API_CONFIGURATION_ERROR (recorded execution log:
  "Unable to transform request", aws/serverless-application-model#553; with `*/*` every
  request is binary, even a bodiless preflight: aws/chalice#1310);
- the rendered template's integer `statusCode` selects the integration response (its
  selectionPattern against that code, else the default one); the method response is built
  as for S3, with no integration headers and an empty body. No integer: see
  MOCK_WITHOUT_STATUS_CODE.
Templates with VTL (`$` or `#`) are not modelled (500 saying so); static ones are.

Only `AWS` integrations with `s3 path/` URIs and `MOCK` integrations are modelled; anything
else is a 500 that says so.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from io import BytesIO
from typing import Any
from urllib.parse import quote, urlencode

from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from harness.localaws import encodings
from harness.localaws.credentials import RoleSessions, sign_s3_request
from harness.localaws.faults import Faults, s3_error
from harness.localaws.gateway_responses import (
    GatewayResponse,
    integration_timeout,
    internal_error,
    unsupported_media_type,
)

# Unconfirmed (reference: "S3 proxy configuration"): the Content-Type S3 receives when
# the integration request carries none (not mapped, or mapped from a header the client
# did not send). None sends no header, so S3 stores its default `binary/octet-stream`
# (recorded against AWS: LocalStack tests/aws/services/s3/test_s3_api.snapshot.json,
# `head-object-encrypted`, a PutObject without ContentType reads back
# "ContentType": "binary/octet-stream"). That API Gateway adds no Content-Type of its
# own on this path is the best evidence, not a recorded AWS outcome; a string here
# would model an integration that sends that type instead.
UNMAPPED_CONTENT_TYPE_SENT_TO_S3: str | None = None
DEFAULT_TIMEOUT_MILLIS = 29000
# The content type a request without one is mapped as (passthrough behaviors page, example 1).
DEFAULT_TEMPLATE_CONTENT_TYPE = "application/json"
API_CONFIGURATION_ERROR = "API_CONFIGURATION_ERROR"
# Unconfirmed: what a MOCK integration whose template yields no integer statusCode answers.
# Nothing recorded against AWS; a configuration error is API_CONFIGURATION_ERROR (500) in
# "Gateway response types", and LocalStack answers 500 too. Only a broken API meets it.
MOCK_WITHOUT_STATUS_CODE = API_CONFIGURATION_ERROR
# Unconfirmed: `$context.integrationErrorMessage` of an integration that timed out (the
# execution log's words for it; access_log.py).
INTEGRATION_TIMEOUT_ERROR = "Execution failed due to a timeout error"
INTEGRATION_URI = re.compile(
    r"^arn:(?P<partition>[^:]+):apigateway:(?P<region>[^:]*):(?P<service>[^:]+):(?P<kind>path|action)/(?P<rest>.*)$"
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, matched case-insensitively."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def resolve_parameter(
    source: str, path_params: dict[str, str], query: dict[str, str], headers: dict[str, str]
) -> str | None:
    """Value of a mapping source: `method.request.path.X`, ..., or a quoted static value."""
    if len(source) >= 2 and source[0] == "'" and source[-1] == "'":
        return source[1:-1]
    for prefix, values in (
        ("method.request.path.", path_params),
        ("method.request.querystring.", query),
    ):
        if source.startswith(prefix):
            return values.get(source[len(prefix) :])
    if source.startswith("method.request.header."):
        return header(headers, source[len("method.request.header.") :])
    return None


def select_integration_response(
    responses: dict[str, dict[str, Any]] | None, status: int
) -> dict[str, Any] | None:
    default = None
    for response in (responses or {}).values():
        pattern = response.get("selectionPattern")
        if not pattern:
            default = default or response
        elif re.fullmatch(pattern, str(status)):
            return response
    return default


def map_request(
    integration: dict[str, Any], path_params: dict[str, str], query: dict[str, str], headers: dict[str, str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The integration request's (path, querystring, header) values from requestParameters."""
    mapped_path: dict[str, str] = {}
    mapped_query: dict[str, str] = {}
    mapped_headers: dict[str, str] = {}
    targets = {
        "integration.request.path.": mapped_path,
        "integration.request.querystring.": mapped_query,
        "integration.request.header.": mapped_headers,
    }
    for target, source in (integration.get("requestParameters") or {}).items():
        for prefix, bucket in targets.items():
            if target.startswith(prefix):
                value = resolve_parameter(source, path_params, query, headers)
                if value is not None:
                    bucket[target[len(prefix) :]] = value
    if not any(k.lower() == "content-type" for k in mapped_headers) and UNMAPPED_CONTENT_TYPE_SENT_TO_S3:
        mapped_headers["Content-Type"] = UNMAPPED_CONTENT_TYPE_SENT_TO_S3
    return mapped_path, mapped_query, mapped_headers


class S3Integration:
    """Runs AWS-type integrations with S3 `path/` URIs against moto's S3 (`s3_app`)."""

    def __init__(self, s3_app: WsgiApp, faults: Faults | None = None) -> None:
        self._s3_app = s3_app
        self._faults = faults
        self._s3_faults = faults is not None and faults.wants("s3.put")
        self.sessions = RoleSessions()
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="integration")

    def reset(self) -> None:
        self.sessions.reset()

    def run(
        self,
        snapshot: dict[str, Any],
        method: dict[str, Any],
        path_params: dict[str, str],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> GatewayResponse:
        integration = method.get("methodIntegration")
        if not integration:
            return internal_error("the method has no integration")
        if integration.get("type") == "MOCK":
            return self._run_mock(snapshot, integration, headers, body)
        if integration.get("type") != "AWS":
            return internal_error(f"integration type {integration.get('type')} is not modelled")
        uri = INTEGRATION_URI.match(integration.get("uri") or "")
        if uri is None:
            return internal_error(f"integration URI {integration.get('uri')!r} is not an AWS service ARN")
        if uri.group("service") != "s3" or uri.group("kind") != "path":
            return internal_error(
                f"{uri.group('service')} {uri.group('kind')}/ integrations are not modelled "
                "(only s3 path/ URIs)"
            )
        try:
            payload = encodings.convert_request(
                body,
                header(headers, "Content-Type"),
                snapshot["binaryMediaTypes"],
                integration.get("contentHandling"),
            )
        except encodings.InvalidBase64Error as exc:
            return internal_error(f"body is not valid base64: {exc}")
        del body

        mapped_path, mapped_query, mapped_headers = map_request(integration, path_params, query, headers)

        def render(match: re.Match[str]) -> str:
            name = match.group(1)
            return quote(mapped_path.get(name, path_params.get(name, "")), safe="-_.~")

        s3_path = "/" + re.sub(r"\{([^}+]+)\+?\}", render, uri.group("rest"))
        region = uri.group("region") or snapshot["region"]
        role_arn = integration.get("credentials")
        if self._faults is not None and role_arn and self._faults.role_not_assumable(role_arn):
            # The answer AWS gives while the role cannot be assumed (reference, "IAM propagation").
            return internal_error(f"API Gateway does not have permission to assume the provided role {role_arn} "
                                  "(not propagated yet: local AWS profile)")
        credentials = self.sessions.credentials_for(role_arn, snapshot["accountId"])
        if isinstance(credentials, GatewayResponse):
            return credentials
        timeout = int(integration.get("timeoutInMillis") or DEFAULT_TIMEOUT_MILLIS) / 1000.0
        called = time.monotonic()
        future = self._executor.submit(
            self._call_s3,
            integration.get("httpMethod") or "PUT",
            s3_path,
            mapped_query,
            mapped_headers,
            payload,
            credentials,
            region,
        )
        try:
            status, s3_headers, s3_body = future.result(timeout=timeout)
        except FutureTimeout:
            answer = integration_timeout()
            answer.integration_latency_ms = int((time.monotonic() - called) * 1000)
            answer.integration_error = INTEGRATION_TIMEOUT_ERROR
            return answer
        latency_ms = int((time.monotonic() - called) * 1000)
        answer = self._method_response(integration, status, s3_headers, s3_body)
        answer.integration_status = status
        answer.integration_latency_ms = latency_ms
        answer.integration_request_id = header(s3_headers, "x-amz-request-id")
        return answer

    def _run_mock(self, snapshot: dict[str, Any], integration: dict[str, Any], headers: dict[str, str],
                  body: bytes) -> GatewayResponse:
        """A MOCK integration: the request template decides the status, the integration response the rest."""
        content_type = header(headers, "Content-Type")
        templates = {key.lower(): value for key, value in (integration.get("requestTemplates") or {}).items()}
        template = templates.get(encodings.media_type(content_type) or DEFAULT_TEMPLATE_CONTENT_TYPE)
        if template is None:
            behavior = integration.get("passthroughBehavior") or "WHEN_NO_MATCH"
            if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
                return unsupported_media_type()
            rendered = body.decode("utf-8", errors="replace")
        else:
            binary = encodings.is_binary(content_type, snapshot["binaryMediaTypes"])
            if binary and integration.get("contentHandling") != encodings.CONVERT_TO_TEXT:
                return internal_error("Execution failed due to configuration error: Unable to transform request "
                                      "(a binary payload without contentHandling CONVERT_TO_TEXT)",
                                      API_CONFIGURATION_ERROR)
            if "$" in template or "#" in template:
                return internal_error("VTL mapping templates are not modelled (only static ones)")
            rendered = template
        try:
            status = json.loads(rendered).get("statusCode")
        except (ValueError, AttributeError):
            status = None
        if not isinstance(status, int) or isinstance(status, bool):
            return internal_error("Unable to parse statusCode: the request template must give an integer "
                                  "statusCode", MOCK_WITHOUT_STATUS_CODE)
        return self._method_response(integration, status, {}, b"")

    def _call_s3(
        self,
        http_method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        payload: bytes,
        credentials: Credentials,
        region: str,
    ) -> tuple[int, dict[str, str], bytes]:
        host = f"s3.{region}.amazonaws.com"
        target = path + ("?" + urlencode(query) if query else "")
        request = AWSRequest(method=http_method, url=f"https://{host}{target}", headers=dict(headers))
        sign_s3_request(request, credentials, region)
        if self._s3_faults and http_method == "PUT":
            injected = self._inject_s3_fault(path)
            if injected is not None:
                return injected
        body_stream = BytesIO(payload)
        builder = EnvironBuilder(
            path=target,
            method=http_method,
            base_url=f"http://{host}/",
            headers=Headers(dict(request.headers.items())),  # what EnvironBuilder makes of a dict
            input_stream=body_stream,
            content_length=len(payload),
        )
        environ = builder.get_environ()
        # The stream holds exactly the body, so it needs no length guard: with the guard
        # (werkzeug's LimitedStream) moto's `request.data` re-reads it in 64 KiB pieces
        # into a new buffer and then copies that again; unguarded, BytesIO hands back
        # `payload` itself. Measured: two fewer transient copies of each body (PEP 3333
        # leaves this key to the server; werkzeug's `get_input_stream` honours it).
        environ["wsgi.input_terminated"] = True
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = dict(response_headers)

        chunks = self._s3_app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
            # moto's request objects form reference cycles that reach this stream; closing
            # it frees the body now instead of at the next cycle collection.
            body_stream.close()
        return captured["status"], captured["headers"], body

    def _inject_s3_fault(self, path: str) -> tuple[int, dict[str, str], bytes] | None:
        """S3 PutObject as S3 answers on a bad day: added latency, then 503 SlowDown or
        500 InternalError instead of storing anything (harness/localaws/faults.py)."""
        from urllib.parse import unquote

        assert self._faults is not None
        detail = {"path": unquote(path.split("?", 1)[0])}
        for rule in self._faults.pick("s3.put", detail, ("latency",), single=False):
            time.sleep(rule.value or 0.0)
        fired = self._faults.pick("s3.put", detail, ("slowdown", "internal"))
        if not fired:
            return None
        return s3_error(fired[0].kind, detail["path"], uuid.uuid4().hex[:16].upper())

    def _method_response(
        self,
        integration: dict[str, Any],
        status: int,
        s3_headers: dict[str, str],
        s3_body: bytes,
    ) -> GatewayResponse:
        selected = select_integration_response(integration.get("integrationResponses"), status)
        if selected is None:
            return internal_error(
                f"no integration response matches status {status} and none is the default"
            )
        headers = {"Content-Type": "application/json"}
        for target, source in (selected.get("responseParameters") or {}).items():
            if not target.startswith("method.response.header."):
                continue
            name = target[len("method.response.header.") :]
            if source.startswith("integration.response.header."):
                value = header(s3_headers, source[len("integration.response.header.") :])
            elif len(source) >= 2 and source[0] == source[-1] == "'":
                value = source[1:-1]
            else:
                value = None
            if value is not None:
                headers[name] = value
        return GatewayResponse(int(selected["statusCode"]), s3_body, headers, from_integration=True)
