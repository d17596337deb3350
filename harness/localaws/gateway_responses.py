"""The answers API Gateway itself gives (not the integration's): their status, body and headers.

Sources: "Gateway response types"
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
and the reference's "Quotas and errors".

Customised gateway responses ("Gateway responses for REST APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html):
an API's put gateway response for an answer's own type wins; else `DEFAULT_4XX` or
`DEFAULT_5XX` by the answer's status class applies to every type not put itself (recorded
against AWS: LocalStack tests/aws/services/apigateway/test_apigateway_api.snapshot.json,
`test_gateway_response_put`: after a DEFAULT_5XX put, API_CONFIGURATION_ERROR reads back
DEFAULT_5XX's values while an explicitly put AUTHORIZER_FAILURE keeps its own). Its
`statusCode`, when set, replaces the type's status; each `gatewayresponse.header.NAME`
adds a header from a static `'value'` or from `method.request.{header,querystring,path}.X`.
Gateway responses belong to the API, so a stage serves those of its deployment's snapshot
("Every time you update an API, you must redeploy", how-to-deploy-api.html). Not modelled:
response templates (AWS runs them without VTL, substituting `$context` values); the body
stays the type's own. Answers built from an integration response are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Unconfirmed (reference: "Quotas and errors", and the assumption
# oversize-413-body-is-api-gateways in harness/targets/assumptions.py): two 413 answers were
# recorded (koki-develop/lgtm-generator#10), CloudFront's text through an edge-optimized
# API and API Gateway's own JSON. The local AWS serves a regional API (the module's
# default), where no CloudFront sits in front, so it follows API Gateway's own answer.
PAYLOAD_TOO_LARGE_MESSAGE = "Request Too Long"
PAYLOAD_TOO_LARGE_ERROR_TYPE = "BadRequestException"
# Unconfirmed (assumption oversize-413-carries-no-cors-headers in harness/targets/assumptions.py):
# whether DEFAULT_4XX's headers reach the 413. AWS's known issues for REST APIs say the
# REQUEST_TOO_LARGE gateway response cannot be customised
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html),
# and a team that tried found the default served despite its customisation
# (https://zenn.dev/august/articles/67c76de854cb6d); so none is applied, and a browser sees
# no Access-Control-Allow-Origin on it.
REQUEST_TOO_LARGE_TAKES_GATEWAY_RESPONSES = False
DEFAULT_4XX, DEFAULT_5XX, REQUEST_TOO_LARGE = "DEFAULT_4XX", "DEFAULT_5XX", "REQUEST_TOO_LARGE"
HEADER_PREFIX = "gatewayresponse.header."

# The gateway response type of each answer the local AWS gives, by its x-amzn-ErrorType
# (types and statuses: "Gateway response types"). An answer without an entry takes only
# DEFAULT_4XX / DEFAULT_5XX.
_TYPE_BY_ERROR = {
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "ForbiddenException": "INVALID_API_KEY",
    "AccessDeniedException": "ACCESS_DENIED",
    "InvalidSignatureException": "INVALID_SIGNATURE",
    "TooManyRequestsException": "THROTTLED",
    "LimitExceededException": "QUOTA_EXCEEDED",
    "IntegrationTimeoutException": "INTEGRATION_TIMEOUT",
    "UnsupportedMediaTypeException": "UNSUPPORTED_MEDIA_TYPE",
}

_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
    500: "Internal Server Error", 504: "Gateway Timeout",
}


@dataclass
class GatewayResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    close_connection: bool = False
    # Built from an integration response (the method's own answer): gateway responses never apply.
    from_integration: bool = False
    # The gateway response type, where the x-amzn-ErrorType does not tell it.
    response_type: str | None = None
    # The integration's outcome, for the access log (access_log.py): S3's status, the call's
    # latency, S3's request id, and why a call API Gateway could not complete failed.
    integration_status: int | None = None
    integration_latency_ms: int | None = None
    integration_request_id: str | None = None
    integration_error: str | None = None


def json_message(status: int, message: str, error_type: str) -> GatewayResponse:
    return GatewayResponse(
        status,
        json.dumps({"message": message}).encode(),
        {"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
    )


def missing_authentication_token() -> GatewayResponse:
    """MISSING_AUTHENTICATION_TOKEN: unknown API, stage, resource or method (403)."""
    return json_message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def internal_error(reason: str, response_type: str | None = None) -> GatewayResponse:
    """500 as AWS sends it; `x-harness-reason` says why (AWS puts that in the execution log)."""
    response = json_message(500, "Internal server error", "InternalServerErrorException")
    response.headers["x-harness-reason"] = reason[:300].replace("\n", " ")
    response.response_type = response_type
    return response


def payload_too_large(close: bool) -> GatewayResponse:
    """REQUEST_TOO_LARGE (413), which cannot be customised."""
    response = json_message(413, PAYLOAD_TOO_LARGE_MESSAGE, PAYLOAD_TOO_LARGE_ERROR_TYPE)
    response.close_connection = close
    response.response_type = REQUEST_TOO_LARGE
    return response


def unsupported_media_type() -> GatewayResponse:
    """UNSUPPORTED_MEDIA_TYPE (415): no mapping template for the request's content type and the
    passthrough behavior refuses it ("Method request behavior for payloads without mapping templates",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html)."""
    return json_message(415, "Unsupported Media Type", "UnsupportedMediaTypeException")


def integration_timeout() -> GatewayResponse:
    """INTEGRATION_TIMEOUT (504)."""
    return json_message(504, "Endpoint request timed out", "IntegrationTimeoutException")


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Status")


def response_type_of(response: GatewayResponse) -> str | None:
    """The gateway response type of one of the gateway's own answers, if known."""
    return response.response_type or _TYPE_BY_ERROR.get(response.headers.get("x-amzn-ErrorType", ""))


def customise(response: GatewayResponse, put: Mapping[str, Mapping[str, Any]],
              resolve: Callable[[str], str | None]) -> GatewayResponse:
    """Apply the API's put gateway responses (`put`: response type -> GatewayResponse fields)
    to one of the gateway's own answers; `resolve` gives a `method.request.*` value."""
    if response.from_integration or not put:
        return response
    response_type = response_type_of(response)
    if response_type == REQUEST_TOO_LARGE and not REQUEST_TOO_LARGE_TAKES_GATEWAY_RESPONSES:
        return response
    chosen = put.get(response_type) if response_type else None
    if chosen is None:
        chosen = put.get(DEFAULT_4XX if response.status < 500 else DEFAULT_5XX)
    if chosen is None:
        return response
    if chosen.get("statusCode"):
        response.status = int(chosen["statusCode"])
    for target, source in (chosen.get("responseParameters") or {}).items():
        if not target.startswith(HEADER_PREFIX):
            continue
        value = source[1:-1] if len(source) >= 2 and source[0] == source[-1] == "'" else resolve(source)
        if value is not None:
            response.headers[target[len(HEADER_PREFIX):]] = value
    return response
