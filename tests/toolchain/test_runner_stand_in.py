"""The runner's process handling, with a stand-in `terraform` (a shell script it really runs):
argv, retries, typed errors, environment, and how a command that does not end is stopped."""

import json
import os
import secrets
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from harness.errors import StateLockedError, TerraformError
from harness.plumbing.waiting import wait_until
from harness.terraform.backend import LocalState
from harness.terraform.provider_server import pid_alive
from harness.terraform.runner import TerraformRunner, plugin_processes
from harness.terraform.toolchain import TerraformBinary, Toolchain

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
    monkeypatch.setattr("harness.terraform.runner.RETRY_SLEEP_SECONDS", 0)
    runner, calls = runner_with(tmp_path, 'echo "Error: ThrottlingException: Rate exceeded" >&2; exit 1')
    with pytest.raises(TerraformError, match="Rate exceeded"):
        runner.apply({})
    assert sum(1 for line in calls.read_text().splitlines() if line.startswith("apply")) == 3  # 1 + 2 retries
    assert "API throttling" in caplog.text


def test_retry_then_success(tmp_path, monkeypatch):
    monkeypatch.setattr("harness.terraform.runner.RETRY_SLEEP_SECONDS", 0)
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


def test_workspace_list_names_only_workspaces_not_terraforms_notes(tmp_path):
    """What `terraform workspace list` prints while TF_WORKSPACE is set (as on every command here)."""
    runner, _ = runner_with(tmp_path, "printf '* default\\n  t-abc-main\\n\\nThe active workspace is being "
                                      "overridden using the TF_WORKSPACE environment\\nvariable.\\n'; exit 0")
    assert runner.workspaces() == ["default", "t-abc-main"]


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
    from harness.lifecycle.workspace import Workspace
    from harness.targets.target import Target

    fails_without_refresh = 'case "$*" in *-refresh=false*) echo "Error: stale" >&2; exit 1;; esac'
    runner, calls = runner_with(tmp_path, f'{fails_without_refresh}; echo "* default"; exit 0')

    class FakeDeployer:
        target = Target("endpoint", "http://127.0.0.1:9", "us-east-1")
        state_store = LocalState(tmp_path)

    FakeDeployer.runner = runner
    Workspace("t-abc-main", FakeDeployer(), "abc").down(refresh=False)  # type: ignore[arg-type]
    destroys = [line for line in calls.read_text().splitlines() if line.startswith("destroy")]
    assert len(destroys) == 2
    assert "-refresh=false" in destroys[0] and "-refresh=false" not in destroys[1]


# Stands in for Terraform waiting on a provider plugin that keeps retrying: the "plugin" is a
# process in its group; an interrupt is only noted (Terraform waits for the call in flight),
# and when the plugin goes, it reports what it had in progress and exits 1 after writing state.
WAITS_FOR_ITS_PLUGIN = """trap 'echo interrupted >> "{calls}"' INT
echo $$ > "{pid_file}"
echo "module.m.aws_s3_bucket.b: Destroying... [id=b]"
echo "module.m.aws_iam_role.r: Destroying... [id=r]"
echo "module.m.aws_iam_role.r: Destruction complete after 0s"
mkdir -p "{state_dir}" && echo '{{"version": 4}}' > "{state_dir}/terraform.tfstate"
sleep 600 &
plugin=$!
while :; do wait $plugin; [ $? -ne 130 ] && break; done
echo "plugin gone" >> "{calls}"
exit 1
"""

# Stands in for a Terraform that exits neither on its interrupt nor when its plugin goes.
IGNORES_EVERYTHING = """trap 'echo interrupted >> "{calls}"' INT
echo $$ > "{pid_file}"
mkdir -p "{state_dir}" && printf '{{"version": 4, "resour' > "{state_dir}/terraform.tfstate"
sleep 600 &
trap '' TERM
while :; do sleep 0.1; done
"""


def stopping_runner(tmp_path: Path, script: str, monkeypatch, grace: float = 0.3) -> tuple[TerraformRunner, Path]:
    monkeypatch.setattr("harness.terraform.runner.INTERRUPT_GRACE_SECONDS", grace)
    monkeypatch.setattr("harness.terraform.runner.PROVIDER_GONE_GRACE_SECONDS", 0.5)
    monkeypatch.setattr("harness.terraform.runner.STATE_QUIET_WAIT_SECONDS", 0.2)
    pid_file = tmp_path / "terraform.pid"
    body = script.format(calls=tmp_path / "calls.log", pid_file=pid_file,
                         state_dir=LocalState(tmp_path).state_file("t-abc-main").parent)
    runner, _ = runner_with(tmp_path, body, command_timeout=0.5)
    return runner, pid_file


def assert_group_gone(pid_file: Path) -> None:
    """Neither the stand-in nor any process of its group (its "plugins") is left running (zombies are dead)."""
    pid = int(pid_file.read_text())
    assert not pid_alive(pid) and plugin_processes(pid) == []


