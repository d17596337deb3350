"""Warming the local AWS: the first call to each service the stack uses, made by the local AWS itself.

moto builds each service's Flask app, URL map, backend and response classes on the
first request for that service (measured on a fresh local AWS under `terraform apply`:
the first CreateRestApi 286-353 ms and the first S3 bucket calls 150-190 ms, against
2-10 ms for later calls). Terraform spends about half a second on its own start before
its first AWS call, so `serve_forever` runs these calls in a background thread right
after it reports ready, and the apply no longer waits for them.

The calls are read-only (list, get, and a read of a bucket that cannot exist), signed
with SigV4 as the provider signs them, and go through the same WSGI app as a real
request, in this process; they create nothing and leave no state behind. They do count
as requests, which matters only if moto's INITIAL_NO_AUTH_ACTION_COUNT is set, and the
local AWS does not set it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Keys that act as the account administrator (backends.caller_identity), as the harness's own.
_ACCESS_KEY = "test"
_SECRET_KEY = "test"
_REGION = "us-east-1"
# A bucket name S3 would never create (no uppercase in bucket names), so the read always
# answers NoSuchBucket, whatever the stack has created by then.
_ABSENT_BUCKET = "harness-WARM-UP-absent"


@dataclass(frozen=True)
class WarmUpCall:
    """One read-only call: the signing service, method, path and form body."""

    service: str
    method: str
    path: str
    form: str = ""
    target: str = ""  # X-Amz-Target of a JSON-protocol call (the body is then `form`, JSON)


# What `terraform apply` of the stack calls first on each service (TF_LOG=debug):
# iam GetUser (the provider's account lookup), sts as its fallback, s3 bucket reads after
# CreateBucket, apigateway CreateRestApi, logs CreateLogGroup (its first call: ~100 ms cold,
# 7 ms warm, measured).
CALLS: tuple[WarmUpCall, ...] = (
    WarmUpCall("apigateway", "GET", "/restapis"),
    WarmUpCall("s3", "GET", "/"),
    WarmUpCall("s3", "GET", f"/{_ABSENT_BUCKET}?tagging"),
    WarmUpCall("iam", "POST", "/", "Action=GetUser&Version=2010-05-08"),
    WarmUpCall("iam", "POST", "/", "Action=ListRoles&Version=2010-05-08"),
    WarmUpCall("sts", "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15"),
    WarmUpCall("logs", "POST", "/", "{}", "Logs_20140328.DescribeLogGroups"),
)

App = Callable[[dict[str, Any], Any], Iterable[bytes]]


def environ_for(call: WarmUpCall, host: str) -> dict[str, Any]:
    """The WSGI environ of `call`, SigV4-signed for its service as the provider signs it."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from werkzeug.datastructures import Headers
    from werkzeug.test import EnvironBuilder

    body = call.form.encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if body else {}
    if call.target:
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": call.target}
    request = AWSRequest(method=call.method, url=f"http://{host}{call.path}", data=body, headers=headers)
    signer = S3SigV4Auth if call.service == "s3" else SigV4Auth
    signer(Credentials(_ACCESS_KEY, _SECRET_KEY), call.service, _REGION).add_auth(request)
    path, _, query = call.path.partition("?")
    return EnvironBuilder(path=path, query_string=query, method=call.method, base_url=f"http://{host}/",
                          headers=Headers(dict(request.headers.items())), data=body).get_environ()


def call(app: App, warm_up_call: WarmUpCall, host: str) -> int:
    """Make one call through `app`; its HTTP status."""
    status: list[int] = []

    def start_response(line: str, _headers: list[tuple[str, str]], _exc_info: Any = None) -> None:
        status.append(int(line.split(" ", 1)[0]))

    chunks = app(environ_for(warm_up_call, host), start_response)
    try:
        for _ in chunks:
            pass
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    return status[0] if status else 0


def warm_up(app: App, host: str) -> float:
    """Make every call in CALLS; seconds taken. A call that fails is logged, never raised:
    warming is an optimisation and must not stop the local AWS."""
    started = time.monotonic()
    for warm_up_call in CALLS:
        try:
            call(app, warm_up_call, host)
        except Exception:  # see the docstring
            log.warning("warming %s %s %s failed", warm_up_call.service, warm_up_call.method, warm_up_call.path,
                        exc_info=True)
    return time.monotonic() - started


def start_in_background(app: App, host: str, report: Callable[[float], None] | None = None) -> threading.Thread:
    """Warm up in a daemon thread (it never delays start-up or shutdown); `report` gets the seconds taken."""

    def run() -> None:
        seconds = warm_up(app, host)
        if report is not None:
            report(seconds)

    thread = threading.Thread(target=run, name="localaws-warm-up", daemon=True)
    thread.start()
    return thread
