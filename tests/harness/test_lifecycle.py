"""Lifecycle: whatever happens, a throwaway run leaves nothing behind; broken modules fail.

Each case runs pytest in a child process with its own run id, as a user would, then
looks for leftovers: workspace state, workspace records, run directory, local AWS process.
"""

import json
import signal
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.options import RunOptions
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow


def run_child(harness_cli, run_id: str, *args: str, timeout: float | None = None):
    """A child pytest with its own run id, as a user would start it."""
    return harness_cli.pytest("-q", *args, env={"HARNESS_RUN_ID": run_id}, timeout=timeout)


def start_child_run(harness_cli, run_id: str, wait_for: str):
    """A child pytest on test_oversize.py in its own session; returns once `wait_for`
    exists in its run directory (e.g. workspace.json: apply started; stack.json: applied)."""
    child = harness_cli.start_pytest("-q", "tests/e2e/test_oversize.py", env={"HARNESS_RUN_ID": run_id})
    marker = paths.runs_dir() / run_id / wait_for
    child.wait_for(marker.exists, f"{wait_for} in the run directory", timeout=120)
    return child


def state_of(workspace: str) -> Path:
    return LocalState(paths.stack_dir()).state_file(workspace).parent


def local_aws_processes(run_id: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "harness.localaws" in cmdline and f"/runs/{run_id}/" in cmdline:
            found.append(int(proc.name))
    return found


def assert_nothing_left(run_id: str) -> None:
    workspace = f"t-{run_id}-main"
    assert not state_of(workspace).exists(), "state left"
    assert not (paths.workspaces_dir() / f"{workspace}.json").exists(), "record left"
    assert not (paths.runs_dir() / run_id).exists(), "run directory left"
    assert local_aws_processes(run_id) == [], "local AWS still running"


def test_failing_check_leaves_nothing_behind(tmp_path, harness_cli):
    check = tmp_path / "test_fails_on_purpose.py"
    check.write_text(
        "def test_upload_then_fail(upload_client, s3_readback, object_key):\n"
        "    assert upload_client.put(object_key, b'x').status_code == 200\n"
        "    assert False, 'failing on purpose'\n"
    )
    run_id = new_run_id()
    result = run_child(harness_cli, run_id, str(check), "--rootdir", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failing on purpose" in result.stdout
    assert f"destroyed and deleted workspace t-{run_id}-main" in result.stdout
    assert_nothing_left(run_id)


def test_sigkill_leaves_state_that_sweep_removes(harness_cli):
    run_id = new_run_id()
    child = start_child_run(harness_cli, run_id, "stack.json")  # the stack is applied
    child.signal_group(signal.SIGKILL)  # no teardown can run
    child.finish(timeout=30)
    assert state_of(f"t-{run_id}-main").exists()
    assert local_aws_processes(run_id), "the run's local AWS should have outlived it"

    dry = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, "--dry-run",
                              env={"HARNESS_RUN_ID": run_id}, timeout=120)
    assert f"would remove t-{run_id}-main" in dry.stdout
    assert state_of(f"t-{run_id}-main").exists()

    swept = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, env={"HARNESS_RUN_ID": run_id})
    assert swept.returncode == 0, swept.stderr
    assert f"destroyed and deleted t-{run_id}-main" in swept.stdout
    assert_nothing_left(run_id)


def test_sweep_never_touches_named_workspaces():
    from harness.lifecycle import sweep

    named = state_of("keep-me-named")
    named.mkdir(parents=True, exist_ok=True)
    try:
        leftovers = sweep.throwaway_leftovers(0, None, sweep.state_store(RunOptions()))
        assert all(not lo.workspace.startswith("keep-me") for lo in leftovers)
    finally:
        named.rmdir()


BROKEN_VARIANTS = {
    "no-binary-media-types": (["--stack-var", "binary_media_types=[]"],
                              ["tests/e2e/test_integrity.py", "-k", "invalid_utf8 or every-byte or png"]),
    # JSON types are left out: unmapped, S3 receives the integration default
    # (application/json), which a JSON upload cannot tell apart from its own type.
    "no-content-type-mapping": (["--stack-var", "map_content_type=false"],
                                ["tests/e2e/test_content_types.py", "-k", "stored_as_sent and not json"]),
    # Without the gate: it would retry S3's AccessDenied for its whole timeout (a new role's
    # permissions can take seconds to propagate), and the check itself must be what fails.
    "policy-on-wrong-bucket": (["--stack-var", 'put_object_bucket_arn="arn:aws:s3:::elsewhere"',
                                "--no-readiness-gate"],
                               ["tests/e2e/test_integrity.py", "-k", "one-byte"]),
}


@pytest.mark.parametrize("variant", sorted(BROKEN_VARIANTS))
def test_broken_module_variants_make_the_matching_checks_fail(variant, tmp_path, harness_cli):
    stack_vars, selection = BROKEN_VARIANTS[variant]
    run_id = new_run_id()
    summary_file = tmp_path / "summary.json"
    result = run_child(harness_cli, run_id, *selection, *stack_vars, "--harness-summary", str(summary_file))
    summary = json.loads(summary_file.read_text())
    assert summary["counts"]["failed"] >= 1, result.stdout
    assert summary["counts"]["failed"] == len(summary["checks"]), "every selected check must catch it"
    assert result.returncode == 1
    assert_nothing_left(run_id)
