"""The execute-api data plane: runs deployed REST APIs the way API Gateway does.

Request flow and the AWS rule each step follows:

1. Invocation URL, both local forms: `/restapis/{api}/{stage}/_user_request_/{path}` and
   host `{api}.execute-api.localhost` with path `/{stage}/{path}`.
2. Stage -> deployment -> the snapshot taken when that deployment was created; the live
   API is never read ("changes take effect only after a new deployment",
   https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html).
3. Routing: literal segments beat `{param}`, which beats greedy `{param+}`; a method falls
   back to `ANY`. Path parameters are URL-decoded ("REST APIs decode URL-encoded request
   parameters before passing them to backend integrations", known issues page). Unknown
   stage, resource or method: 403 `{"message":"Missing Authentication Token"}`
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
4. Quota: bodies over 10485760 bytes get 413 before any integration runs
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
5. Payload encoding per `encodings.py`.
6. Request mapping: `integration.request.{path|querystring|header}.X` from
   `method.request.{path|querystring|header}.Y` or a quoted static value; the
   `arn:aws:apigateway:{region}:s3:path/...` URI is rendered with the mapped path values,
   each URL-encoded, so `a/b` or `../x` stays one S3 key.
7. Credentials: API Gateway assumes the integration's role (it must trust
   apigateway.amazonaws.com) and signs the S3 call with SigV4 as that role; IAM policy
   evaluation then applies in S3 (controlplane.py). A missing or unassumable role: 500.
8. Responses: the integration response whose selectionPattern fully matches S3's status
   code, else the one without a pattern; its responseParameters fill method response
   headers; the body passes through. No match and no default: 500. Integration timeout
   (timeoutInMillis, default 29 s): 504.

Not modelled (answered with 500 and a message saying so): integration types other than
AWS (S3), `action/...` URIs, VTL mapping templates, authorizers, API keys, usage plans,
request validators, stage variables, caching, throttling (429), custom gateway responses,
Content-MD5 handling, edge-optimized header stripping.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import EnvironBuilder

from harness.localaws import encodings
from harness.localaws.controlplane import take_snapshot

MAX_PAYLOAD_BYTES = 10485760
# Unconfirmed (reference: "Quotas and errors"): body observed in public repositories.
PAYLOAD_TOO_LARGE_BODY = b"HTTP content length exceeded 10485760 bytes."
# Unconfirmed (reference: "S3 proxy configuration"): the Content-Type S3 receives when
# the integration request carries none (not mapped, or mapped from a header the client
# did not send). None sends no header, so S3 stores its default `binary/octet-stream`
# (recorded against AWS: LocalStack tests/aws/services/s3/test_s3_api.snapshot.json,
# `head-object-encrypted`, a PutObject without ContentType reads back
# "ContentType": "binary/octet-stream"). That API Gateway adds no Content-Type of its
# own on this path is the best evidence, not a recorded AWS outcome; a string here
# would model an integration that sends that type instead.
UNMAPPED_CONTENT_TYPE_SENT_TO_S3: str | None = None
# Past this, an oversized body is not drained; the connection is closed instead.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
ROLE_SESSION_SECONDS = 3600
API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
ROLE_REFRESH_MARGIN_SECONDS = 300
# Unconfirmed: whether API Gateway resolves raw `.`/`..` path segments (RFC 3986 5.2.4)
# before routing. Resolving them is what URL-normalising front ends do, and means a raw
# `/{bucket}/../{other}/{key}` is routed as `/{other}/{key}`, where IAM decides. A `..`
# sent percent-encoded (`%2E%2E%2F`) is data inside one segment either way.
RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING = True
# Unconfirmed: the status when a client stops sending a body and the idle timeout passes.
REQUEST_TIMEOUT_STATUS = 408

EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.[^:]+(:\d+)?$", re.I)
USER_REQUEST_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<rest>/.*)?$")
INTEGRATION_URI = re.compile(
    r"^arn:(?P<partition>[^:]+):apigateway:(?P<region>[^:]*):(?P<service>[^:]+):(?P<kind>path|action)/(?P<rest>.*)$"
)

StartResponse = Callable[..., Any]
log = logging.getLogger(__name__)


@dataclass
class GatewayResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    close_connection: bool = False


def _json_message(status: int, message: str, error_type: str) -> GatewayResponse:
    return GatewayResponse(
        status,
        json.dumps({"message": message}).encode(),
        {"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
    )


def missing_authentication_token() -> GatewayResponse:
    return _json_message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def internal_error(reason: str) -> GatewayResponse:
    response = _json_message(500, "Internal server error", "InternalServerErrorException")
    response.headers["x-harness-reason"] = reason[:300].replace("\n", " ")
    return response


def payload_too_large(close: bool) -> GatewayResponse:
    return GatewayResponse(
        413, PAYLOAD_TOO_LARGE_BODY, {"Content-Type": "text/plain"}, close_connection=close
    )


def is_execute_api_request(environ: dict[str, Any]) -> bool:
    host = environ.get("HTTP_HOST", "")
    if EXECUTE_API_HOST.match(host):
        return True
    return "/_user_request_" in environ.get("PATH_INFO", "")


def _raw_path(environ: dict[str, Any]) -> tuple[str, str]:
    """The request path as sent (still percent-encoded) and its query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    if "://" in raw:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    path, _, query = raw.partition("?")
    return path, query or environ.get("QUERY_STRING", "")


