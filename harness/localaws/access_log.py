"""API Gateway's access log and request ids, for every execute-api request of the local AWS.

This module owns:
- the two ids of a request: `$context.requestId` (a UUID, answered as `x-amzn-RequestId`) and
  `$context.extendedRequestId` (answered as `x-amz-apigw-id`), on every answer, the
  gateway's own errors included (reference "Variables for access logging": requestId is the
  x-amzn-RequestId header, extendedRequestId is x-amz-apigw-id);
- what one request did, gathered as it goes through the data plane (`RequestRecord`): who
  called, where it was routed, the integration's status, latency and error, and the answer;
- the line: when the stage has access log settings (a stage setting, read as it is now: "You
  do not need to redeploy the API when you update the stage settings, logs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), the
  stage's `format` with each `$context` variable substituted, appended to the CloudWatch
  Logs group its `destinationArn` names (moto's Logs, through `backends.append_log_event`).

Variables and their meaning: "Variables for access logging for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html.
A variable without a value, and one this module does not model, is written as "-" (recorded
against AWS: a REST API access log line with `"caller": "-"` and `"user": "-"` for an
unsigned request, ministryofjustice/modernisation-platform-environments#3807, which also shows
`requestTime` as `27/Oct/2023:13:40:57 +0000`, `requestTimeEpoch` in milliseconds and `path`
with the stage in front).

Not modelled: authorizer, WAF, Cognito and X-Ray variables, `$context.identity.caller` and
`$context.identity.accountId` (the principal id and account of a signed caller; the ARN is
`identity.userArn`), CloudWatch's delivery delay (a line is there when the answer is sent),
AWS's checks of the format (it must contain `$context.requestId` or
`$context.extendedRequestId`) and of the destination when the settings are written, and a
client's own `x-amzn-RequestId` request header, which AWS answers (and logs) instead of its
own id (recorded in awsdocs/amazon-api-gateway-developer-guide#71).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.localaws import backends
from harness.localaws.gateway_responses import DEFAULT_4XX, DEFAULT_5XX, GatewayResponse, response_type_of

ABSENT = "-"
# Unconfirmed: the log stream API Gateway writes access log lines to (AWS does not document
# its stream names). One stream per stage here.
STREAM_NAME_FORMAT = "{api_id}_{stage}"
# Unconfirmed: whether API Gateway escapes a value it substitutes (AWS documents none). The
# local AWS escapes `"`, `\` and control characters as a JSON string would, so that a JSON
# format stays one parseable line whatever an error message holds (a SigV4 refusal's message
# has line breaks and quotes).
ESCAPE_VALUES_AS_JSON = True
# Unconfirmed: what `$context.integrationErrorMessage` holds when S3 answered with an error
# status. S3 did answer, so the integration call itself did not fail: it stays "-" and S3's
# status is `$context.integration.status`; only a call API Gateway could not complete
# (timeout, role not assumable, configuration error) has a message.
S3_ERROR_STATUS_IS_INTEGRATION_ERROR = False
# `x-amz-apigw-id` as AWS sends it: 16 characters, base64 of 11 bytes; recorded on a 403
# MissingAuthenticationTokenException next to a UUID `x-amzn-requestid`: "LIxCyGd7SK4FjEg="
# (awsdocs/amazon-api-gateway-developer-guide#71).
EXTENDED_ID_BYTES = 11
_VARIABLE = re.compile(r"\$context((?:\.[A-Za-z0-9_]+)+)")


def new_request_id() -> str:
    return str(uuid.uuid4())


def new_extended_request_id() -> str:
    return base64.b64encode(os.urandom(EXTENDED_ID_BYTES)).decode("ascii")


@dataclass
class RequestRecord:
    """What one execute-api request did, filled in by the data plane as it goes."""

    http_method: str
    source_ip: str
    protocol: str
    user_agent: str | None = None
    domain_name: str | None = None
    request_id: str = field(default_factory=new_request_id)
    extended_request_id: str = field(default_factory=new_extended_request_id)
    started: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)
    api_id: str | None = None
    stage: str | None = None
    account_id: str | None = None
    region: str | None = None
    encoded_path: str | None = None  # after the stage, as sent
    resource_path: str | None = None
    resource_id: str | None = None
    user_arn: str | None = None
    api_key_id: str | None = None
    # Filled from the answer (`finish`).
    status: int | None = None
    response_length: int | None = None
    response_latency_ms: int | None = None
    integration_status: int | None = None
    integration_latency_ms: int | None = None
    integration_request_id: str | None = None
    integration_error: str | None = None
    error_message: str | None = None
    error_response_type: str | None = None

    def finish(self, response: GatewayResponse) -> None:
        """Take the answer's status, length and error, and the integration's outcome."""
        self.status = response.status
        self.response_length = len(response.body)
        self.response_latency_ms = int((time.monotonic() - self.started_monotonic) * 1000)
        self.integration_status = response.integration_status
        self.integration_latency_ms = response.integration_latency_ms
        self.integration_request_id = response.integration_request_id
        self.integration_error = response.integration_error
        if response.from_integration:
            if S3_ERROR_STATUS_IS_INTEGRATION_ERROR and (response.integration_status or 0) >= 400:
                self.integration_error = f"S3 answered {response.integration_status}"
            return
        # The gateway's own answer: its message and gateway response type ("Gateway response
        # types", https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
        self.error_message = _message_of(response.body)
        self.error_response_type = response_type_of(response) or (DEFAULT_5XX if response.status >= 500
                                                                  else DEFAULT_4XX)

    def headers(self) -> dict[str, str]:
        """The id headers every answer carries."""
        return {"x-amzn-RequestId": self.request_id, "x-amz-apigw-id": self.extended_request_id}

    def variables(self) -> dict[str, str | None]:
        """Each modelled `$context` variable (name after `$context.`) and its value, None when absent."""
        request_time = datetime.fromtimestamp(self.started, UTC)
        path = f"/{self.stage}{self.encoded_path or ''}" if self.stage is not None else None
        return {
            "accountId": self.account_id,
            "apiId": self.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_name.split(".", 1)[0] if self.domain_name else None,
            "extendedRequestId": self.extended_request_id,
            "httpMethod": self.http_method,
            "identity.apiKeyId": self.api_key_id,
            "identity.sourceIp": self.source_ip,
            "identity.userAgent": self.user_agent,
            "identity.userArn": self.user_arn,
            "path": path,
            "protocol": self.protocol,
            "requestId": self.request_id,
            "requestTime": request_time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": str(int(self.started * 1000)),
            "resourceId": self.resource_id,
            "resourcePath": self.resource_path,
            "stage": self.stage,
            "status": _text(self.status),
            "responseLength": _text(self.response_length),
            "responseLatency": _text(self.response_latency_ms),
            "integration.status": _text(self.integration_status),
            "integration.latency": _text(self.integration_latency_ms),
            "integrationLatency": _text(self.integration_latency_ms),
            "integration.requestId": self.integration_request_id,
            "awsEndpointRequestId": self.integration_request_id,
            "integration.error": self.integration_error,
            "integrationErrorMessage": self.integration_error,
            "error.message": self.error_message,
            "error.messageString": json.dumps(self.error_message) if self.error_message is not None else None,
            "error.responseType": self.error_response_type,
        }


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _message_of(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    message = document.get("message", document.get("Message"))
    return message if isinstance(message, str) else None


def render(log_format: str, variables: dict[str, str | None]) -> str:
    """The format with each `$context.NAME` replaced by its value ("-" when absent or unknown).

    The longest known name wins, so `$context.status.` reads `status` followed by a dot.
    """
    out: list[str] = []
    for literal, name, rest in _compile(log_format, frozenset(variables)):
        out.append(literal)
        if name is not None:
            value = variables[name]
            out.append(_escape(value) if value is not None else ABSENT)
        out.append(rest)
    return "".join(out)


@functools.lru_cache(maxsize=64)
def _compile(log_format: str, known: frozenset[str]) -> tuple[tuple[str, str | None, str], ...]:
    """The format as (text before, variable name or None for an unknown one, text after the name) parts."""
    parts: list[tuple[str, str | None, str]] = []
    position = 0
    for match in _VARIABLE.finditer(log_format):
        segments = match.group(1)[1:].split(".")
        name: str | None = None
        rest = ""
        for end in range(len(segments), 0, -1):
            candidate = ".".join(segments[:end])
            if candidate in known:
                name, rest = candidate, "".join("." + segment for segment in segments[end:])
                break
        literal = log_format[position:match.start()]
        parts.append((literal, name, rest) if name is not None else (literal + ABSENT, None, ""))
        position = match.end()
    parts.append((log_format[position:], None, ""))
    return tuple(parts)


def _escape(value: str) -> str:
    return json.dumps(value)[1:-1] if ESCAPE_VALUES_AS_JSON else value


def log_group_name(destination_arn: str) -> str | None:
    """`NAME` of `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME` (a trailing `:*` ignored)."""
    parts = destination_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "logs" or not parts[5].startswith("log-group:"):
        return None
    name = parts[5][len("log-group:"):]
    return name[:-2] if name.endswith(":*") else name


class AccessLog:
    """Writes each finished request's line where its stage says (one lock: moto's streams are not thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, record: RequestRecord) -> str | None:
        """The line written, or None (no stage, no settings, or no such log group: AWS then logs nothing)."""
        if record.api_id is None or record.stage is None or record.account_id is None or record.region is None:
            return None
        settings = backends.stage_access_log_settings(record.account_id, record.region, record.api_id, record.stage)
        if not settings or not settings.get("destinationArn") or not settings.get("format"):
            return None
        group = log_group_name(settings["destinationArn"])
        if group is None:
            return None
        line = render(settings["format"], record.variables())
        stream = STREAM_NAME_FORMAT.format(api_id=record.api_id, stage=record.stage)
        with self._lock:
            written = backends.append_log_event(record.account_id, record.region, group, stream,
                                                int(record.started * 1000), line)
        return line if written else None


def start(environ: dict[str, Any]) -> RequestRecord:
    """The record of a request that has just arrived."""
    return RequestRecord(
        http_method=str(environ.get("REQUEST_METHOD", "")),
        source_ip=str(environ.get("REMOTE_ADDR", "")),
        protocol=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        user_agent=environ.get("HTTP_USER_AGENT"),
        domain_name=(environ.get("HTTP_HOST") or "").split(":", 1)[0] or None,
    )
