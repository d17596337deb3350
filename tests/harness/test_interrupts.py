"""Ctrl-C (SIGINT) at each phase of a throwaway run: Terraform stops gracefully, the
workspace is destroyed and deleted, and no tagged resource is left on the target.

Each child pytest deploys to the module's local AWS (`--endpoint`), so this test can look
at what is left on it afterwards. Phases are detected from events, not from timings: which
`terraform` subcommand runs in the child's process tree, a file the child's check or
conftest writes when it gets somewhere, a line the child prints.
"""

import re
import shutil
import signal
from pathlib import Path

import pytest
from proc_tree import terraform_commands, with_environment

from harness import paths
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import new_run_id
from harness.targets.target import Target
from harness.terraform import provider_server
from harness.terraform.backend import LocalState, S3Backend

pytestmark = pytest.mark.slow
# Hang guards, not timing goals.
PHASE_SECONDS = 180
CHILD_SECONDS = 300
SLOW_CHECK = (
    "import pathlib, time\n"
    "def test_upload_then_wait(upload_client, object_key):\n"
    "    assert upload_client.put(object_key, b'x').status_code == 200\n"
    "    pathlib.Path(__file__).with_name('checking').touch()\n"
    "    time.sleep(60)\n"
)

# A check whose collection takes 60 s: an apply seen before `collected` exists was started
# as the session started, not by the check.
SLOW_COLLECTION = (
    "import pathlib, time\n"
    "time.sleep(60)\n"
    "pathlib.Path(__file__).with_name('collected').touch()\n"
)
# `finishing`: the session has run its checks and reached its finish, where it waits for the
# apply it started (the plugin's own finish runs right after this one).
EARLY_DEPLOY_CONFTEST = (
    "import pathlib, pytest\n"
    "from harness.pytest_plugin import deploy_at_session_start\n"
    "def pytest_configure(config):\n"
    "    deploy_at_session_start(config)\n"
    "@pytest.hookimpl(tryfirst=True)\n"
    "def pytest_sessionfinish(session):\n"
    "    pathlib.Path(__file__).with_name('finishing').touch()\n"
)


def _start(harness_cli, run_id: str, server: Target, tmp_path: Path, *extra: str, early: bool = False,
           source: str | None = None):
    check = tmp_path / "test_slow_check.py"
    check.write_text(SLOW_CHECK)
    if early:  # as tests/e2e does: the controller applies in a thread as the session starts
        (tmp_path / "conftest.py").write_text(EARLY_DEPLOY_CONFTEST)
        check.write_text(SLOW_COLLECTION + SLOW_CHECK)
    if source is not None:
        check.write_text(source)
    return harness_cli.start_pytest("-q", str(check), "--rootdir", str(tmp_path), "--endpoint", server.endpoint,
                                    *extra, env={"HARNESS_RUN_ID": run_id})


def _applied(run_id: str):
    return (paths.runs_dir() / run_id / "stack.json").exists


def _running(child, command: str):
    return lambda: command in terraform_commands(child.pid)


def _assert_nothing_left(run_id: str, server: Target | None) -> None:
    """None: the run had a local AWS of its own, gone with it (the process check below covers it)."""
    workspace = f"t-{run_id}-main"
    assert not LocalState(paths.stack_dir()).state_file(workspace).parent.exists(), "state left"
    assert not (paths.workspaces_dir() / f"{workspace}.json").exists(), "record left"
    assert not (paths.runs_dir() / run_id).exists(), "run directory left"
    if server is not None:
        assert tagged_resources(Target("endpoint", server.endpoint, "us-east-1"), run_id) == [], "resources left"
    assert [p.pid for p in provider_server.recorded() if p.run_id == run_id and p.alive()] == [], "provider left"
    # Every process of the run inherited its id: none may outlive it (local AWS, served provider, Terraform).
    assert with_environment("HARNESS_RUN_ID", run_id) == [], "process left"


@pytest.mark.parametrize("phase", ["apply", "checks", "destroy"])
def test_one_ctrl_c_at_any_phase_leaves_nothing(phase, local_target, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path)
    if phase == "checks":
        child.wait_for((tmp_path / "checking").exists, "the check waiting (inside its 60 s)", PHASE_SECONDS)
    elif phase == "destroy":
        child.wait_for(_applied(run_id), "the stack applied", PHASE_SECONDS)
        child.signal_group(signal.SIGINT)  # stop the checks; teardown starts
        child.wait_for(_running(child, "destroy"), "terraform destroy", PHASE_SECONDS)
    else:
        child.wait_for(_running(child, phase), f"terraform {phase}", PHASE_SECONDS)
    child.signal_group(signal.SIGINT)  # what a terminal's Ctrl-C does
    output = child.finish(timeout=CHILD_SECONDS)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    if phase == "destroy":
        assert "letting `terraform destroy" in output, output
    _assert_nothing_left(run_id, local_target)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_an_apply_the_controller_started_at_session_start_leaves_nothing(signum, local_target, tmp_path,
                                                                                      harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path, early=True)
    child.wait_for(_running(child, "apply"), "terraform apply", PHASE_SECONDS)
    assert not (tmp_path / "collected").exists()
    child.signal_group(signum)
    output = child.finish(timeout=CHILD_SECONDS)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    assert "Traceback" not in output, output
    _assert_nothing_left(run_id, local_target)


