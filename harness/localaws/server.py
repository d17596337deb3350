"""One loopback server, one port: moto's AWS APIs plus the execute-api data plane.

`LocalAws` runs it in this process (a context manager on an ephemeral port, with
`reset()`); `serve_forever()` is what `harness localaws` runs in the foreground.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.errors import LocalAwsError
from harness.localaws.faults import FAULTS_PATH, Faults
from harness.plumbing import signals
from harness.plumbing.files import replace_text

if TYPE_CHECKING:
    from moto.backends import SERVICE_NAMES

DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 4566
# A connection that sends nothing for this long is closed (a body that stops mid-stream
# must not hold a server thread forever). HARNESS_LOCALAWS_IDLE_TIMEOUT overrides it.
DEFAULT_IDLE_TIMEOUT_SECONDS = 60.0


def _idle_timeout() -> float:
    try:
        return float(os.environ.get("HARNESS_LOCALAWS_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT_SECONDS))
    except ValueError:
        return DEFAULT_IDLE_TIMEOUT_SECONDS


def framing_error(headers: Any) -> str | None:
    """Why a request's header block is unsafe to act on, or None.

    Each of these lets two parsers disagree about where a request or a header ends
    (request smuggling, header injection); AWS's front ends refuse them with 400, and so
    does the local AWS, before any service sees the request.
    """
    lengths = headers.get_all("Content-Length") or []
    if len(set(lengths)) > 1:
        return "conflicting Content-Length headers"
    if lengths and not lengths[0].strip().isdigit():
        return "Content-Length is not a non-negative integer"
    if lengths and headers.get("Transfer-Encoding"):
        return "both Content-Length and Transfer-Encoding"
    for name, value in headers.items():
        if any(c in value for c in "\r\n\x00"):
            return f"header {name} contains a line break or NUL (folded or injected header)"
    return None


def _prepare_environment() -> None:
    # moto reads these at import time; set them before the first moto import.
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")


def build_app(faults: Faults | None = None) -> Any:
    """The WSGI app: execute-api requests to the data plane, everything else to moto.

    With `faults` (a profile or a fault spec, harness/localaws/faults.py) the control plane
    goes through `ControlPlaneFaults` and the data plane may reset connections; without,
    the app is exactly as fast as before.
    """
    _prepare_environment()
    from harness.localaws import controlplane

    # Before moto's server is imported: refuses (LocalAwsError) unless moto is the pinned
    # version and every package its server and the served services import is installed.
    controlplane.install()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from harness.localaws.dataplane import DataPlane
    from harness.localaws.routing import is_execute_api_request


    def create_quiet_backend_app(service: SERVICE_NAMES) -> Any:
        backend_app = create_backend_app(service)
        # moto runs Flask in debug mode, whose form-data helper ties every request into a
        # reference cycle with its whole body (measured: +9.5 MB per 9.5 MiB PUT until a
        # cycle collection). Debug mode adds nothing to a server; switch it off.
        backend_app.debug = False
        backend_app.register_error_handler(NotImplementedError, lambda exc: not_implemented_answer(service, exc))
        return backend_app

    moto_app = DomainDispatcherApplication(create_quiet_backend_app)
    data_plane = DataPlane(moto_app, faults)
    control_plane: Any = moto_app if faults is None else ControlPlaneFaults(moto_app, faults)
    resets = faults is not None and faults.wants("data")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if is_execute_api_request(environ):
            if resets and faults is not None:  # resets implies faults; `is not None` tells the type checker
                return _maybe_reset(data_plane, faults, environ, start_response)
            return data_plane(environ, start_response)
        if environ.get("PATH_INFO") == FAULTS_PATH:
            return _faults_report(faults, start_response)
        return control_plane(environ, start_response)

    app.data_plane = data_plane  # type: ignore[attr-defined]  # on the function: LocalAws.reset and tests read it
    app.moto_app = moto_app  # type: ignore[attr-defined]  # on the function: the warm-up and tests read it
    return app


# An operation moto does not model answers 400, never 500: the AWS SDKs retry 5xx (Go v1, which
# provider 3.39 uses: DefaultRetryer.ShouldRetry retries every status >= 500 but 501, and the
# throttling and "RequestError"/"RequestTimeout" codes; aws/client/default_retryer.go), so a 500
# kept `terraform apply` waiting for minutes. The codes are AWS's own 400 "bad request" errors:
# API Gateway's BadRequestException, and InvalidAction ("The action or operation requested is
# invalid", the common errors of the query and JSON APIs, e.g.
# https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html) elsewhere.
NOT_IMPLEMENTED_STATUS = 400
NOT_IMPLEMENTED_CODES = {"apigateway": "BadRequestException"}
NOT_IMPLEMENTED_DEFAULT_CODE = "InvalidAction"


def _protocol(service: str) -> str:
    """The service's wire protocol (rest-json, json, query, ec2, rest-xml), from botocore's model."""
    import botocore.session

    try:
        return str(botocore.session.get_session().get_service_model(service).metadata.get("protocol", "json"))
    except Exception:  # a moto service botocore does not name the same way
        return "json"


def _unmodelled_action(exc: BaseException) -> str:
    """`UpdateMethod` from moto's "The update_method action has not been implemented"; else the request."""
    from flask import request

    found = re.search(r"The (\w+) action has not been implemented", str(exc))
    if found:
        return "".join(part.capitalize() for part in found.group(1).split("_"))
    action = request.values.get("Action")
    return action or f"{request.method} {request.path}"


