"""The execute-api data plane: one request through API Gateway, step by step.

This module owns the request flow, reading the body and the payload quota; each other
step lives in its own module:

1. Routing (`routing.py`): invocation URL -> API, stage, resource, method; unknown stage,
   resource or method: 403 `{"message":"Missing Authentication Token"}`
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
   which is also what a CORS preflight (`OPTIONS`) to a resource without an OPTIONS method gets.
2. Stage -> deployment -> the snapshot taken when that deployment was created
   (`backends.deployed_snapshot`); the live API is never read ("changes take effect only
   after a new deployment",
   https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html).
3. Quota: bodies over 10485760 bytes get 413 before any integration runs
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
4. Caller checks (`authorization.py`): AWS_IAM signatures and execute-api:Invoke, the
   resource policy, API keys, stage and usage-plan throttling (429) and quotas.
5. The integration call (`integration.py`): payload encoding, request mapping,
   credentials (`credentials.py`: STS + SigV4), the S3 call, response selection; or a
   MOCK integration (a CORS preflight's answer).
6. Every answer the gateway gives itself (not one built from an integration response) goes
   through the API's put gateway responses (`gateway_responses.customise`): status and
   headers, e.g. a CORS origin on DEFAULT_4XX.
7. Every answer carries the request's ids (`x-amzn-RequestId`, `x-amz-apigw-id`), and the
   stage's access log gets its line (`access_log.py`).

Not modelled (answered with 500 and a message saying so): integration types other than
AWS (S3) and MOCK, `action/...` URIs, VTL mapping templates, Lambda/Cognito authorizers,
request validators, stage variables, caching, gateway-response templates (the body stays
the type's own), account-level throttling, edge-optimized header stripping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from harness.localaws import access_log, backends, routing
from harness.localaws.access_log import AccessLog, RequestRecord
from harness.localaws.authorization import CallerChecks, caller_request
from harness.localaws.faults import Faults
from harness.localaws.gateway_responses import (
    GatewayResponse,
    customise,
    internal_error,
    json_message,
    missing_authentication_token,
    payload_too_large,
    reason_phrase,
)
from harness.localaws.integration import S3Integration, StartResponse, WsgiApp, resolve_parameter

MAX_PAYLOAD_BYTES = 10485760
# Past this, an oversized body is not drained; the connection is closed instead.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
# Unconfirmed: the status when a client stops sending a body and the idle timeout passes.
REQUEST_TIMEOUT_STATUS = 408
# Request headers the method request never sees, so no mapping can pass them on. Recorded on a
# REGIONAL API (LocalStack tests/aws/services/apigateway/test_apigateway_integrations.snapshot.json,
# TestApiGatewayHeaderRemapping, recorded 2024-12-11): the client's Content-MD5 was empty in
# `$input.params('Content-MD5')` and absent from what HTTP_PROXY and AWS_PROXY integrations
# received. AWS's endpoint-type page ("Change a public or private API endpoint type") says a
# Regional API passes Content-MD5 through, "although it may remap the header name". Unconfirmed
# for a PUT with a valid digest (the recording sent a GET with a placeholder value): an empty
# tuple models the page's reading.
DROPPED_REQUEST_HEADERS: tuple[str, ...] = ("Content-MD5",)

log = logging.getLogger(__name__)


class DataPlane:
    """Executes invocations of deployed REST APIs; `s3_app` is moto's WSGI app."""

    def __init__(self, s3_app: WsgiApp, faults: Faults | None = None) -> None:
        self._integration = S3Integration(s3_app, faults)
        self._callers = CallerChecks()
        self._access_log = AccessLog()
        # Only with the aws-like profile: a new deployment or stage is not live at once.
        self._stages = faults if faults is not None and (faults.profile.stage_delay > 0 or faults.profile.flap) \
            else None

    def reset(self) -> None:
        self._integration.reset()
        self._callers.reset()

    # --- WSGI entry ---------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        record = access_log.start(environ)
        try:
            response = self.invoke(environ, record)
        except Exception as exc:  # the gateway never crashes on a request
            log.exception("execute-api request failed")
            response = internal_error(f"local gateway error: {exc!r}")
        record.finish(response)
        try:
            self._access_log.write(record)
        except Exception:  # a line that cannot be written never changes the answer
            log.exception("access log line not written")
        headers = {**response.headers, **record.headers()}
        headers["Content-Length"] = str(len(response.body))
        if response.close_connection:
            headers["Connection"] = "close"
        start_response(f"{response.status} {reason_phrase(response.status)}", list(headers.items()))
        return [response.body]

    def invoke(self, environ: dict[str, Any], record: RequestRecord | None = None) -> GatewayResponse:
        """The answer to one invocation; `record` (the access log's) is filled in on the way."""
        record = record or access_log.start(environ)
        parsed = routing.parse_invocation(environ)
        if parsed is None:
            return missing_authentication_token()
        api_id, stage_name, encoded_path, raw_query = parsed
        snapshot = backends.deployed_snapshot(api_id, stage_name)
        if snapshot is None or (self._stages is not None and self._stages.stage_not_live(api_id)):
            self._drain(environ)
            return missing_authentication_token()
        record.api_id, record.stage, record.encoded_path = api_id, stage_name, encoded_path
        record.region = str(snapshot.get("region") or "us-east-1")
        record.account_id = str(snapshot.get("accountId") or backends.default_account_id())
        headers = _request_headers(environ)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        route = routing.match_route(snapshot["resources"], encoded_path)
        path_params = route[1] if route else {}
        if route is not None:
            record.resource_path, record.resource_id = route[0].get("path"), route[0].get("id")
        response = self._invoke_route(environ, snapshot, api_id, stage_name, encoded_path, raw_query, route,
                                      headers, query, record)
        mapped = _method_request_headers(headers)
        return customise(response, snapshot.get("gatewayResponses") or {},
                         lambda source: resolve_parameter(source, path_params, query, mapped))

    def _invoke_route(self, environ: dict[str, Any], snapshot: dict[str, Any], api_id: str, stage_name: str,
                      encoded_path: str, raw_query: str, route: tuple[dict[str, Any], dict[str, str]] | None,
                      headers: dict[str, str], query: dict[str, str], record: RequestRecord) -> GatewayResponse:
        method = routing.select_method(route[0] if route else None, environ["REQUEST_METHOD"])
        if route is None or method is None:
            self._drain(environ)
            return missing_authentication_token()
        try:
            body = self._read_body(environ)
        except TimeoutError:  # the client went quiet mid-body and the idle timeout passed
            body = json_message(REQUEST_TIMEOUT_STATUS, "Request timed out", "RequestTimeoutException")
            body.close_connection = True
        if isinstance(body, GatewayResponse):
            return body
        checked = caller_request(environ, snapshot, api_id, stage_name, method, route[0], encoded_path, raw_query,
                                 headers, body)
        denied = self._callers.check(checked)
        record.user_arn, record.api_key_id = checked.caller_arn, checked.api_key_id
        if denied is not None:  # authorization.py: API keys, IAM, resource policy, throttling
            return denied
        answer = self._integration.run(snapshot, method, route[1], query, _method_request_headers(headers), body)
        if not answer.from_integration and answer.status >= 500 and answer.integration_error is None:
            # A call API Gateway could not make or complete (no role, configuration): its reason.
            answer.integration_error = answer.headers.get("x-harness-reason")
        return answer

    # --- the request body -----------------------------------------------------------

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
                return json_message(400, "Invalid Content-Length", "BadRequestException")
            length = int(declared)
            if length > MAX_PAYLOAD_BYTES:
                close = length > MAX_DRAIN_BYTES
                if not close:
                    self._drain(environ)
                return payload_too_large(close)
            body = stream.read(length) if length else b""
            if len(body) < length:  # the client stopped mid-stream
                response = json_message(400, "Request body incomplete", "BadRequestException")
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


def _method_request_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers mappings can read (the caller checks see the request as sent)."""
    dropped = {name.lower() for name in DROPPED_REQUEST_HEADERS}
    return {name: value for name, value in headers.items() if name.lower() not in dropped}


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers
