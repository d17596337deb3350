"""Shared state in S3 with Terraform's native lock file, against the local AWS's S3.

Each `harness` call is a separate process, as two CI runners would be; the state bucket
and the stack's resources live on the module's local AWS.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import uuid
from urllib.parse import urlsplit

import pytest
from http_proxy import ForwardingProxy
from proc_tree import descendants

from harness import paths
from harness.plumbing import procfs
from harness.plumbing.waiting import wait_until
from harness.targets.target import Target
from harness.terraform.backend import S3Backend

pytestmark = pytest.mark.slow
STATE_BUCKET = "harness-state"
# Hang guards, not timing goals.
LOCK_SECONDS = 120
CHILD_SECONDS = 300


@pytest.fixture(scope="module")
def shared(local_target):
    s3 = local_target.client("s3")
    s3.create_bucket(Bucket=STATE_BUCKET)
    yield local_target, s3
    shutil.rmtree(S3Backend.parse(backend_url(local_target)).working_copy_path(paths.stack_dir()), ignore_errors=True)


@pytest.fixture
def workspace(shared, harness_cli):
    server, s3 = shared
    name = f"s3-{uuid.uuid4().hex[:8]}"
    yield name
    harness_cli.harness(*_command("down", name, server))  # whatever the test left
    assert _objects(s3, name) == [], "state or lock left in the bucket"


def backend_url(server: Target, state_endpoint: str | None = None) -> str:
    return f"s3://{STATE_BUCKET}/e2e/terraform.tfstate?endpoint={state_endpoint or server.endpoint}"


def _command(verb: str, name: str, server: Target, *extra: str, state_endpoint: str | None = None) -> list[str]:
    return [verb, "--workspace", name, "--endpoint", server.endpoint, "--backend",
            backend_url(server, state_endpoint), *extra]


def _objects(s3, name: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=f"env:/{name}/").get("Contents", [])]


def lock_key(name: str) -> str:
    return f"env:/{name}/e2e/terraform.tfstate.tflock"


def wait_for_lock(s3, name: str, child) -> dict:
    def lock() -> dict | None:
        try:
            return json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=lock_key(name))["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    return child.wait_for(lock, "the lock file", LOCK_SECONDS)


def assert_state_whole(s3, name: str) -> dict:
    state = json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=f"env:/{name}/e2e/terraform.tfstate")["Body"].read())
    assert state["version"] == 4 and state["lineage"]
    managed = {r["type"] for r in state["resources"] if r["mode"] == "managed"}
    assert {"aws_s3_bucket", "aws_iam_role", "aws_api_gateway_rest_api", "aws_api_gateway_deployment"} <= managed
    return state


def test_two_concurrent_applies_one_fails_with_a_lock_message_state_stays_whole(shared, workspace, harness_cli):
    server, s3 = shared
    first = harness_cli.start_harness(*_command("up", workspace, server))
    wait_for_lock(s3, workspace, first)
    second = harness_cli.harness(*_command("up", workspace, server))
    first_out = first.finish(timeout=CHILD_SECONDS)
    assert first.returncode == 0, first_out
    assert second.returncode == 2, second.stderr
    assert "another run holds the state lock" in second.stderr
    assert "--lock-timeout" in second.stderr and "harness unlock" in second.stderr
    assert "Traceback" not in second.stderr
    state = assert_state_whole(s3, workspace)
    assert lock_key(workspace) not in _objects(s3, workspace)
    assert f'"bucket_name": "{state["outputs"]["bucket_name"]["value"]}"' in first_out  # the first run's stack


def test_a_run_with_lock_timeout_waits_for_the_holder(shared, workspace, harness_cli):
    server, s3 = shared
    assert harness_cli.harness(*_command("up", workspace, server)).returncode == 0
    before = assert_state_whole(s3, workspace)["serial"]
    # Another runner holds the lock, written as Terraform writes it (conditional PUT).
    s3.put_object(Bucket=STATE_BUCKET, Key=lock_key(workspace), IfNoneMatch="*", Body=json.dumps(
        {"ID": "other-runner", "Operation": "OperationTypeApply", "Who": "ci@elsewhere"}).encode())
    # The waiting run reaches its state through a proxy, which shows it asking for the lock.
    proxy = ForwardingProxy(server.endpoint)
    try:
        waiting = harness_cli.start_harness(*_command("up", workspace, server, "--lock-timeout", "2m",
                                                      state_endpoint=proxy.endpoint))

        def refused() -> int:  # Terraform's conditional PUT of the lock file, answered 412 Precondition Failed
            return sum(1 for e in list(proxy.exchanges)
                       if e.method == "PUT" and urlsplit(e.path).path.endswith(".tflock") and e.status == 412)

        waiting.wait_for(lambda: refused() >= 2, "the waiting run refused the lock twice", LOCK_SECONDS)
        assert waiting.process.poll() is None, waiting.output()  # it waits: no failure at the first refusal
        s3.delete_object(Bucket=STATE_BUCKET, Key=lock_key(workspace))  # the other runner finishes
        output = waiting.finish(timeout=CHILD_SECONDS)
    finally:
        proxy.close()
        shutil.rmtree(S3Backend.parse(backend_url(server, proxy.endpoint)).working_copy_path(paths.stack_dir()),
                      ignore_errors=True)
    assert waiting.returncode == 0, output
    assert assert_state_whole(s3, workspace)["serial"] >= before


def test_a_stale_lock_is_reported_with_the_command_that_breaks_it(shared, workspace, harness_cli):
    server, s3 = shared
    assert harness_cli.harness(*_command("up", workspace, server)).returncode == 0
    planning = harness_cli.start_harness(*_command("drift", workspace, server))  # a plan holds the lock
    lock = wait_for_lock(s3, workspace, planning)
    killed = [planning.pid, *(pid for pid, _ in descendants(planning.pid))]
    for pid in killed:  # the runner's machine dies (Terraform and its provider run in sessions of their own)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    planning.finish(timeout=30)
    wait_until(lambda: all(procfs.state(pid) in (None, "Z", "X") for pid in killed), 30,
               what="every process of the killed run gone")
    assert lock_key(workspace) in _objects(s3, workspace), "the killed run's lock should be left"

    blocked = harness_cli.harness(*_command("up", workspace, server))
    assert blocked.returncode == 2
    assert lock["ID"] in blocked.stderr and "stale" in blocked.stderr
    command = re.search(r"`(harness unlock [^`]+)`", blocked.stderr).group(1)
    unlocked = harness_cli.harness(*shlex.split(command)[1:], "--endpoint", server.endpoint, timeout=120)
    assert unlocked.returncode == 0, unlocked.stderr
    assert lock_key(workspace) not in _objects(s3, workspace)
    assert harness_cli.harness(*_command("up", workspace, server)).returncode == 0
    assert_state_whole(s3, workspace)


def test_backend_needs_a_valid_s3_url(shared, harness_cli):
    server, _ = shared
    result = harness_cli.harness(*_command("up", "s3-bad-url", server, "--backend", "https://example.com/state"))
    assert result.returncode == 2
    assert "is not an S3 state location" in result.stderr and "Traceback" not in result.stderr
