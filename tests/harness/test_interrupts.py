"""Ctrl-C (SIGINT) at each phase of a throwaway run: Terraform stops gracefully, the
workspace is destroyed and deleted, and no tagged resource is left on the target.

Each child pytest deploys to an in-process local AWS (`--endpoint`), so this test can
look at what is left on it afterwards. Phases are detected from the child's process
tree (which `terraform` subcommand is running), not from timings.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from proc_tree import terraform_commands, with_environment

from harness import paths
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import child_run_environment, new_run_id
from harness.localaws import LocalAws
from harness.targets.target import Target
from harness.terraform import provider_server
from harness.terraform.backend import S3Backend

pytestmark = pytest.mark.slow
SLOW_CHECK = (
    "import time\n"
    "def test_upload_then_wait(upload_client, object_key):\n"
    "    assert upload_client.put(object_key, b'x').status_code == 200\n"
    "    time.sleep(60)\n"
)


@pytest.fixture(scope="module")
def server():
    with LocalAws() as local:
        yield local


# A check whose collection takes 60 s: an apply seen before `collected` exists was started
# as the session started, not by the check.
SLOW_COLLECTION = (
    "import pathlib, time\n"
    "time.sleep(60)\n"
    "pathlib.Path(__file__).with_name('collected').touch()\n"
)
EARLY_DEPLOY_CONFTEST = (
    "from harness.pytest_plugin import deploy_at_session_start\n"
    "def pytest_configure(config):\n"
    "    deploy_at_session_start(config)\n"
)


def _start(run_id: str, server: LocalAws, tmp_path: Path, *extra: str, early: bool = False,
           source: str | None = None) -> subprocess.Popen:
    check = tmp_path / "test_slow_check.py"
    check.write_text(SLOW_CHECK)
    if early:  # as tests/e2e does: the controller applies in a thread as the session starts
        (tmp_path / "conftest.py").write_text(EARLY_DEPLOY_CONFTEST)
        check.write_text(SLOW_COLLECTION + SLOW_CHECK)
    if source is not None:
        check.write_text(source)
    env = {**child_run_environment(), "HARNESS_RUN_ID": run_id}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(check), "--rootdir", str(tmp_path),
         "--endpoint", server.endpoint, *extra],
        cwd=paths.project_root(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )


def _wait_for(child: subprocess.Popen, ready, what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        if ready():
            return
        time.sleep(0.01)
    raise AssertionError(f"never saw {what}: {child.communicate(timeout=60)[0] if child.poll() is not None else ''}")


def _assert_nothing_left(run_id: str, server: LocalAws) -> None:
    workspace = f"t-{run_id}-main"
    assert not (paths.stack_dir() / "terraform.tfstate.d" / workspace).exists(), "state left"
    assert not (paths.workspaces_dir() / f"{workspace}.json").exists(), "record left"
    assert not (paths.runs_dir() / run_id).exists(), "run directory left"
    assert tagged_resources(Target("endpoint", server.endpoint, "us-east-1"), run_id) == [], "resources left"
    assert [p.pid for p in provider_server.recorded() if p.run_id == run_id and p.alive()] == [], "provider left"
    # Every process of the run inherited its id: none may outlive it (local AWS, served provider, Terraform).
    assert with_environment("HARNESS_RUN_ID", run_id) == [], "process left"


@pytest.mark.parametrize("phase", ["apply", "checks", "destroy"])
def test_one_ctrl_c_at_any_phase_leaves_nothing(phase, server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path)
    if phase == "checks":
        _wait_for(child, lambda: (paths.runs_dir() / run_id / "stack.json").exists(), "the stack applied")
        time.sleep(1.0)  # inside the check's 60 s wait
    elif phase == "destroy":
        _wait_for(child, lambda: (paths.runs_dir() / run_id / "stack.json").exists(), "the stack applied")
        os.killpg(child.pid, signal.SIGINT)  # stop the checks; teardown starts
        _wait_for(child, lambda: "destroy" in terraform_commands(child.pid), "terraform destroy")
    else:
        _wait_for(child, lambda: phase in terraform_commands(child.pid), f"terraform {phase}")
    os.killpg(child.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    output, _ = child.communicate(timeout=300)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    if phase == "destroy":
        assert "letting `terraform destroy" in output, output
    _assert_nothing_left(run_id, server)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_an_apply_the_controller_started_at_session_start_leaves_nothing(signum, server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path, early=True)
    _wait_for(child, lambda: "apply" in terraform_commands(child.pid), "terraform apply")
    assert not (tmp_path / "collected").exists()
    os.killpg(child.pid, signum)
    output, _ = child.communicate(timeout=300)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    assert "Traceback" not in output, output
    _assert_nothing_left(run_id, server)


QUICK_CHECK = (
    "import pathlib\n"
    "def test_needs_no_stack():\n"
    "    pathlib.Path(__file__).with_name('ran').touch()\n"
)


def test_ctrl_c_while_the_session_waits_for_its_session_start_apply_still_tears_down(server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path, early=True, source=QUICK_CHECK)  # done long before the apply
    _wait_for(child, lambda: (tmp_path / "ran").exists() and "apply" in terraform_commands(child.pid),
              "the check done while terraform apply runs")
    time.sleep(0.2)  # the session is now waiting for its apply
    os.killpg(child.pid, signal.SIGINT)
    output, _ = child.communicate(timeout=300)
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    _assert_nothing_left(run_id, server)


def test_a_session_whose_checks_are_all_deselected_stops_its_session_start_apply(server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path, "-k", "no_check_has_this_name", early=True, source=QUICK_CHECK)
    output, _ = child.communicate(timeout=300)
    assert child.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, output
    assert "Traceback" not in output, output
    _assert_nothing_left(run_id, server)


def test_ctrl_c_during_init_leaves_nothing(server, tmp_path):
    # A fresh S3-backed working copy, so that this run has to init.
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="interrupt-state")
    backend = f"s3://interrupt-state/{new_run_id()}/e2e.tfstate?endpoint={server.endpoint}"
    run_id = new_run_id()
    try:
        child = _start(run_id, server, tmp_path, "--backend", backend)
        _wait_for(child, lambda: "init" in terraform_commands(child.pid), "terraform init")
        os.killpg(child.pid, signal.SIGINT)
        output, _ = child.communicate(timeout=300)
        assert child.returncode != 0
        assert "Traceback" not in output
        _assert_nothing_left(run_id, server)
        assert s3.list_objects_v2(Bucket="interrupt-state").get("KeyCount", 0) == 0
    finally:
        shutil.rmtree(S3Backend.parse(backend).working_copy_path(paths.stack_dir()), ignore_errors=True)


def test_second_ctrl_c_during_destroy_says_what_is_left_and_sweep_removes_it(server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path)
    _wait_for(child, lambda: (paths.runs_dir() / run_id / "stack.json").exists(), "the stack applied")
    os.killpg(child.pid, signal.SIGINT)
    _wait_for(child, lambda: "destroy" in terraform_commands(child.pid), "terraform destroy")
    os.killpg(child.pid, signal.SIGINT)
    # A person's second Ctrl-C, once the first was taken, but well inside the destroy (0.8 s here now).
    time.sleep(0.2)
    assert "destroy" in terraform_commands(child.pid), "the destroy ended before the second Ctrl-C"
    os.killpg(child.pid, signal.SIGINT)
    output, _ = child.communicate(timeout=300)
    assert child.returncode != 0
    hint = re.search(r"still there\. Remove them with: (harness down --workspace \S+)", output)
    assert hint, output
    swept = subprocess.run([sys.executable, "-m", "harness.cli", "sweep", "--older-than", "0s", "--run-id", run_id,
                            "--endpoint", server.endpoint], cwd=paths.project_root(), env=child_run_environment(),
                           capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr
    _assert_nothing_left(run_id, server)


def test_sigterm_during_apply_tears_down_like_ctrl_c(server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path)
    _wait_for(child, lambda: "apply" in terraform_commands(child.pid), "terraform apply")
    os.killpg(child.pid, signal.SIGTERM)  # what CI sends when it cancels a job
    output, _ = child.communicate(timeout=300)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    _assert_nothing_left(run_id, server)


def test_sigkill_then_sweep_leaves_no_workspace_and_no_tagged_resource(server, tmp_path):
    run_id = new_run_id()
    child = _start(run_id, server, tmp_path)
    _wait_for(child, lambda: (paths.runs_dir() / run_id / "stack.json").exists(), "the stack applied")
    os.killpg(child.pid, signal.SIGKILL)  # no teardown can run
    child.wait(timeout=30)
    target = Target("endpoint", server.endpoint, "us-east-1")
    assert sorted(r.kind for r in tagged_resources(target, run_id)) == ["bucket", "log-group", "rest-api", "role"]
    swept = subprocess.run([sys.executable, "-m", "harness.cli", "sweep", "--older-than", "0s", "--run-id", run_id,
                            "--endpoint", server.endpoint], cwd=paths.project_root(), env=child_run_environment(),
                           capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr
    assert f"destroyed and deleted t-{run_id}-main" in swept.stdout
    _assert_nothing_left(run_id, server)
