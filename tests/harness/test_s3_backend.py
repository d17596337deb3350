"""Shared state in S3 with Terraform's native lock file, against the local AWS's S3.

Each `harness` call is a separate process, as two CI runners would be; the state bucket
and the stack's resources live on one in-process local AWS.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from proc_tree import descendants

from harness import paths
from harness.lifecycle.workspace import child_run_environment
from harness.localaws import LocalAws
from harness.terraform.backend import S3Backend

pytestmark = pytest.mark.slow
STATE_BUCKET = "harness-state"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with LocalAws() as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket=STATE_BUCKET)
        working_copy = S3Backend.parse(backend_url(server)).working_copy_path(paths.stack_dir())
        yield server, s3
    shutil.rmtree(working_copy, ignore_errors=True)


@pytest.fixture
def workspace(shared):
    server, s3 = shared
    name = f"s3-{uuid.uuid4().hex[:8]}"
    yield name
    harness("down", name, server)  # whatever the test left
    assert _objects(s3, name) == [], "state or lock left in the bucket"


def backend_url(server: LocalAws) -> str:
    return f"s3://{STATE_BUCKET}/e2e/terraform.tfstate?endpoint={server.endpoint}"


def _command(verb: str, name: str, server: LocalAws, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", verb, "--workspace", name, "--endpoint", server.endpoint,
            "--backend", backend_url(server), *extra]


def harness(verb: str, name: str, server: LocalAws, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command(verb, name, server, *extra), cwd=paths.project_root(),
                          env=child_run_environment(), capture_output=True, text=True, timeout=300)


def start(verb: str, name: str, server: LocalAws, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(_command(verb, name, server, *extra), cwd=paths.project_root(),
                            env=child_run_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _objects(s3, name: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=f"env:/{name}/").get("Contents", [])]


def lock_key(name: str) -> str:
    return f"env:/{name}/e2e/terraform.tfstate.tflock"


def wait_for_lock(s3, name: str, process: subprocess.Popen, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=lock_key(name))["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.02)
    raise AssertionError("the lock file never appeared")


def assert_state_whole(s3, name: str) -> dict:
    state = json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=f"env:/{name}/e2e/terraform.tfstate")["Body"].read())
    assert state["version"] == 4 and state["lineage"]
    managed = {r["type"] for r in state["resources"] if r["mode"] == "managed"}
    assert {"aws_s3_bucket", "aws_iam_role", "aws_api_gateway_rest_api", "aws_api_gateway_deployment"} <= managed
    return state


def test_two_concurrent_applies_one_fails_with_a_lock_message_state_stays_whole(shared, workspace):
    server, s3 = shared
    first = start("up", workspace, server)
    wait_for_lock(s3, workspace, first)
    second = harness("up", workspace, server)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert second.returncode == 2, second.stderr
    assert "another run holds the state lock" in second.stderr
    assert "--lock-timeout" in second.stderr and "harness unlock" in second.stderr
    assert "Traceback" not in second.stderr
    state = assert_state_whole(s3, workspace)
    assert lock_key(workspace) not in _objects(s3, workspace)
    assert json.loads(first_out)["bucket_name"] in json.dumps(state)


def test_a_run_with_lock_timeout_waits_for_the_holder(shared, workspace):
    server, s3 = shared
    assert harness("up", workspace, server).returncode == 0
    before = assert_state_whole(s3, workspace)["serial"]
    # Another runner holds the lock, written as Terraform writes it (conditional PUT).
    s3.put_object(Bucket=STATE_BUCKET, Key=lock_key(workspace), IfNoneMatch="*", Body=json.dumps(
        {"ID": "other-runner", "Operation": "OperationTypeApply", "Who": "ci@elsewhere"}).encode())
    waiting = start("up", workspace, server, "--lock-timeout", "2m")
    time.sleep(4)
    assert waiting.poll() is None, waiting.communicate()
    s3.delete_object(Bucket=STATE_BUCKET, Key=lock_key(workspace))  # the other runner finishes
    _, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert assert_state_whole(s3, workspace)["serial"] >= before


def test_a_stale_lock_is_reported_with_the_command_that_breaks_it(shared, workspace):
    server, s3 = shared
    assert harness("up", workspace, server).returncode == 0
    planning = start("drift", workspace, server)  # a plan holds the lock
    lock = wait_for_lock(s3, workspace, planning)
    for pid in [planning.pid, *(pid for pid, _ in descendants(planning.pid))]:  # the runner's machine dies
        os.kill(pid, signal.SIGKILL)
    planning.wait(timeout=30)
    time.sleep(0.5)
    assert lock_key(workspace) in _objects(s3, workspace), "the killed run's lock should be left"

    blocked = harness("up", workspace, server)
    assert blocked.returncode == 2
    assert lock["ID"] in blocked.stderr and "stale" in blocked.stderr
    command = re.search(r"`(harness unlock [^`]+)`", blocked.stderr).group(1)
    unlocked = subprocess.run([sys.executable, "-m", "harness.cli", *shlex.split(command)[1:],
                               "--endpoint", server.endpoint], cwd=paths.project_root(),
                              env=child_run_environment(), capture_output=True, text=True, timeout=120)
    assert unlocked.returncode == 0, unlocked.stderr
    assert lock_key(workspace) not in _objects(s3, workspace)
    assert harness("up", workspace, server).returncode == 0
    assert_state_whole(s3, workspace)


def test_backend_needs_a_valid_s3_url(shared):
    server, _ = shared
    result = harness("up", "s3-bad-url", server, "--backend", "https://example.com/state")
    assert result.returncode == 2
    assert "is not an S3 state location" in result.stderr and "Traceback" not in result.stderr
