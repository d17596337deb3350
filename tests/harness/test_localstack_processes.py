"""LocalStack's process handling on stand-in processes (plain Python sleepers in their own
group, as `localstack.runtime.main` and what it starts): the group stop, a reused pid left
alone, the orphan sweep, and an install that fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.plumbing import procfs
from harness.plumbing.waiting import wait_until
from harness.targets.localstack import install
from harness.targets.localstack import process as localstack

SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
          "time.sleep(60)  # stands in for localstack.runtime.main"


def _ended(pid: int) -> bool:
    """The process no longer runs (gone, or a zombie). The stop reaps its leader itself (waitpid), so
    the Popen's own `wait()` can only report 0 then, whatever happened."""
    return procfs.state(pid) in (None, "Z", "X")


def _group(pgid: int) -> list[int]:
    """Live members of process group `pgid`."""
    return localstack.LocalStack("http://127.0.0.1:1", pgid, Path("/nonexistent")).group_pids()


def test_stop_kills_the_whole_group_and_removes_the_run_dir(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    handle = localstack.LocalStack("http://127.0.0.1:1", child.pid, run_dir)
    wait_until(lambda: len(handle.group_pids()) == 2, 10, what="the stand-in and the process it starts")
    assert handle.alive()
    handle.stop(timeout=2)
    assert handle.group_pids() == [] and not handle.alive() and not run_dir.exists()
    handle.stop()  # idempotent on a dead process
    assert _ended(child.pid)


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
    wait_until(orphan.alive, 10, what="/proc to show the stand-in's command line (a spawn is not instant)")
    stale = localstack.runs_root() / "20260101-000000-2"  # its process already gone
    stale.mkdir()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    localstack.LocalStack("http://127.0.0.1:1", exited.pid, stale, owner=dead_owner.pid).save()
    said: list[str] = []
    assert localstack.stop_orphans(say=said.append) == 2
    assert _ended(child.pid)  # stopped by the sweep: it would have slept for 60 s
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
        recorded = localstack.LocalStack.load(in_use)
        assert recorded is not None
        wait_until(recorded.alive, 10, what="/proc to show the stand-in's command line (a spawn is not instant)")
        assert localstack.stop_orphans(say=lambda _: None) == 1
        assert _ended(child.pid) and not in_use.exists()
    finally:
        for process in (owner, child):
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow  # a pip run in a new virtualenv: seconds; `make test`, not `make check`
def test_install_failure_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install, "PINS", ("--no-index", "no-such-package-for-harness==0.0.0"))
    with pytest.raises(HarnessError) as caught:
        install.install(venv=tmp_path / "venv", say=lambda _: None)
    assert caught.value.message.startswith("LocalStack 4.13.1 could not be installed")
    assert "install.log" in caught.value.hint
    assert not install.is_installed(tmp_path / "venv")