QUICK_CHECK = (
    "import pathlib\n"
    "def test_needs_no_stack():\n"
    "    pathlib.Path(__file__).with_name('ran').touch()\n"
)


def test_ctrl_c_while_the_session_waits_for_its_session_start_deploy_still_tears_down(tmp_path, harness_cli):
    # The run's own local AWS with a stage that answers only after 60 s: the session-start
    # deploy (apply, then the readiness gate) is still going when the quick check is done and
    # the session reaches its finish and waits for it.
    run_id = new_run_id()
    (tmp_path / "conftest.py").write_text(EARLY_DEPLOY_CONFTEST)  # its `finishing` marker comes too late here
    check = tmp_path / "test_quick_check.py"
    check.write_text(QUICK_CHECK)
    child = harness_cli.start_pytest("-q", str(check), "--rootdir", str(tmp_path),
                                     "--localaws-profile", "aws-like:role=0s,stage=60s,flap=0",
                                     env={"HARNESS_RUN_ID": run_id})
    phases = paths.runs_dir() / run_id / "phases.jsonl"
    # Applied (its outputs read) and the readiness gate waiting, with the only check reported
    # ("[100%]"): the session is at its finish, waiting for the deploy.
    child.wait_for(lambda: "[100%]" in child.output() and phases.exists() and '"output"' in phases.read_text(),
                   "the session at its finish while its deploy waits for the stage", PHASE_SECONDS)
    assert (tmp_path / "ran").exists()
    child.signal_group(signal.SIGINT)
    output = child.finish(timeout=CHILD_SECONDS)
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    _assert_nothing_left(run_id, None)


def test_a_session_whose_checks_are_all_deselected_stops_its_session_start_apply(local_target, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path, "-k", "no_check_has_this_name", early=True,
                   source=QUICK_CHECK)
    output = child.finish(timeout=CHILD_SECONDS)
    assert child.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, output
    assert "Traceback" not in output, output
    _assert_nothing_left(run_id, local_target)


def test_ctrl_c_during_init_leaves_nothing(local_target, tmp_path, harness_cli):
    # A fresh S3-backed working copy, so that this run has to init.
    s3 = local_target.client("s3")
    s3.create_bucket(Bucket="interrupt-state")
    backend = f"s3://interrupt-state/{new_run_id()}/e2e.tfstate?endpoint={local_target.endpoint}"
    run_id = new_run_id()
    try:
        child = _start(harness_cli, run_id, local_target, tmp_path, "--backend", backend)
        child.wait_for(_running(child, "init"), "terraform init", PHASE_SECONDS)
        child.signal_group(signal.SIGINT)
        output = child.finish(timeout=CHILD_SECONDS)
        assert child.returncode != 0
        assert "Traceback" not in output
        _assert_nothing_left(run_id, local_target)
        assert s3.list_objects_v2(Bucket="interrupt-state").get("KeyCount", 0) == 0
    finally:
        shutil.rmtree(S3Backend.parse(backend).working_copy_path(paths.stack_dir()), ignore_errors=True)


def test_second_ctrl_c_during_destroy_says_what_is_left_and_sweep_removes_it(local_target, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path)
    child.wait_for(_applied(run_id), "the stack applied", PHASE_SECONDS)
    child.signal_group(signal.SIGINT)
    child.wait_for(_running(child, "destroy"), "terraform destroy", PHASE_SECONDS)
    child.signal_group(signal.SIGINT)
    # A person's second Ctrl-C during the destroy, once the first one there was taken.
    child.wait_for_output("letting `terraform destroy` finish", timeout=PHASE_SECONDS)
    assert "destroy" in terraform_commands(child.pid), "the destroy ended before the second Ctrl-C"
    child.signal_group(signal.SIGINT)
    output = child.finish(timeout=CHILD_SECONDS)
    assert child.returncode != 0
    hint = re.search(r"still there\. Remove them with: (harness down --workspace \S+)", output)
    assert hint, output
    swept = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, "--endpoint", local_target.endpoint)
    assert swept.returncode == 0, swept.stderr
    _assert_nothing_left(run_id, local_target)


def test_sigterm_during_apply_tears_down_like_ctrl_c(local_target, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path)
    child.wait_for(_running(child, "apply"), "terraform apply", PHASE_SECONDS)
    child.signal_group(signal.SIGTERM)  # what CI sends when it cancels a job
    output = child.finish(timeout=CHILD_SECONDS)
    assert child.returncode != 0
    assert f"destroyed and deleted workspace t-{run_id}-main" in output, output
    _assert_nothing_left(run_id, local_target)


def test_sigkill_then_sweep_leaves_no_workspace_and_no_tagged_resource(local_target, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, local_target, tmp_path)
    child.wait_for(_applied(run_id), "the stack applied", PHASE_SECONDS)
    child.signal_group(signal.SIGKILL)  # no teardown can run
    child.finish(timeout=30)
    target = Target("endpoint", local_target.endpoint, "us-east-1")
    assert sorted(r.kind for r in tagged_resources(target, run_id)) == ["bucket", "log-group", "rest-api", "role"]
    swept = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, "--endpoint", local_target.endpoint)
    assert swept.returncode == 0, swept.stderr
    assert f"destroyed and deleted t-{run_id}-main" in swept.stdout
    _assert_nothing_left(run_id, local_target)
