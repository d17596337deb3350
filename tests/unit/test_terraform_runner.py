"""The runner's own logic, with a stand-in binary: argv, retries, typed errors, env."""

import stat
import time
from pathlib import Path

import pytest

from harness.errors import StateLockedError, TerraformError
from harness.terraform import TerraformRunner
from harness.toolchain import TerraformBinary, Toolchain

SCRIPT = """#!/bin/sh
echo "$*" >> "{calls}"
echo "TF_WORKSPACE=$TF_WORKSPACE" >> "{calls}"
count=$(grep -c . "{calls}")
{body}
"""


def runner_with(tmp_path: Path, body: str, command_timeout: float = 900.0) -> tuple[TerraformRunner, Path]:
    calls = tmp_path / "calls.log"
    fake = tmp_path / "terraform"
    fake.write_text(SCRIPT.format(calls=calls, body=body))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    tools = Toolchain(TerraformBinary(str(fake), "1.15.5", "TERRAFORM_BIN", "terraform"), "mirror", "test",
                      str(tmp_path / "rc"))
    return TerraformRunner(tools, tmp_path, {"EXTRA": "1"}, workspace="t-abc-main",
                           command_timeout=command_timeout), calls


def test_destroy_sends_auto_approve_never_force(tmp_path):
    runner, calls = runner_with(tmp_path, "exit 0")
    runner.destroy({"region": "us-east-1"})
    line = calls.read_text().splitlines()[0]
    assert line.startswith("destroy") and "-auto-approve" in line and "-force" not in line
    assert "-var-file=" in line and "TF_WORKSPACE=t-abc-main" in calls.read_text()


def test_known_retryable_error_is_retried_a_bounded_number_of_times(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("harness.terraform.RETRY_SLEEP_SECONDS", 0)
    runner, calls = runner_with(tmp_path, 'echo "Error: ThrottlingException: Rate exceeded" >&2; exit 1')
    with pytest.raises(TerraformError, match="Rate exceeded"):
        runner.apply({})
    assert sum(1 for line in calls.read_text().splitlines() if line.startswith("apply")) == 3  # 1 + 2 retries
    assert "API throttling" in caplog.text


def test_retry_then_success(tmp_path, monkeypatch):
    monkeypatch.setattr("harness.terraform.RETRY_SLEEP_SECONDS", 0)
    runner, calls = runner_with(
        tmp_path, '[ "$count" -le 2 ] && { echo "RequestError: send request failed" >&2; exit 1; }; exit 0')
    runner.apply({})
    assert sum(1 for line in calls.read_text().splitlines() if line.startswith("apply")) == 2


def test_other_errors_are_not_retried_and_carry_terraforms_words(tmp_path):
    runner, calls = runner_with(tmp_path, 'echo "Error: Invalid reference in main.tf" >&2; exit 1')
    with pytest.raises(TerraformError) as info:
        runner.apply({})
    assert "Invalid reference in main.tf" in str(info.value)
    assert sum(1 for line in calls.read_text().splitlines() if line.startswith("apply")) == 1


def test_lock_errors_are_typed_with_the_unlock_command(tmp_path):
    stderr = ("Error acquiring the state lock\\nRequestID: not-the-lock\\nLock Info:\\n  ID:  1234-abcd\\n"
              "  Who:  ci@runner-2\\n  Created:  2026-11-27 10:00:00\\n")
    runner, _ = runner_with(tmp_path, f'printf "{stderr}" >&2; exit 1')
    runner.backend_url = "s3://state/e2e.tfstate?region=us-east-1"
    with pytest.raises(StateLockedError) as info:
        runner.apply({})
    assert "--lock-id 1234-abcd --backend 's3://state/e2e.tfstate?region=us-east-1'" in info.value.hint
    assert "ci@runner-2" in info.value.hint and "--lock-timeout" in info.value.hint


def test_workspace_commands_never_rely_on_the_shared_environment_file(tmp_path):
    runner, calls = runner_with(tmp_path, "exit 0")
    runner.new_workspace("t-new-ws")
    runner.delete_workspace("t-new-ws")
    # one process each, no `workspace list` first; each names its workspace in its own environment
    assert calls.read_text().splitlines() == ["workspace new -no-color t-new-ws", "TF_WORKSPACE=t-new-ws",
                                              "workspace delete -no-color t-new-ws", "TF_WORKSPACE=default"]


def test_workspace_already_there_or_already_gone_is_not_an_error(tmp_path):
    # Terraform's own answers (1.11): exit 1 with these lines
    runner, _ = runner_with(tmp_path, 'case "$1 $2" in "workspace new") echo "Workspace \\"$4\\" already exists" >&2;; '
                                      '*) echo "Workspace \\"$4\\" doesn\'t exist." >&2;; esac; exit 1')
    runner.new_workspace("t-x")
    runner.delete_workspace("t-x")


def test_other_workspace_failures_still_raise(tmp_path):
    runner, _ = runner_with(tmp_path, 'echo "Workspace is not empty" >&2; exit 1')
    with pytest.raises(TerraformError, match="workspace delete"):
        runner.delete_workspace("t-x")
    with pytest.raises(TerraformError, match="workspace new"):
        runner.new_workspace("t-x")


def test_a_command_that_never_finishes_is_stopped_gracefully_and_reported(tmp_path):
    # Stands in for a provider stuck retrying: runs until SIGINT, then "writes state" and exits.
    log = tmp_path / "calls.log"
    runner, calls = runner_with(tmp_path, f"trap 'echo stopped >> {log}; exit 1' INT; while true; do sleep 0.1; done",
                                command_timeout=1)
    started = time.monotonic()
    with pytest.raises(TerraformError) as info:
        runner.destroy({})
    assert time.monotonic() - started < 30
    assert "stopped after 1s" in info.value.message and "HARNESS_COMMAND_TIMEOUT" in info.value.hint
    assert "stopped" in calls.read_text().splitlines()


def test_teardown_destroy_without_refresh_falls_back_to_a_refreshing_destroy(tmp_path):
    from harness.targets import Target
    from harness.workspace import Workspace

    fails_without_refresh = 'case "$*" in *-refresh=false*) echo "Error: stale" >&2; exit 1;; esac'
    runner, calls = runner_with(tmp_path, f'{fails_without_refresh}; echo "* default"; exit 0')

    from harness.backend import LocalState

    class FakeDeployer:
        target = Target("endpoint", "http://127.0.0.1:9", "us-east-1")
        state_store = LocalState(tmp_path)

    FakeDeployer.runner = runner
    Workspace("t-abc-main", FakeDeployer(), "abc").down(refresh=False)  # type: ignore[arg-type]
    destroys = [line for line in calls.read_text().splitlines() if line.startswith("destroy")]
    assert len(destroys) == 2
    assert "-refresh=false" in destroys[0] and "-refresh=false" not in destroys[1]
