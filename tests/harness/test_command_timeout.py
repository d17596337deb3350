"""A timeout that stops: `harness up` against an endpoint whose API Gateway keeps answering
HTTP 500 ends within its bound (HARNESS_COMMAND_TIMEOUT, or a second Ctrl-C), names what
is left and how to continue, leaves no Terraform or provider process, and `harness down`
still removes everything.

Real Terraform and the real AWS provider apply the stack through a loopback proxy
(tests/harness/http_proxy.py) in front of the module's local AWS. The proxy passes every
call through (so the provider configures itself, STS GetCallerIdentity included, and
creates the bucket and the role) but answers every API Gateway call (`/restapis...`) with
500 InternalFailure until the test heals it. AWS SDKs retry a 5xx with exponential
back-off ("Error retries and exponential backoff in AWS",
https://docs.aws.amazon.com/general/latest/gr/api-retries.html); provider 3.39's
aws-sdk-go v1 does so up to its max_retries (25) with delays doubling from 30 ms to a
300 s cap: about 50 minutes, far past any bound here (observed: 12 CreateRestApi attempts
in its first 2 minutes). Throttling codes are not needed to keep it retrying.
"""

import json
import os
import signal
import threading
import time

import pytest
from http_proxy import Answer, ForwardingProxy
from proc_tree import with_environment

from harness import paths
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import Deployer, load_record, new_run_id
from harness.targets.target import Target
from harness.terraform.backend import LocalState
from harness.terraform.runner import INTERRUPT_GRACE_ENV, STOP_BOUND_SECONDS

pytestmark = pytest.mark.slow
COMMAND_TIMEOUT = 8
# The provider's retried call never returns while the proxy fails it, so the production grace
# (30 s before the provider is stopped) would only be waited out; a short one takes the same path.
# Not shorter: the creates in flight next to the retried call (bucket, role) must still finish
# within it on a loaded machine, or they are cut and left out of the state.
INTERRUPT_GRACE = 5
# Hang guards, not timing goals: the bound plus room for Python, Terraform and the provider to start.
START_ROOM_SECONDS = 120
MARK = "HARNESS_TIMEOUT_TEST_MARK"  # every process of one `harness up` inherits it
# What harness/lifecycle/sweep.py finds by tag, by the Terraform type that creates it (its id is the name).
TAGGED_KINDS = {"aws_s3_bucket": "bucket", "aws_iam_role": "role", "aws_api_gateway_rest_api": "rest-api",
                "aws_cloudwatch_log_group": "log-group"}
# The other calls (bucket, role) count as done once the proxy has forwarded none for this long.
OTHERS_QUIET_SECONDS = 2.0
INTERNAL_FAILURE = Answer(500, [("x-amzn-ErrorType", "InternalFailure"), ("Content-Type", "application/json")],
                          b'{"message": "Internal server error"}')


class RetryForcingProxy(ForwardingProxy):
    """Forwards to `upstream`; while failing, answers API Gateway calls with 500 and counts them."""

    def __init__(self, upstream: str) -> None:
        self.failing = threading.Event()
        self.failing.set()
        self.failures = 0
        super().__init__(upstream, self._fail)

    def _fail(self, method: str, path: str) -> Answer | None:
        if self.failing.is_set() and path.startswith("/restapis"):
            self.failures += 1
            return INTERNAL_FAILURE
        return None


class OnlyTheRetriedCall:
    """True once the provider is retrying CreateRestApi and nothing else: no call forwarded for
    OTHERS_QUIET_SECONDS. A Ctrl-C before that could stop the provider amid a create that then
    exists on the target but not in the state (on a loaded machine the bucket's reads take seconds)."""

    def __init__(self, proxy: RetryForcingProxy) -> None:
        self.proxy, self.forwarded, self.since = proxy, -1, time.monotonic()

    def __call__(self) -> bool:
        forwarded, now = len(self.proxy.exchanges), time.monotonic()
        if forwarded != self.forwarded:
            self.forwarded, self.since = forwarded, now
        return self.proxy.failures >= 2 and now - self.since >= OTHERS_QUIET_SECONDS


