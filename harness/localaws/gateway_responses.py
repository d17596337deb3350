"""The answers API Gateway itself gives (not the integration's): their status, body and headers.

Sources: "Gateway response types"
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
and the reference's "Quotas and errors".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Unconfirmed (reference: "Quotas and errors", and the assumption
# oversize-413-body-is-api-gateways in harness/assumptions.py): two 413 answers were
# recorded (koki-develop/lgtm-generator#10), CloudFront's text through an edge-optimized
# API and API Gateway's own JSON. The local AWS serves a regional API (the module's
# default), where no CloudFront sits in front, so it follows API Gateway's own answer.
PAYLOAD_TOO_LARGE_MESSAGE = "Request Too Long"
PAYLOAD_TOO_LARGE_ERROR_TYPE = "BadRequestException"

_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    413: "Payload Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 504: "Gateway Timeout",
}


@dataclass
class GatewayResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    close_connection: bool = False


def json_message(status: int, message: str, error_type: str) -> GatewayResponse:
    return GatewayResponse(
        status,
        json.dumps({"message": message}).encode(),
        {"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
    )


def missing_authentication_token() -> GatewayResponse:
    """MISSING_AUTHENTICATION_TOKEN: unknown API, stage, resource or method (403)."""
    return json_message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def internal_error(reason: str) -> GatewayResponse:
    """500 as AWS sends it; `x-harness-reason` says why (AWS puts that in the execution log)."""
    response = json_message(500, "Internal server error", "InternalServerErrorException")
    response.headers["x-harness-reason"] = reason[:300].replace("\n", " ")
    return response


def payload_too_large(close: bool) -> GatewayResponse:
    """REQUEST_TOO_LARGE (413), which cannot be customised."""
    response = json_message(413, PAYLOAD_TOO_LARGE_MESSAGE, PAYLOAD_TOO_LARGE_ERROR_TYPE)
    response.close_connection = close
    return response


def integration_timeout() -> GatewayResponse:
    """INTEGRATION_TIMEOUT (504)."""
    return json_message(504, "Endpoint request timed out", "IntegrationTimeoutException")


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Status")