def not_implemented_answer(service: str, exc: BaseException) -> Any:
    """The answer for a NotImplementedError moto raised: 400 in the service's own error shape."""
    from xml.sax.saxutils import escape

    from flask import Response

    code = NOT_IMPLEMENTED_CODES.get(service, NOT_IMPLEMENTED_DEFAULT_CODE)
    message = (f"The local AWS does not implement {_unmodelled_action(exc)} ({exc}); "
               "it answers this instead of AWS's result")
    protocol = _protocol(service)
    if protocol in ("query", "ec2"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
                f"</Error><RequestId>{_request_id()}</RequestId></ErrorResponse>")
        return Response(body, NOT_IMPLEMENTED_STATUS, {"Content-Type": "text/xml"})
    if protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        return Response(body, NOT_IMPLEMENTED_STATUS, {"Content-Type": "application/xml"})
    import json

    return Response(json.dumps({"__type": code, "message": message}), NOT_IMPLEMENTED_STATUS,
                    {"Content-Type": "application/json", "x-amzn-ErrorType": code})


def _faults_report(faults: Faults | None, start_response: Any) -> Iterable[bytes]:
    """`GET /_harness/faults`: what this local AWS injected (nothing when nothing was asked)."""
    import json

    report = faults.report() if faults else Faults().report()
    body = json.dumps(report).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/(?P<service>[^/,]+)/aws4_request")
_STAGE_WRITE = re.compile(r"^/restapis/(?P<api>[^/]+)/(deployments|stages)(/|$)")
_ROLE_CHANGES = {"CreateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "AttachRolePolicy",
                 "DeleteRolePolicy", "DetachRolePolicy", "UpdateRole"}
_SERVICES = {"apigateway": "apigw", "iam": "iam", "sts": "sts"}


