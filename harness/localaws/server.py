"""One loopback server, one port: moto's AWS APIs plus the execute-api data plane.

`LocalAws` runs it in this process (a context manager on an ephemeral port, with
`reset()`); `serve_forever()` is what `harness localaws` runs in the foreground.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from harness.errors import LocalAwsError

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


def build_app() -> Any:
    """The WSGI app: execute-api requests to the data plane, everything else to moto."""
    _prepare_environment()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from harness.localaws import controlplane
    from harness.localaws.dataplane import DataPlane
    from harness.localaws.routing import is_execute_api_request

    controlplane.install()  # refuses (LocalAwsError) unless moto is the pinned version

    def create_quiet_backend_app(service: str) -> Any:
        backend_app = create_backend_app(service)
        # moto runs Flask in debug mode, whose form-data helper ties every request into a
        # reference cycle with its whole body (measured: +9.5 MB per 9.5 MiB PUT until a
        # cycle collection). Debug mode adds nothing to a server; switch it off.
        backend_app.debug = False
        return backend_app

    moto_app = DomainDispatcherApplication(create_quiet_backend_app)
    data_plane = DataPlane(moto_app)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if is_execute_api_request(environ):
            return data_plane(environ, start_response)
        return moto_app(environ, start_response)

    app.data_plane = data_plane  # type: ignore[attr-defined]
    app.moto_app = moto_app  # type: ignore[attr-defined]
    return app


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


def make_server(host: str, port: int, idle_timeout: float | None = None) -> Any:
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

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            if os.environ.get("HARNESS_LOCALAWS_LOG"):
                super().log_request(*args, **kwargs)

    _check_port_free(host, port)
    app = build_app()
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

    def __init__(self, host: str = "127.0.0.1", port: int = 0, idle_timeout: float | None = None) -> None:
        self.host = host
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
        self._server = make_server(self.host, self._requested_port, self._idle_timeout)
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


def serve_forever(host: str, port: int, ready_file: str | None = None) -> int:
    """Run in the foreground until SIGINT/SIGTERM; print `ready http://HOST:PORT`."""
    started = time.monotonic()
    server = make_server(host, port)
    endpoint = f"http://{host}:{server.server_port}"
    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if ready_file:
        tmp = f"{ready_file}.tmp"
        with open(tmp, "w") as handle:
            handle.write(f"{endpoint}\n{os.getpid()}\n")
        os.replace(tmp, ready_file)
    print(f"ready {endpoint}", flush=True)
    print(f"  started in {time.monotonic() - started:.2f}s; stop with Ctrl-C", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()
    print("stopped", file=sys.stderr, flush=True)
    return 0
