"""Recorded child processes (harness/plumbing/children.py) without starting any: records,
who a pid is, who owns a child, and what a sweep decides. This test process stands in for
a live process; this process with a start time it never had stands in for a pid the
system has given to another program (the case the start time exists for)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from harness.plumbing import children, procfs
from harness.plumbing.children import Child

ME = os.getpid()
MY_TICKS = procfs.start_ticks(ME)
assert MY_TICKS is not None, "these tests need /proc"
NOT_MY_TICKS = MY_TICKS + 1  # the same pid, another process: what a reused pid looks like
MY_PROGRAM = (procfs.cmdline(ME) or b"").split(b"\0")[0].decode()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_a_record_round_trips_and_is_found_by_kind(tmp_path: Path) -> None:
    child = Child("localaws", ME, MY_TICKS, what="a local AWS", owner_pid=ME, owner_ticks=MY_TICKS,
                  owner_dir=str(tmp_path), run_id="r1", marker="harness.localaws", group=True, grace=2.5,
                  files=(str(tmp_path / "log"),), details={"endpoint": "http://127.0.0.1:1"}).save()
    Child("provider", ME, MY_TICKS, details={"address": "a"}).save()
    assert child.record_path == children.registry_dir() / f"localaws-{ME}.json"
    assert Child.load(child.record_path) == child
    assert children.find("localaws", ME) == child
    assert children.recorded("localaws") == [child]
    assert sorted(c.kind for c in children.recorded()) == ["localaws", "provider"]
    assert children.find("localstack", ME) is None


def test_a_torn_or_foreign_record_is_skipped() -> None:
    folder = children.registry_dir()
    folder.mkdir(parents=True)
    (folder / "localaws-1.json").write_text('{"kind": "localaws", "pid": 1')  # killed mid-write
    (folder / "localaws-2.json").write_text(json.dumps({"kind": "localaws", "pid": "2"}))
    (folder / "localaws-3.json").write_text(json.dumps({"kind": "localaws", "pid": -3}))
    (folder / "localaws-4.json").write_text(json.dumps(["not", "a", "record"]))
    good = Child("localaws", ME, MY_TICKS).save()
    assert children.recorded() == [good]


def test_a_pid_is_this_child_only_with_its_start_time_or_its_marker() -> None:
    assert Child("x", ME, MY_TICKS).alive()
    assert not Child("x", ME, NOT_MY_TICKS).alive()
    assert Child("x", ME, NOT_MY_TICKS).foreign()
    assert not Child("x", ME, MY_TICKS).foreign()
    # Start time unknown (a record written without /proc): the command line decides.
    assert MY_PROGRAM and Child("x", ME, None, marker=MY_PROGRAM).alive()
    assert not Child("x", ME, None, marker="no-such-program").alive()
    assert Child("x", ME, None, marker="no-such-program").members() == []


def test_who_owns_a_child(tmp_path: Path) -> None:
    now = time.time()
    assert not Child("x", 1, started=0).orphaned(now=now), "detached: stopped only on request"
    assert not Child("x", 1, owner_pid=ME, owner_ticks=MY_TICKS, started=0).orphaned(now=now)
    assert Child("x", 1, owner_pid=ME, owner_ticks=NOT_MY_TICKS, started=0).orphaned(now=now)
    # Younger than the limit: left, whatever its owner.
    assert not Child("x", 1, owner_pid=ME, owner_ticks=NOT_MY_TICKS, started=now - 10).orphaned(60, now)
    # A run's directory touched within the limit: its run is still at work (a controller
    # tearing down what a worker started).
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.utime(run_dir, (now - 30, now - 30))
    of_run = Child("x", 1, owner_pid=ME, owner_ticks=NOT_MY_TICKS, owner_dir=str(run_dir), started=0)
    assert not of_run.orphaned(60, now)
    assert of_run.orphaned(20, now)
    run_dir.rmdir()
    assert of_run.orphaned(60, now)
    # Owned by a directory only: gone with it.
    assert Child("x", 1, owner_dir=str(run_dir), started=0).orphaned(now=now)


def test_forget_keeps_the_record_of_a_newer_process_with_the_same_pid() -> None:
    newer = Child("localaws", ME, MY_TICKS).save()
    Child("localaws", ME, NOT_MY_TICKS).forget()
    assert children.find("localaws", ME) == newer
    Child("localaws", ME, MY_TICKS).forget()
    assert children.find("localaws", ME) is None


def test_stopping_a_reused_pid_signals_nothing_and_removes_the_files(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    folder = tmp_path / "run"
    (folder / "deep").mkdir(parents=True)
    log.write_text("x")
    # This very process under the recorded pid: a signal would end the test run.
    stale = Child("provider", ME, NOT_MY_TICKS, files=(str(log), str(folder)), group=True).save()
    stale.stop(grace=0)
    assert not log.exists() and not folder.exists()
    assert children.find("provider", ME) is None


def test_the_sweep_clears_an_exited_child_once_its_owner_is_gone_too(tmp_path: Path) -> None:
    leftover = tmp_path / "left.log"
    leftover.write_text("x")
    exited = Child("provider", ME, NOT_MY_TICKS, owner_pid=ME, owner_ticks=NOT_MY_TICKS, files=(str(leftover),),
                   started=0).save()
    Child("localaws", ME, NOT_MY_TICKS, owner_pid=ME, owner_ticks=MY_TICKS, started=0).save()  # owner still here
    Child("localstack", ME, MY_TICKS, started=0).save()  # running and detached

    dry = children.stop_orphans(dry_run=True)
    assert (dry.stopped, [c.kind for c in dry.cleared]) == ([], ["provider"])
    assert leftover.exists() and children.find("provider", ME) == exited

    swept = children.stop_orphans()
    assert [c.kind for c in swept.cleared] == ["provider"] and swept.stopped == []
    assert not leftover.exists() and children.find("provider", ME) is None
    assert children.find("localaws", ME) is not None, "its owner reads its files and removes it"
    assert children.find("localstack", ME) is not None


def test_the_sweep_filters_by_run_and_keeps_what_the_caller_needs() -> None:
    for run in ("r1", "r2"):
        Child(f"k{run}", ME, NOT_MY_TICKS, owner_pid=ME, owner_ticks=NOT_MY_TICKS, run_id=run, started=0).save()
    assert [c.run_id for c in children.stop_orphans(run_id="r2", dry_run=True).cleared] == ["r2"]
    kept = children.stop_orphans(keep=lambda child: child.run_id == "r1")
    assert [c.run_id for c in kept.cleared] == ["r2"]
    assert [c.run_id for c in children.recorded()] == ["r1"]