def parse_invocation(environ: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(api_id, stage, encoded resource path, query) or None if not an invocation."""
    path, query = _raw_path(environ)
    host_match = EXECUTE_API_HOST.match(environ.get("HTTP_HOST", ""))
    if host_match:
        stage, _, rest = path.lstrip("/").partition("/")
        return host_match.group("api"), unquote(stage), "/" + rest, query
    path_match = USER_REQUEST_PATH.match(path)
    if path_match:
        return path_match.group("api"), unquote(path_match.group("stage")), path_match.group("rest") or "/", query
    return None


def resolve_dot_segments(encoded_path: str) -> str:
    """RFC 3986 remove_dot_segments on raw (still encoded) segments; `..` never climbs above `/`."""
    output: list[str] = []
    segments = encoded_path.split("/")[1:] if encoded_path.startswith("/") else encoded_path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _segments(encoded_path: str) -> list[str]:
    if RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING:
        encoded_path = resolve_dot_segments(encoded_path)
    parts = encoded_path.strip("/").split("/") if encoded_path.strip("/") else []
    return [unquote(part) for part in parts]


def match_route(
    resources: Iterable[dict[str, Any]], encoded_path: str
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The most specific resource matching the path, and its decoded path parameters."""
    request_segments = _segments(encoded_path)
    best: tuple[tuple[int, ...], dict[str, Any], dict[str, str]] | None = None
    for resource in resources:
        template = [s for s in resource["path"].split("/") if s]
        params: dict[str, str] = {}
        score: list[int] = []
        matched = True
        for index, part in enumerate(template):
            greedy = part.startswith("{") and part.endswith("+}")
            if greedy:
                if index != len(template) - 1 or index >= len(request_segments):
                    matched = False
                    break
                params[part[1:-2]] = "/".join(request_segments[index:])
                score.append(0)
                break
            if index >= len(request_segments):
                matched = False
                break
            segment = request_segments[index]
            if part.startswith("{") and part.endswith("}"):
                if segment == "":
                    matched = False
                    break
                params[part[1:-1]] = segment
                score.append(1)
            elif part == segment:
                score.append(2)
            else:
                matched = False
                break
        else:
            if len(template) != len(request_segments):
                matched = False
        if matched and (best is None or tuple(score) > best[0]):
            best = (tuple(score), resource, params)
    return (best[1], best[2]) if best else None


def _header(headers: dict[str, str], name: str) -> str | None:
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
        return _header(headers, source[len("method.request.header.") :])
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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusts_service(trust_policy: str | dict[str, Any], service: str) -> bool:
    """Does a role trust policy let `service` call sts:AssumeRole (explicit Deny wins)?"""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    allowed = False
    for statement in _as_list(document.get("Statement", [])):
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if principal != "*" and service not in services:
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


@dataclass
class _RoleCredentials:
    credentials: Credentials
    expires_at: float


class DataPlane:
    """Executes invocations against moto's backends; `s3_app` is moto's WSGI app."""

    def __init__(self, s3_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self._s3_app = s3_app
        self._role_credentials: dict[tuple[str, str], _RoleCredentials] = {}
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="integration")

    def reset(self) -> None:
        self._role_credentials.clear()

    # --- WSGI entry ---------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self.invoke(environ)
        except Exception as exc:  # the gateway never crashes on a request
            log.exception("execute-api request failed")
            response = internal_error(f"local gateway error: {exc!r}")
        headers = {"x-amzn-RequestId": environ.get("HARNESS_REQUEST_ID", ""), **response.headers}
        headers["Content-Length"] = str(len(response.body))
        if response.close_connection:
            headers["Connection"] = "close"
        start_response(f"{response.status} {_reason(response.status)}", list(headers.items()))
        return [response.body]

    def invoke(self, environ: dict[str, Any]) -> GatewayResponse:
        parsed = parse_invocation(environ)
        if parsed is None:
            return missing_authentication_token()
        api_id, stage_name, encoded_path, raw_query = parsed
        snapshot = self._snapshot_for(api_id, stage_name)
        if snapshot is None:
            self._drain(environ)
            return missing_authentication_token()
        route = match_route(snapshot["resources"], encoded_path)
        http_method = environ["REQUEST_METHOD"].upper()
        methods = (route[0].get("resourceMethods") or {}) if route else {}
        method = methods.get(http_method) or methods.get("ANY")
        if route is None or method is None:
            self._drain(environ)
            return missing_authentication_token()
        try:
            body = self._read_body(environ)
        except TimeoutError:  # the client went quiet mid-body and the idle timeout passed
            body = _json_message(REQUEST_TIMEOUT_STATUS, "Request timed out", "RequestTimeoutException")
            body.close_connection = True
        if isinstance(body, GatewayResponse):
            return body
        headers = _request_headers(environ)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        return self._integrate(snapshot, method, route[1], query, headers, body)

    # --- steps --------------------------------------------------------------------

    def _snapshot_for(self, api_id: str, stage_name: str) -> dict[str, Any] | None:
        from moto.apigateway.models import apigateway_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        for _, backend in apigateway_backends[DEFAULT_ACCOUNT_ID].items():
            api = backend.apis.get(api_id)
            if api is None:
                continue
            stage = api.stages.get(stage_name)
            if stage is None or not stage.deployment_id:
                return None
            deployment = api.deployments.get(stage.deployment_id)
            if deployment is None:
                return None
            snapshot = getattr(deployment, "harness_snapshot", None)
            if snapshot is None:  # deployed before the patches were installed
                snapshot = deployment.harness_snapshot = take_snapshot(api)
            return snapshot
        return None

    def _drain(self, environ: dict[str, Any]) -> None:
        """Read and discard the request body, so the connection stays usable.

        The dev server's wsgi.input is the raw socket: never read past Content-Length.
        """
        stream = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH")
        if declared and declared.isdigit():
            remaining = min(int(declared), MAX_DRAIN_BYTES)
        elif environ.get("wsgi.input_terminated"):
            remaining = MAX_DRAIN_BYTES
        else:
            return
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_body(self, environ: dict[str, Any]) -> bytes | GatewayResponse:
        stream = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            if not declared.strip().isdigit():
                return _json_message(400, "Invalid Content-Length", "BadRequestException")
            length = int(declared)
            if length > MAX_PAYLOAD_BYTES:
                close = length > MAX_DRAIN_BYTES
                if not close:
                    self._drain(environ)
                return payload_too_large(close)
            body = stream.read(length) if length else b""
            if len(body) < length:  # the client stopped mid-stream
                response = _json_message(400, "Request body incomplete", "BadRequestException")
                response.close_connection = True
                return response
            return body
        if not environ.get("wsgi.input_terminated"):
            return b""
        buffer = bytearray()
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > MAX_PAYLOAD_BYTES:
                self._drain(environ)
                return payload_too_large(close=False)
        return bytes(buffer)

    def _integrate(
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
                _header(headers, "Content-Type"),
                snapshot["binaryMediaTypes"],
                integration.get("contentHandling"),
            )
        except encodings.InvalidBase64Error as exc:
            return internal_error(f"body is not valid base64: {exc}")
        del body

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

        def render(match: re.Match[str]) -> str:
            name = match.group(1)
            return quote(mapped_path.get(name, path_params.get(name, "")), safe="-_.~")

        s3_path = "/" + re.sub(r"\{([^}+]+)\+?\}", render, uri.group("rest"))
        region = uri.group("region") or snapshot["region"]
        credentials = self._credentials_for(integration.get("credentials"), snapshot["accountId"])
        if isinstance(credentials, GatewayResponse):
            return credentials
        timeout = int(integration.get("timeoutInMillis") or 29000) / 1000.0
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
            return _json_message(504, "Endpoint request timed out", "IntegrationTimeoutException")
        return self._method_response(integration, method, status, s3_headers, s3_body)

    def _credentials_for(self, role_arn: str | None, account_id: str) -> Credentials | GatewayResponse:
        if not role_arn:
            return internal_error("the integration has no credentials role")
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        cache_key = (account_id, role_arn)
        cached = self._role_credentials.get(cache_key)
        if cached and cached.expires_at - ROLE_REFRESH_MARGIN_SECONDS > time.time():
            return cached.credentials
        iam = iam_backends[account_id]["aws"]
        try:
            role = iam.get_role_by_arn(role_arn)
        except Exception:
            return internal_error(f"Execution role {role_arn} does not exist")
        if not trusts_service(role.assume_role_policy_document, API_GATEWAY_PRINCIPAL):
            return internal_error(f"API Gateway is not trusted to assume {role_arn}")
        assumed = sts_backends[account_id]["aws"].assume_role(
            region_name="us-east-1",
            role_session_name="apigateway",
            role_arn=role_arn,
            policy=None,
            duration=ROLE_SESSION_SECONDS,
            external_id=None,
        )
        credentials = Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)
        self._role_credentials[cache_key] = _RoleCredentials(
            credentials, time.time() + ROLE_SESSION_SECONDS
        )
        return credentials

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
        request = AWSRequest(
            method=http_method,
            url=f"https://{host}{target}",
            headers={**headers, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
        )
        S3SigV4Auth(credentials, "s3", region).add_auth(request)
        body_stream = BytesIO(payload)
        builder = EnvironBuilder(
            path=target,
            method=http_method,
            base_url=f"http://{host}/",
            headers=dict(request.headers.items()),
            input_stream=body_stream,
            content_length=len(payload),
        )
        environ = builder.get_environ()
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

    def _method_response(
        self,
        integration: dict[str, Any],
        method: dict[str, Any],
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
                value = _header(s3_headers, source[len("integration.response.header.") :])
            elif len(source) >= 2 and source[0] == source[-1] == "'":
                value = source[1:-1]
            else:
                value = None
            if value is not None:
                headers[name] = value
        return GatewayResponse(int(selected["statusCode"]), s3_body, headers)


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    413: "Payload Too Large",
    500: "Internal Server Error", 504: "Gateway Timeout",
}


def _reason(status: int) -> str:
    return _REASONS.get(status, "Status")
