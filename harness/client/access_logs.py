"""API Gateway's access log as the harness reads it: fetch, parse, match, and one line for a person.

The module's stage writes one JSON line per request to the CloudWatch Logs group its
`access_log_group_name` output names, in the module's format (the `$context` variables
of "Variables for access logging", https://docs.aws.amazon.com/apigateway/latest/
developerguide/api-gateway-variables-for-access-logging.html), keyed by the variable's name
without `$context.`: `requestId`, `extendedRequestId`, `httpMethod`, `path`, `status`,
`integration.status`, `responseLatency`, `integrationErrorMessage`, `error.message`, ...
A variable without a value reads as absent (`ABSENT_VALUES`).

Two readers use it: the pytest plugin, once at the end of a session, for the requests of
the checks that failed (`lines_for_requests`: one bounded wait, since lines reach
CloudWatch Logs seconds after the answer on AWS; requests matched by `x-amz-apigw-id` =
`$context.extendedRequestId`, which a client cannot override, or `x-amzn-RequestId` =
`$context.requestId`, which a client may: "Set up CloudWatch logging for REST APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), and
`harness logs` (`recent`). Both read through FilterLogEvents with a logs client the caller
builds where every AWS client is built (`Target.client`), bounded in pages and lines.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.client.upload_client import RequestIds
from harness.errors import HarnessError
from harness.plumbing.waiting import WaitTimeout, wait_until

LOG_GROUP_OUTPUT = "access_log_group_name"
# What a variable without a value looks like in a line. Not confirmed on AWS: its pages show
# `-` in logged examples but state no rule; the empty string covers a template that quotes
# a variable AWS leaves empty.
ABSENT_VALUES = ("", "-")
# How long the end of a session waits, in all, for the lines of its failed checks' requests.
# CloudWatch Logs documents no delivery delay for API Gateway access logs; lines are commonly
# seen within seconds. A chosen bound, not an AWS fact: a line later than this is reported
# as not arrived in time, never waited for without end.
FETCH_WAIT_SECONDS = 30.0
# Lines read per lookup (FilterLogEvents returns at most 10,000 events per page: API
# reference, FilterLogEvents `limit`), and pages per lookup: a noisy group cannot make a
# lookup unbounded.
PAGE_LIMIT = 1000
MAX_PAGES = 20
# Lines read before the first request, to allow for clock skew between this machine and AWS.
CLOCK_SKEW_MS = 60_000
STATUS_FILTER = re.compile(r"^([1-5])(xx|\d\d)$")
# `harness logs`: at most this many lines, of at most this last period.
MAX_RECENT = 1000
MAX_SINCE_SECONDS = 30 * 86400
NOT_ARRIVED = "no access-log line arrived in time"


@dataclass(frozen=True)
class AccessLogLine:
    """One access-log line: the fields a person reads, and all of them as logged (`fields`)."""

    timestamp_ms: int
    fields: dict[str, Any]

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None or value in ABSENT_VALUES:
            return None
        return str(value)

    @property
    def request_id(self) -> str | None:
        return self.get("requestId")

    @property
    def extended_request_id(self) -> str | None:
        return self.get("extendedRequestId")

    def describe(self) -> str:
        """One line: time, method, path, status, integration status, latency, error messages, request id."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.timestamp_ms / 1000))
        parts = [f"{when}Z", self.get("httpMethod") or "?", self.get("path") or "?",
                 f"status {self.get('status') or '-'}",
                 f"integration {self.get('integration.status') or '-'}"]
        latency = self.get("responseLatency")
        parts.append(f"{latency} ms" if latency else "latency -")
        for label, name in (("error", "error.message"), ("integration error", "integrationErrorMessage")):
            message = self.get(name)
            if message:
                parts.append(f"{label}: {message}")
        parts.append(f"request {self.request_id or '-'}")
        return "  ".join(parts)


def parse(message: str, timestamp_ms: int) -> AccessLogLine | None:
    """A logged line as the module writes it (JSON); None for anything else in the group."""
    try:
        fields = json.loads(message)
    except ValueError:
        return None
    return AccessLogLine(timestamp_ms, fields) if isinstance(fields, dict) else None


def log_group(outputs: dict[str, Any], workspace: str) -> str:
    """The stack's access-log group, or why there is none."""
    name = outputs.get(LOG_GROUP_OUTPUT)
    if not name:
        raise HarnessError(f"workspace {workspace!r} has no access log (its stack has no {LOG_GROUP_OUTPUT} output, "
                           "or access logging is off)",
                           f"apply it again with access logging on: `harness up --workspace {workspace} "
                           "--stack-var access_logging=true`")
    return str(name)


@dataclass
class LogRead:
    """Lines read, oldest first; `complete` is False when the bound on lines stopped the reading
    before the period's end (later lines were not read)."""

    lines: list[AccessLogLine]
    complete: bool


