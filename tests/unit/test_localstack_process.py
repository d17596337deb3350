"""LocalStack lifecycle logic that needs no LocalStack: its environment, process-group stop,
orphan sweep, install failure, JUnit parsing. Stand-in processes are plain Python sleepers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.jobs import localstack_suite
from harness.targets.localstack import install, leftovers
from harness.targets.localstack import process as localstack

SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
          "time.sleep(60)  # stands in for localstack.runtime.main"


def _group(pgid: int) -> list[int]:
    """Live members of process group `pgid`."""
    return localstack.LocalStack("http://127.0.0.1:1", pgid, Path("/nonexistent")).group_pids()


def test_host_mode_env_keeps_localstack_on_loopback_inside_the_run_dir(tmp_path: Path) -> None:
    env = localstack.host_mode_env(tmp_path, 4599, {"PATH": "/bin", "AWS_PROFILE": "prod",
                                                    "LOCALSTACK_AUTH_TOKEN": "secret"})
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599"
    assert env["FILESYSTEM_ROOT"] == str(tmp_path / "localstack-fs")
    assert env["OVERRIDE_IN_DOCKER"] == "0"
    assert env["ACTIVATE_PRO"] == "0" and env["DNS_ADDRESS"] == "0" and env["DISABLE_EVENTS"] == "1"
    assert set(env["SERVICES"].split(",")) == {"s3", "apigateway", "iam", "sts", "resourcegroupstaggingapi", "logs"}
    assert "AWS_PROFILE" not in env and "LOCALSTACK_AUTH_TOKEN" not in env
    assert env["PATH"] == "/bin"


def test_free_port_is_bindable_on_loopback() -> None:
    import socket

    port = localstack.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_stop_kills_the_whole_group_and_removes_the_run_dir(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    handle = localstack.LocalStack("http://127.0.0.1:1", child.pid, run_dir)
    deadline = time.monotonic() + 10
    while len(handle.group_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handle.group_pids()) == 2 and handle.alive()
    handle.stop(timeout=2)
    assert handle.group_pids() == [] and not handle.alive() and not run_dir.exists()
    handle.stop()  # idempotent on a dead process
    assert child.poll() is not None


def test_stop_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    # A record whose pid now belongs to a program that is not LocalStack (pid reuse).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (tmp_path / "run").mkdir()
        handle = localstack.LocalStack("http://127.0.0.1:1", other.pid, tmp_path / "run")
        assert not handle.alive()
        handle.stop(timeout=1)
        assert other.poll() is None  # still running
        assert not (tmp_path / "run").exists()  # the stale run directory is removed all the same
    finally:
        other.kill()
        other.wait()


def test_stop_orphans_finds_a_killed_owners_localstack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    run_dir = localstack.runs_root() / "20260101-000000-1"
    run_dir.mkdir(parents=True)
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    dead_owner = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    orphan = localstack.LocalStack("http://127.0.0.1:1", child.pid, run_dir, owner=dead_owner.pid)
    orphan.save()
    deadline = time.monotonic() + 10  # until /proc shows the new command line (the spawn is not instant)
    while not orphan.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    stale = localstack.runs_root() / "20260101-000000-2"  # its process already gone
    stale.mkdir()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    localstack.LocalStack("http://127.0.0.1:1", exited.pid, stale, owner=dead_owner.pid).save()
    said: list[str] = []
    assert localstack.stop_orphans(say=said.append) == 2
    assert child.wait(timeout=10) is not None
    assert _group(child.pid) == []
    assert not run_dir.exists() and not stale.exists()
    assert any(f"pid {child.pid}" in line for line in said)


def test_stop_orphans_spares_one_whose_owner_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    in_use = localstack.runs_root() / "20260101-000000-3"
    in_use.mkdir(parents=True)
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    try:
        localstack.LocalStack("http://127.0.0.1:1", child.pid, in_use, owner=owner.pid).save()
        assert localstack.stop_orphans(say=lambda _: None) == 0
        assert child.poll() is None and in_use.exists()
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 10
        while not localstack.LocalStack.load(in_use).alive() and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.02)
        assert localstack.stop_orphans(say=lambda _: None) == 1
        assert child.wait(timeout=10) is not None and not in_use.exists()
    finally:
        for process in (owner, child):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_install_failure_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install, "PINS", ("--no-index", "no-such-package-for-harness==0.0.0"))
    with pytest.raises(HarnessError) as caught:
        install.install(venv=tmp_path / "venv", say=lambda _: None)
    assert caught.value.message.startswith("LocalStack 4.13.1 could not be installed")
    assert "install.log" in caught.value.hint
    assert not install.is_installed(tmp_path / "venv")


def test_start_without_install_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not installed") as caught:
        localstack.start(venv=tmp_path / "venv", run_dir=tmp_path / "run")
    assert "harness localstack install" in caught.value.hint


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket

    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()
    (tmp_path / "venv" / ".harness-pins").write_text(install._pins_key())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(HarnessError, match="in use") as caught:
            localstack.start(port=busy.getsockname()[1], venv=tmp_path / "venv", run_dir=tmp_path / "run")
    assert "--port 0" in caught.value.hint and not (tmp_path / "run").exists()


def test_junit_problems_lists_failures_and_errors(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase classname="tests.e2e.test_a" name="test_ok"/>'
        '<testcase classname="tests.e2e.test_a" name="test_bad"><failure message="assert 512 == 256">x</failure>'
        '</testcase><testcase classname="tests.e2e.test_b" name="test_err[x]"><error message="boom&#10;more"/>'
        '</testcase></testsuite></testsuites>')
    assert localstack_suite.junit_problems(junit) == [
        "tests/e2e/test_a.py::test_bad: failure: assert 512 == 256",
        "tests/e2e/test_b.py::test_err[x]: error: boom",
    ]


def test_leftovers_describe_names_the_untagged() -> None:
    left = leftovers.Leftovers(buckets={"a": True, "b": False}, roles={"r": True})
    assert left.total == 3
    assert left.describe() == "2 buckets (1 untagged: b; all: a, b); 0 REST APIs; 1 roles (0 untagged: -; all: r)"


def test_pins_key_changes_with_the_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    before = install._pins_key()
    monkeypatch.setattr(install, "PINS", (*install.PINS, "extra==1"))
    assert install._pins_key() != before
    assert os.path.basename(str(install.venv_dir())) == "venv"
