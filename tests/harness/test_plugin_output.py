"""What a person reads on the terminal: progress lines on lines of their own, saying what they
timed, and a Ctrl-C that ends with the harness's lines about what was cleaned up.

Each case runs pytest in a child process with its own run id on the run's own local AWS,
as `make e2e` does, and reads its whole output.
"""

import json
import signal
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.reporting import junit
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow
EARLY_DEPLOY_CONFTEST = (
    "from harness.pytest_plugin import deploy_at_session_start\n"
    "def pytest_configure(config):\n"
    "    deploy_at_session_start(config)\n"
)
CHECKS = (
    "import pathlib, pytest\n"
    "@pytest.fixture(scope='session')\n"  # session scope: set up before the stack, which waits
    "def started():\n"
    "    pathlib.Path(__file__).with_name('started').touch()\n"
    "@pytest.mark.parametrize('n', range(4))\n"
    "def test_upload(started, upload_client, object_key, n):\n"
    "    assert upload_client.put(object_key, b'x').status_code == 200\n"
)


def _start(harness_cli, run_id: str, tmp_path: Path, *extra: str):
    (tmp_path / "conftest.py").write_text(EARLY_DEPLOY_CONFTEST)
    (tmp_path / "test_checks.py").write_text(CHECKS)
    return harness_cli.start_pytest(str(tmp_path / "test_checks.py"), "--rootdir", str(tmp_path), *extra,
                                    env={"HARNESS_RUN_ID": run_id})


def _reports(tmp_path: Path) -> list[str]:
    return [f"--harness-summary={tmp_path / 'summary.json'}", f"--junitxml={tmp_path / 'junit.xml'}",
            "--harness-run-kind", "plugin-output"]


def _assert_reports_name_the_run(tmp_path: Path, run_id: str, status: str) -> None:
    """The summary JSON and the JUnit suite properties say which run they describe and how it ended."""
    run = json.loads((tmp_path / "summary.json").read_text())["run"]
    assert (run["id"], run["kind"], run["status"]) == (run_id, "plugin-output", status), run
    assert run["started_utc"].endswith(" UTC")
    properties = {name: junit.suite_property(tmp_path / "junit.xml", f"harness_run_{name}")
                  for name in ("id", "kind", "status", "started")}
    assert properties == {"id": run_id, "kind": "plugin-output", "status": status, "started": run["started_utc"]}


def _assert_nothing_left(run_id: str) -> None:
    workspace = f"t-{run_id}-main"
    assert not LocalState(paths.stack_dir()).state_file(workspace).parent.exists(), "state left"
    assert not (paths.workspaces_dir() / f"{workspace}.json").exists(), "record left"
    assert not (paths.runs_dir() / run_id).exists(), "run directory left"


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "xdist"])
def test_every_harness_line_is_a_line_of_its_own_and_says_what_it_timed(workers, tmp_path, harness_cli):
    run_id = new_run_id()
    child = _start(harness_cli, run_id, tmp_path, *(["-n", workers] if workers else ["-p", "no:xdist"]),
                   *_reports(tmp_path))
    output = child.finish()
    assert child.returncode == 0, output
    _assert_reports_name_the_run(tmp_path, run_id, "passed")
    lines = output.splitlines()
    # Not swallowed by the first check's captured output, nor glued to pytest's progress.
    assert any(line.startswith("harness: terraform apply took ") for line in lines), output
    assert any(line.startswith("harness: the API answered as intended after ") for line in lines), output
    assert all(line.startswith("harness: ") for line in lines if "harness: " in line), output
    assert "terraform ready" not in output, output
    assert f"harness: destroyed and deleted workspace t-{run_id}-main" in lines, output
    _assert_nothing_left(run_id)


def test_ctrl_c_while_a_check_waits_for_the_stack_ends_with_what_was_cleaned_up(tmp_path, harness_cli):
    run_id = new_run_id()
    # The readiness gate waits for a stage that answers only after 60 s: the stack lock stays
    # held by the session-start deploy for as long as this test needs.
    child = _start(harness_cli, run_id, tmp_path, "-p", "no:xdist",
                   "--localaws-profile", "aws-like:role=0s,stage=60s,flap=0", *_reports(tmp_path))
    phases = paths.runs_dir() / run_id / "phases.jsonl"
    try:
        # Applied (its outputs read), the gate waiting, and the first check waiting for the stack.
        child.wait_for(lambda: (tmp_path / "started").exists() and phases.exists() and '"output"' in phases.read_text(),
                       "the apply done and the first check waiting", timeout=120)
        assert not (paths.runs_dir() / run_id / "stack.json").exists()
    finally:
        if child.process.poll() is None:  # also when the wait failed: the child tears down
            child.signal_group(signal.SIGINT)
        output = child.finish()
    assert child.returncode == pytest.ExitCode.INTERRUPTED, output
    assert f"interrupted while waiting for run {run_id}'s stack to be applied" in output, output
    assert "filelock" not in output and "Traceback" not in output, output
    last = [line for line in output.splitlines() if line.strip()][-1]
    assert last.startswith(f"harness: interrupted; cleaned up workspace t-{run_id}-main (destroyed and deleted)"), \
        output
    assert last.endswith(f"nothing of run {run_id} is left"), output
    _assert_nothing_left(run_id)
    _assert_reports_name_the_run(tmp_path, run_id, "interrupted")