def test_a_command_stuck_on_its_plugin_ends_when_the_plugin_is_stopped_and_says_what_is_left(tmp_path, monkeypatch):
    runner, pid_file = stopping_runner(tmp_path, WAITS_FOR_ITS_PLUGIN, monkeypatch)
    started = time.monotonic()
    with pytest.raises(TerraformError) as info:
        runner.destroy({})
    assert time.monotonic() - started < 60  # a hang guard, not a timing goal
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls.count("interrupted") == 1 and "plugin gone" in calls  # one SIGINT, then the plugin stopped
    assert info.value.returncode == 1  # it exited on its own: never killed while it could write state
    assert "stopped after 0.5s" in info.value.message and "its AWS provider was stopped" in info.value.message
    hint = info.value.hint
    assert "left: workspace t-abc-main, its state readable and unlocked" in hint
    assert "module.m.aws_s3_bucket.b was in progress" in hint and "aws_iam_role" not in hint
    assert "`harness down --workspace t-abc-main` removes the rest" in hint
    assert "`harness up --workspace t-abc-main`" in hint and "HARNESS_COMMAND_TIMEOUT" in hint
    assert_group_gone(pid_file)


def test_a_command_that_does_not_end_when_its_plugin_goes_is_killed_with_its_group(tmp_path, monkeypatch):
    runner, pid_file = stopping_runner(tmp_path, IGNORES_EVERYTHING, monkeypatch)
    state = LocalState(tmp_path).state_file("t-abc-main")
    state.parent.mkdir(parents=True)
    state.with_name("terraform.tfstate.backup").write_text('{"version": 4}')
    with pytest.raises(TerraformError) as info:
        runner.apply({})
    assert info.value.returncode == -9
    assert "it was killed" in info.value.message
    # A state cut half-way is named, with Terraform's backup to restore from.
    assert "state unreadable" in info.value.hint and "terraform.tfstate.backup" in info.value.hint
    assert "`harness up --workspace t-abc-main` applies it again" in info.value.hint
    assert_group_gone(pid_file)


def test_a_second_ctrl_c_stops_the_plugin_without_waiting_for_the_grace(tmp_path, monkeypatch, capsys):
    runner, pid_file = stopping_runner(tmp_path, WAITS_FOR_ITS_PLUGIN, monkeypatch, grace=600)
    runner.command_timeout = 600
    calls = tmp_path / "calls.log"

    def press_ctrl_c_twice() -> None:
        # Each once the previous one has shown: the stand-in started, then it got its interrupt.
        for seen in ("destroy", "interrupted"):
            wait_until(lambda seen=seen: calls.exists() and seen in calls.read_text(), 30,
                       what=f"{seen!r} in the stand-in's log")
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_twice)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.destroy({})
    finally:
        presser.join()
    assert "plugin gone" in calls.read_text().splitlines()
    err = capsys.readouterr().err
    assert "Press Ctrl-C again to stop its AWS provider now" in err
    assert "left: workspace t-abc-main" in err and "`harness down --workspace t-abc-main`" in err
    assert "HARNESS_COMMAND_TIMEOUT" not in err
    assert_group_gone(pid_file)


@pytest.mark.slow  # a local AWS for the S3 state: seconds; `make test`, not `make check`
@pytest.mark.parametrize("locked", [True, False], ids=["lock-left", "no-lock"])
def test_a_killed_command_with_s3_state_names_the_lock_it_left(locked, tmp_path, monkeypatch, local_target):
    runner, pid_file = stopping_runner(tmp_path, IGNORES_EVERYTHING, monkeypatch)
    bucket = f"state-{secrets.token_hex(4)}"  # the module's cases share one local AWS
    runner.backend_url = f"s3://{bucket}/e2e.tfstate?region=us-east-1&endpoint={local_target.endpoint}"
    s3 = local_target.client("s3")
    s3.create_bucket(Bucket=bucket)
    if locked:  # the lock file a killed Terraform leaves next to the workspace's state (use_lockfile)
        s3.put_object(Bucket=bucket, Key="env:/t-abc-main/e2e.tfstate.tflock", Body=json.dumps(
            {"ID": "5d1e-lock", "Operation": "OperationTypeApply", "Who": "ci@runner", "Version": "1.11.4"}))
    with pytest.raises(TerraformError) as info:
        runner.apply({})
    assert info.value.returncode == -9
    unlock = ("`harness unlock --workspace t-abc-main --lock-id 5d1e-lock --backend "
              f"'{runner.backend_url}'` releases the lock it left")
    if locked:
        assert "its state in S3 still locked" in info.value.hint and unlock in info.value.hint
    else:
        assert "its state in S3 and unlocked" in info.value.hint and "harness unlock" not in info.value.hint
    assert_group_gone(pid_file)