class ControlPlaneFaults:
    """Control-plane calls on their way to moto: injected faults, and the profile's clocks.

    The signing service in SigV4's credential scope says which API a call is for
    (apigateway, iam, sts). Injected faults answer instead of moto; successful writes that
    start a propagation clock (a role created or changed, a deployment or stage created
    or changed) are noted after moto accepted them.
    """

    def __init__(self, moto_app: Any, faults: Faults) -> None:
        self.moto_app = moto_app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        where = _SERVICES.get(scope.group("service")) if scope else None
        if where is None:
            return self.moto_app(environ, start_response)
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        action = self._action(environ) if where in ("iam", "sts") else f"{method} {path}"
        if self.faults.wants(where):
            # ConflictException is about concurrent modification: only writes get it.
            kinds = None if where != "apigw" or method not in ("GET", "HEAD") else ("throttle",)
            fired = self.faults.pick(where, {"action": action}, kinds)
            if fired:
                from harness.localaws import faults as faults_module

                status, headers, body = faults_module.control_plane_error(where, fired[0].kind, _request_id())
                self._drain(environ)
                headers["Content-Length"] = str(len(body))
                start_response(f"{status} Error", list(headers.items()))
                return [body]
        captured: dict[str, int] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.moto_app(environ, capture)
        if captured.get("status", 500) < 300:
            if where == "apigw" and method not in ("GET", "HEAD"):
                match = _STAGE_WRITE.match(path)
                if match:
                    self.faults.stage_changed(match.group("api"))
            elif where == "iam" and environ.get("harness.action") in _ROLE_CHANGES:
                self.faults.role_changed(environ.get("harness.role_name", ""))
        return result

    @staticmethod
    def _action(environ: dict[str, Any]) -> str:
        """The query API's Action (and RoleName), read from the form body, which is then put back."""
        import io
        from urllib.parse import parse_qs

        length = environ.get("CONTENT_LENGTH") or "0"
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() and int(length) else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", "replace")) if body else parse_qs(environ.get("QUERY_STRING", ""))
        action = (form.get("Action") or [""])[0]
        environ["harness.action"] = action
        environ["harness.role_name"] = (form.get("RoleName") or [""])[0]
        return action

    @staticmethod
    def _drain(environ: dict[str, Any]) -> None:
        length = environ.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length):
            environ["wsgi.input"].read(int(length))


def _request_id() -> str:
    import uuid

    return str(uuid.uuid4())