def read(logs: Any, group: str, start_ms: int, end_ms: int | None = None) -> LogRead:
    """The group's lines from `start_ms` on (to `end_ms`), oldest first: at most MAX_PAGES pages of PAGE_LIMIT."""
    from botocore.exceptions import ClientError

    max_lines = PAGE_LIMIT * MAX_PAGES

    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "limit": min(PAGE_LIMIT, max_lines)}
    if end_ms is not None:
        request["endTime"] = end_ms
    lines: list[AccessLogLine] = []
    for _ in range(MAX_PAGES):
        try:
            page = logs.filter_log_events(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise HarnessError(f"the access log group {group} does not exist",
                                   "the stack's access logging is off or the group was deleted; apply the stack "
                                   "again") from exc
            raise
        for event in page.get("events", []):
            line = parse(event.get("message", ""), int(event.get("timestamp", 0)))
            if line is not None:
                lines.append(line)
        token = page.get("nextToken")
        if not token or not page.get("events"):
            return LogRead(lines[:max_lines], len(lines) <= max_lines)
        if len(lines) >= max_lines:
            break
        request["nextToken"] = token
    return LogRead(lines[:max_lines], False)


@dataclass
class CheckLog:
    """What the access log says about one check's requests: each request with its line, or None."""

    requests: list[tuple[RequestIds, AccessLogLine | None]] = field(default_factory=list)
    complete: bool = True  # False: the group held more lines since the session began than were read

    def text_lines(self) -> list[str]:
        """One line per request: the gateway's line, or why there is none."""
        shown = []
        for ids, line in self.requests:
            if line is not None:
                shown.append(line.describe())
            elif not (ids.request_id or ids.extended_request_id):
                shown.append(f"{ids.method} {ids.path} -> {ids.status}: the answer carried no request id "
                             "(x-amzn-RequestId, x-amz-apigw-id): nothing to match")
            elif not self.complete:
                shown.append(f"{ids.method} {ids.path} -> {ids.status} (request {ids.request_id or '-'}, "
                             f"{ids.extended_request_id or '-'}): not among the first {PAGE_LIMIT * MAX_PAGES} "
                             "lines the log group holds since the session began (only those are read)")
            else:
                shown.append(f"{ids.method} {ids.path} -> {ids.status} (request {ids.request_id or '-'}, "
                             f"{ids.extended_request_id or '-'}): {NOT_ARRIVED} (waited up to "
                             f"{FETCH_WAIT_SECONDS:g}s at the session's end)")
        return shown

    def to_json(self) -> list[dict[str, Any]]:
        return [{"method": ids.method, "path": ids.path, "status": ids.status, "requestId": ids.request_id,
                 "extendedRequestId": ids.extended_request_id, "line": line.fields if line else None,
                 "text": text}
                for (ids, line), text in zip(self.requests, self.text_lines(), strict=True)]


def _match(lines: Iterable[AccessLogLine], ids: RequestIds) -> AccessLogLine | None:
    for line in lines:
        if (ids.extended_request_id and line.extended_request_id == ids.extended_request_id) or \
                (ids.request_id and line.request_id == ids.request_id):
            return line
    return None


def lines_for_requests(logs: Any, group: str, checks: dict[str, list[RequestIds]], since: float,
                       wait_seconds: float = FETCH_WAIT_SECONDS) -> dict[str, CheckLog]:
    """Each check's requests with their access-log lines: one wait, bounded by `wait_seconds`, for all of them.

    `since`: the epoch second the first of them was sent (the session's start). A request
    whose answer carried no id is not waited for; one whose line did not arrive in time is
    returned without a line.
    """
    wanted = [ids for requests in checks.values() for ids in requests if ids.request_id or ids.extended_request_id]
    found = LogRead([], True)

    def all_arrived() -> bool:
        nonlocal found
        found = read(logs, group, int(since * 1000) - CLOCK_SKEW_MS)
        # A read that stopped at its bound will not see later lines by waiting longer.
        return not found.complete or all(_match(found.lines, ids) is not None for ids in wanted)

    # No answer carried an id: nothing to look up. On a timeout, what arrived is reported and
    # the rest is said to be missing.
    if wanted:
        with contextlib.suppress(WaitTimeout):
            wait_until(all_arrived, wait_seconds, what="the failed checks' access-log lines", interval=1.0,
                       backoff=1.5, max_interval=5.0)
    return {nodeid: CheckLog([(ids, _match(found.lines, ids)) for ids in requests], found.complete)
            for nodeid, requests in checks.items()}


def parse_status_filter(text: str | None) -> str | None:
    """`5xx`, `4xx`, `503`, ... checked; None for no filter."""
    if text is None:
        return None
    if not STATUS_FILTER.match(text.strip().lower()):
        raise HarnessError(f"--status {text!r} is not a status or class", "use e.g. 5xx, 4xx or 503")
    return text.strip().lower()


def status_matches(line: AccessLogLine, wanted: str | None) -> bool:
    if wanted is None:
        return True
    status = line.get("status") or ""
    return status == wanted if wanted[1:] != "xx" else status[:1] == wanted[0] and len(status) == 3


def recent(logs: Any, group: str, since_seconds: float, status: str | None = None, limit: int = 100,
           now: float | None = None) -> LogRead:
    """The group's lines of the last `since_seconds` (matching `status`), the newest `limit` of them, oldest first.

    At most PAGE_LIMIT x MAX_PAGES lines of the period are read, oldest first: `complete` is
    False when the period held more (its newest lines were not read).
    """
    end = now or time.time()
    found = read(logs, group, int((end - since_seconds) * 1000), int(end * 1000) + 1000)
    lines = sorted((line for line in found.lines if status_matches(line, status)), key=lambda line: line.timestamp_ms)
    return LogRead(lines[-limit:], found.complete)
