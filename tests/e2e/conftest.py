import contextlib
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harness.pytest_plugin import deploy_at_session_start

# Headless Chromium as the browser checks run it: Debian's, never a downloaded one.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = "install it with `make browser`"
LOOPBACK_ORIGIN = re.compile(r"^http://127\.0\.0\.1:(?P<port>\d+)$")
# The page every origin serves: the checks run their JavaScript in it with page.evaluate, so
# the bytes are the same for every run and any process may serve them (see PageServer).
TEST_PAGE = b"<!doctype html><meta charset=utf-8><title>upload test page</title><p>upload test page</p>"


def pytest_configure(config: pytest.Config) -> None:
    # Every check here needs the deployed stack: apply it while the session starts.
    deploy_at_session_start(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


# --- a real browser (tests/e2e/test_browser.py) ---------------------------------------------

class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(TEST_PAGE)))
        self.end_headers()
        self.wfile.write(TEST_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PageServer(ThreadingHTTPServer):
    """Serves TEST_PAGE on one loopback port, in a daemon thread.

    The allowed origin's port is fixed by the stack, and two sessions may run browser checks at
    once (xdist workers, the harness's own child runs): SO_REUSEPORT lets each bind it, and
    since the page is the same bytes everywhere it does not matter which one answers.
    """

    daemon_threads = True

    def server_bind(self) -> None:
        if hasattr(socket, "SO_REUSEPORT"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _PageHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


@dataclass(frozen=True)
class PageOrigins:
    allowed: str  # an origin the stack's cors_allowed_origins allows
    other: str | None  # an origin it does not allow (None when it allows every origin)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium driven by Playwright for Python; the checks skip, saying how to install, without either."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip(f"browser checks need Chromium, which is not installed: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"browser checks need Playwright for Python, which is not installed: {INSTALL_HINT}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session", autouse=True)
def _chromium_starts_with_the_deploy(request: pytest.FixtureRequest) -> None:
    """Start Chromium before the first check, while the session-start deploy applies the stack:
    that check waits for the apply anyway, and the browser checks then find Chromium running.

    Only in a session without xdist workers (`make e2e` runs serial) that selected a browser
    check: a worker cannot know which checks it will get. A Chromium or Playwright that is
    missing or fails is left to the browser checks, which report it (pytest keeps a session
    fixture's skip or error and gives it to each check that asks for it)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if not any("chromium" in getattr(item, "fixturenames", ()) for item in request.session.items):
        return
    with contextlib.suppress(Exception, pytest.skip.Exception):
        request.getfixturevalue("chromium")


@pytest.fixture(scope="session")
def page_origins(stack_outputs: Any) -> Iterator[PageOrigins]:
    """The test page, served from an origin the stack allows and from one it does not.

    Skips (saying how to apply the stack) when the stack was applied without CORS or with an
    origin the checks cannot serve a page from.
    """
    allowed = list(stack_outputs.values.get("cors_allowed_origins") or [])
    if not allowed:
        pytest.skip("the stack was applied without CORS (cors_allowed_origins=[]): apply it with "
                    "--stack-var 'cors_allowed_origins=[\"http://127.0.0.1:14263\"]'")
    if allowed != ["*"] and not LOOPBACK_ORIGIN.match(allowed[0]):
        pytest.skip(f"the stack allows {allowed[0]}, not a loopback origin (http://127.0.0.1:PORT) a test "
                    "page can be served from: apply it with --stack-var 'cors_allowed_origins=[\"http://127.0.0.1:14263\"]'")
    match = LOOPBACK_ORIGIN.match(allowed[0])
    servers: list[PageServer] = []
    try:
        try:
            servers.append(PageServer(int(match.group("port")) if match else 0))
        except OSError as exc:
            pytest.fail(f"cannot serve the test page on {allowed[0]}: {exc} (a program without SO_REUSEPORT holds "
                        "the port); stop it, or apply the stack with another origin", pytrace=False)
        if allowed == ["*"]:
            yield PageOrigins(servers[0].origin, None)
        else:
            servers.append(PageServer(0))
            yield PageOrigins(servers[0].origin, servers[1].origin)
    finally:
        for server in servers:
            server.stop()