def _maybe_reset(data_plane: Any, faults: Faults, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The data plane, whose answer a `data:reset` fault cuts off mid-response.

    The request runs to the end (an upload may well be stored, as when a connection drops
    on AWS after the integration answered); the client then gets the start of the status
    line and the connection is closed with a TCP reset (SO_LINGER 0): never an answer.
    """
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    body = b"".join(data_plane(environ, capture))
    from urllib.parse import unquote

    from harness.localaws.routing import parse_invocation

    parsed = parse_invocation(environ)
    path = unquote(routing_path(parsed[2])) if parsed else environ.get("PATH_INFO", "")
    sock = environ.get("werkzeug.socket")
    if sock is None or not faults.pick("data", {"path": path, "status": captured["status"].split(" ", 1)[0]}):
        start_response(captured["status"], captured["headers"])
        return [body]
    # Cut inside the status line: an HTTP client cannot take what arrived for an answer (cut
    # between header lines, a lenient parser reads a bodiless 200 from what it got).
    status_line = f"HTTP/1.1 {captured['status']}".encode("latin-1")
    import struct

    try:
        sock.sendall(status_line[: len("HTTP/1.1 ") + 1])
        # SO_LINGER 0: closing sends RST instead of FIN, a reset as a client sees it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    raise ConnectionAbortedError("harness-fault: data:reset")


def routing_path(encoded_path: str) -> str:
    from harness.localaws.routing import RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING, resolve_dot_segments

    return resolve_dot_segments(encoded_path) if RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING else encoded_path


def check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError) as exc:
        raise LocalAwsError(f"cannot resolve --host {host!r}: {exc}", "use 127.0.0.1") from exc
    if not address.is_loopback:
        raise LocalAwsError(
            f"--host {host} is not a loopback address; the local AWS accepts any credentials "
            "and must never be reachable from the network",
            "use 127.0.0.1 (or another 127.0.0.0/8 address)",
        )


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LocalAwsError(
                f"port {port} on {host} is already in use",
                f"stop whatever listens there (`ss -ltnp 'sport = :{port}'`), or pick another "
                "port with --port (0 picks a free one)",
            ) from exc


def make_server(host: str, port: int, idle_timeout: float | None = None, faults: Faults | None = None) -> Any:
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as werkzeug_make_server

    check_loopback(host)

    class QuietHandler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the provider makes many small calls
        timeout = idle_timeout or _idle_timeout()

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            problem = framing_error(self.headers)
            if problem:
                self.close_connection = True
                self.send_error(400, "Bad Request", problem)
                return False
            return True

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            # A dropped (or deliberately reset, data:reset) connection serves nothing more.
            self.close_connection = True

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            if os.environ.get("HARNESS_LOCALAWS_LOG"):
                super().log_request(*args, **kwargs)

    _check_port_free(host, port)
    app = build_app(faults)
    try:
        server = werkzeug_make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    except (OSError, SystemExit) as exc:  # werkzeug exits on a busy port
        if getattr(exc, "errno", None) == errno.EADDRINUSE or "in use" in str(exc).lower():
            raise LocalAwsError(
                f"port {port} on {host} is already in use",
                f"stop whatever listens there (`ss -ltnp 'sport = :{port}'`), or pick another "
                "port with --port (0 picks a free one)",
            ) from exc
        raise LocalAwsError(f"cannot listen on {host}:{port}: {exc}") from exc
    server.app = app
    return server


def reset_backends() -> None:
    """Forget every AWS resource (moto's reset)."""
    from harness.localaws import backends

    backends.reset()


class LocalAws:
    """The local AWS in a background thread of this process, on an ephemeral port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, idle_timeout: float | None = None,
                 faults: Faults | None = None) -> None:
        self.host = host
        self.faults = faults
        self._idle_timeout = idle_timeout
        self._requested_port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def invoke_url(self, api_id: str, stage: str) -> str:
        return f"{self.endpoint}/restapis/{api_id}/{stage}/_user_request_"

    def start(self) -> LocalAws:
        self._server = make_server(self.host, self._requested_port, self._idle_timeout, self.faults)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def app(self) -> Any:
        return self._server.app

    def reset(self) -> None:
        reset_backends()
        self._server.app.data_plane.reset()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(host: str, port: int, ready_file: str | None = None, faults: Faults | None = None,
                  warm_up: str = "background") -> int:
    """Run in the foreground until SIGINT/SIGTERM; print `ready http://HOST:PORT`.

    `warm_up` (harness/localaws/warmup.py): make each service's first call right after
    reporting ready (`background`), before reporting ready (`before-ready`), or not at all.
    """
    started = time.monotonic()
    server = make_server(host, port, faults=faults)
    endpoint = f"http://{host}:{server.server_port}"
    if warm_up != "off":
        from harness.localaws import warmup
    if warm_up == "before-ready":
        warmup.warm_up(server.app.moto_app, f"{host}:{server.server_port}")
    # shutdown() waits for serve_forever to return: called from the handler it would wait on itself.
    signals.stop_on_signals(lambda: threading.Thread(target=server.shutdown, daemon=True).start())
    if ready_file:
        replace_text(Path(ready_file), f"{endpoint}\n{os.getpid()}\n")
    print(f"ready {endpoint}", flush=True)
    if warm_up == "background":
        # moto's app itself, past ControlPlaneFaults: warming must not draw seeded faults.
        warmup.start_in_background(server.app.moto_app, f"{host}:{server.server_port}", lambda seconds: print(
            f"  warmed up in {seconds:.2f}s", file=sys.stderr, flush=True))
    print(f"  started in {time.monotonic() - started:.2f}s; stop with Ctrl-C", file=sys.stderr, flush=True)
    if faults is not None:
        print(f"  profile {faults.profile.spec()}; faults {faults.spec.text or 'none'} (seed {faults.spec.seed}); "
              f"counters at {endpoint}{FAULTS_PATH}", file=sys.stderr, flush=True)
    # A short poll: `shutdown` waits for the loop to look, and teardown waits for this process.
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    print("stopped", file=sys.stderr, flush=True)
    return 0
