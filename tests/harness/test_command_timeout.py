"""A timeout that stops: `harness up` against an endpoint whose API Gateway keeps answering
HTTP 500 ends within its bound (HARNESS_COMMAND_TIMEOUT, or a second Ctrl-C), names what
is left and how to continue, leaves no Terraform or provider process, and `harness down`
still removes everything.

Real Terraform and the real AWS provider apply the stack through a loopback proxy in
front of an in-process local AWS. The proxy passes every call through (so the provider
configures itself, STS GetCallerIdentity included, and creates the bucket and the role)
but answers every API Gateway call (`/restapis...`) with 500 InternalFailure until the test
heals it. AWS SDKs retry a 5xx with exponential back-off ("Error retries and exponential
backoff in AWS", https://docs.aws.amazon.com/general/latest/gr/api-retries.html); provider
3.39's aws-sdk-go v1 does so up to its max_retries (25) with delays doubling from 30 ms to
a 300 s cap: about 50 minutes, far past any bound here (observed: 12 CreateRestApi attempts
in its first 2 minutes). Throttling codes are not needed to keep it retrying.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from proc_tree import with_environment

from harness import paths
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import Deployer, child_run_environment, load_record, new_run_id
from harness.localaws import LocalAws
from harness.targets.target import Target
from harness.terraform.runner import STOP_BOUND_SECONDS

pytestmark = pytest.mark.slow
COMMAND_TIMEOUT = 8
# Hang guards, not timing goals: the bound plus room for Python, Terraform and the provider to start.
START_ROOM_SECONDS = 120
MARK = "HARNESS_TIMEOUT_TEST_MARK"  # every process of one `harness up` inherits it
# What harness/lifecycle/sweep.py finds by tag, by the Terraform type that creates it (its id is the name).
TAGGED_KINDS = {"aws_s3_bucket": "bucket", "aws_iam_role": "role", "aws_api_gateway_rest_api": "rest-api",
                "aws_cloudwatch_log_group": "log-group"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class RetryForcingProxy:
    """Forwards to `upstream`; while failing, answers API Gateway calls with 500 and counts them."""

    def __init__(self, upstream: str) -> None:
        self.failing = threading.Event()
        self.failing.set()
        self.failures = 0
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.failing.is_set() and self.path.startswith("/restapis"):
                    proxy.failures += 1
                    self._answer(500, [("x-amzn-ErrorType", "InternalFailure"),
                                       ("Content-Type", "application/json")], b'{"message": "Internal server error"}')
                    return
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    upstream_connection.request(self.command, self.path, body=body,
                                                headers={k: v for k, v in self.headers.items()
                                                         if k.lower() != "connection"})
                    answer = upstream_connection.getresponse()
                    self._answer(answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP],
                                 answer.read())
                finally:
                    upstream_connection.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def local():
    with LocalAws() as server:
        yield server


@pytest.fixture
def proxy(local):
    proxy = RetryForcingProxy(local.endpoint)
    # Initialised under the default timeout: the short one below is for the apply only.
    Deployer(Target("endpoint", proxy.endpoint)).prepare()
    try:
        yield proxy
    finally:
        proxy.close()


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def _wait_until(ready, what: str, seconds: float = START_ROOM_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def _assert_what_is_left_is_named(stderr: str, name: str) -> None:
    """One short block: the workspace and its state, then how to continue, on consecutive lines."""
    lines = [line.strip().removeprefix("-> ") for line in stderr.splitlines()]  # the CLI's hint starts with "-> "
    left = next(i for i, line in enumerate(lines) if line.startswith(f"left: workspace {name}"))
    assert "its state readable and unlocked; its resources may be partly changed" in lines[left], stderr
    # What was in flight when the provider stopped: the retried API call, maybe with others.
    in_progress = lines[left].partition("(")[2]
    assert "aws_api_gateway_rest_api.this" in in_progress and "in progress" in in_progress, stderr
    assert lines[left + 1].startswith(f"continue: `harness up --workspace {name}` applies it again, or "
                                      f"`harness down --workspace {name}` removes it"), stderr


def _assert_state_kept_and_down_removes_everything(name: str, proxy: RetryForcingProxy, local: LocalAws) -> None:
    """The state holds all the run created (partly changed, nothing outside it); `harness down` removes it all."""
    state_dir = paths.stack_dir() / "terraform.tfstate.d" / name
    state = json.loads((state_dir / "terraform.tfstate").read_text())
    recorded = {(TAGGED_KINDS[r["type"]], instance["attributes"]["id"]) for r in state["resources"]
                if r["mode"] == "managed" and r["type"] in TAGGED_KINDS for instance in r["instances"]}
    assert not (state_dir / ".terraform.tfstate.lock.info").exists()  # Terraform unlocked it itself
    run_id = load_record(name)["run_id"]
    target = Target("endpoint", local.endpoint)
    created = {(resource.kind, resource.name) for resource in tagged_resources(target, run_id)}
    assert created and created == recorded, (created, recorded)
    assert "rest-api" not in {kind for kind, _ in created}
    proxy.failing.clear()
    down = subprocess.run(_command("down", "--workspace", name), cwd=paths.project_root(),
                          env=child_run_environment(), capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    assert tagged_resources(target, run_id) == []
    assert not state_dir.exists() and load_record(name) is None


@pytest.mark.parametrize("served", [True, False], ids=["served-provider", "provider-per-command"])
def test_the_command_timeout_ends_an_apply_whose_provider_keeps_retrying(served, proxy, local):
    name, mark = f"to-{new_run_id()}", new_run_id()
    env = {**child_run_environment(), "HARNESS_COMMAND_TIMEOUT": str(COMMAND_TIMEOUT), MARK: mark}
    per_command = [] if served else ["--provider-per-command"]
    started = time.monotonic()
    result = subprocess.run(
        _command("up", "--workspace", name, "--endpoint", proxy.endpoint, *per_command),
        cwd=paths.project_root(), env=env, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT + STOP_BOUND_SECONDS + START_ROOM_SECONDS)
    print(f"harness up ({'served' if served else 'per command'}) ended {time.monotonic() - started:.1f}s after it "
          f"started, with HARNESS_COMMAND_TIMEOUT={COMMAND_TIMEOUT}")
    assert result.returncode == 2, result.stderr
    assert proxy.failures >= 2, result.stderr  # the provider was retrying CreateRestApi when it was stopped
    assert f"stopped after {COMMAND_TIMEOUT}s without finishing" in result.stderr
    assert "its AWS provider was stopped" in result.stderr and "killed" not in result.stderr
    assert "Traceback" not in result.stderr
    _assert_what_is_left_is_named(result.stderr, name)
    assert with_environment(MARK, mark) == [], "a process of the run is left (Terraform or its provider)"
    _assert_state_kept_and_down_removes_everything(name, proxy, local)


def test_a_second_ctrl_c_ends_an_apply_whose_provider_keeps_retrying(proxy, local):
    name, mark = f"to-{new_run_id()}", new_run_id()
    env = {k: v for k, v in child_run_environment().items() if k != "HARNESS_COMMAND_TIMEOUT"}
    child = subprocess.Popen(_command("up", "--workspace", name, "--endpoint", proxy.endpoint),
                             cwd=paths.project_root(), env={**env, MARK: mark}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(iter(child.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        _wait_until(lambda: proxy.failures >= 2, "the provider retrying CreateRestApi")
        os.kill(child.pid, signal.SIGINT)  # the first: Terraform is interrupted and waits for its provider
        _wait_until(lambda: any("Press Ctrl-C again" in line for line in errors), "the first Ctrl-C taken")
        second = time.monotonic()
        os.kill(child.pid, signal.SIGINT)  # the second: its provider is stopped now
        child.wait(timeout=STOP_BOUND_SECONDS + START_ROOM_SECONDS)
        print(f"harness up ended {time.monotonic() - second:.1f}s after the second Ctrl-C")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    reader.join(timeout=10)
    stderr = "".join(errors)
    assert child.returncode == 130, stderr
    assert "its AWS provider was stopped" in stderr and "Traceback" not in stderr
    _assert_what_is_left_is_named(stderr, name)
    assert with_environment(MARK, mark) == [], "a process of the run is left (Terraform or its provider)"
    _assert_state_kept_and_down_removes_everything(name, proxy, local)