@pytest.fixture
def proxy(local_target):
    proxy = RetryForcingProxy(local_target.endpoint)
    # Initialised under the default timeout: the short one below is for the apply only.
    Deployer(Target("endpoint", proxy.endpoint)).prepare()
    try:
        yield proxy
    finally:
        proxy.close()


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


def _assert_state_kept_and_down_removes_everything(name: str, proxy: RetryForcingProxy, local: Target,
                                                   harness_cli) -> None:
    """The state holds all the run created (partly changed, nothing outside it); `harness down` removes it all."""
    state_dir = LocalState(paths.stack_dir()).state_file(name).parent
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
    down = harness_cli.harness("down", "--workspace", name)
    assert down.returncode == 0, down.stderr
    assert tagged_resources(target, run_id) == []
    assert not state_dir.exists() and load_record(name) is None


@pytest.mark.parametrize("served", [True, False], ids=["served-provider", "provider-per-command"])
def test_the_command_timeout_ends_an_apply_whose_provider_keeps_retrying(served, proxy, local_target, harness_cli):
    name, mark = f"to-{new_run_id()}", new_run_id()
    per_command = [] if served else ["--provider-per-command"]
    started = time.monotonic()
    result = harness_cli.harness("up", "--workspace", name, "--endpoint", proxy.endpoint, *per_command,
                                 env={"HARNESS_COMMAND_TIMEOUT": str(COMMAND_TIMEOUT),
                                      INTERRUPT_GRACE_ENV: str(INTERRUPT_GRACE), MARK: mark},
                                 timeout=COMMAND_TIMEOUT + STOP_BOUND_SECONDS + START_ROOM_SECONDS)
    print(f"harness up ({'served' if served else 'per command'}) ended {time.monotonic() - started:.1f}s after it "
          f"started, with HARNESS_COMMAND_TIMEOUT={COMMAND_TIMEOUT}")
    assert result.returncode == 2, result.stderr
    assert proxy.failures >= 2, result.stderr  # the provider was retrying CreateRestApi when it was stopped
    assert f"stopped after {COMMAND_TIMEOUT}s without finishing" in result.stderr
    assert f"did not stop within {INTERRUPT_GRACE}s of its interrupt" in result.stderr  # the run's grace, not 30 s
    assert "its AWS provider was stopped" in result.stderr and "killed" not in result.stderr
    assert "Traceback" not in result.stderr
    _assert_what_is_left_is_named(result.stderr, name)
    assert with_environment(MARK, mark) == [], "a process of the run is left (Terraform or its provider)"
    _assert_state_kept_and_down_removes_everything(name, proxy, local_target, harness_cli)


def test_a_second_ctrl_c_ends_an_apply_whose_provider_keeps_retrying(proxy, local_target, harness_cli):
    name, mark = f"to-{new_run_id()}", new_run_id()
    child = harness_cli.start_harness("up", "--workspace", name, "--endpoint", proxy.endpoint, env={MARK: mark},
                                      unset=("HARNESS_COMMAND_TIMEOUT", INTERRUPT_GRACE_ENV))
    child.wait_for(OnlyTheRetriedCall(proxy), "the provider retrying CreateRestApi and nothing else",
                   START_ROOM_SECONDS)
    os.kill(child.pid, signal.SIGINT)  # the first: Terraform is interrupted and waits for its provider
    child.wait_for_output("Press Ctrl-C again", timeout=START_ROOM_SECONDS)  # the first Ctrl-C taken
    second = time.monotonic()
    os.kill(child.pid, signal.SIGINT)  # the second: its provider is stopped now
    output = child.finish(timeout=STOP_BOUND_SECONDS + START_ROOM_SECONDS)
    print(f"harness up ended {time.monotonic() - second:.1f}s after the second Ctrl-C")
    assert child.returncode == 130, output
    assert "its AWS provider was stopped" in output and "Traceback" not in output
    _assert_what_is_left_is_named(output, name)
    assert with_environment(MARK, mark) == [], "a process of the run is left (Terraform or its provider)"
    _assert_state_kept_and_down_removes_everything(name, proxy, local_target, harness_cli)
