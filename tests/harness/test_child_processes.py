"""Recorded child processes (harness/plumbing/children.py) on real processes: the stop
escalates to SIGKILL, a group is stopped whole, and the sweep stops the children whose
owner is gone whatever their kind, and no other. Stand-ins are Python sleepers that say
on stdout when they are ready (no sleeps in the tests)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.plumbing import children, procfs
from harness.plumbing.children import Child

STUBBORN = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)")
WITH_GRANDCHILD = ("import subprocess, sys, time; "
                   "g = subprocess.Popen([sys.executable, '-c', 'import time; print(1, flush=True); time.sleep(120)'], "
                   "stdout=subprocess.PIPE); g.stdout.readline(); print(g.pid, flush=True); time.sleep(120)")
SLEEPER = "import time; print('ready', flush=True); time.sleep(120)"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a stand-in and return once it printed its first line (kept as `ready_line`)."""
    started: list[subprocess.Popen[bytes]] = []

    def run(source: str, **options: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, **options)
        started.append(process)
        assert process.stdout is not None
        process.ready_line = process.stdout.readline()  # type: ignore[attr-defined]
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _dead_owner() -> int:
    owner = subprocess.Popen([sys.executable, "-c", "pass"])
    owner.wait()
    return owner.pid


def test_a_child_that_ignores_its_signal_is_killed_after_its_grace(spawn, tmp_path: Path) -> None:
    process = spawn(STUBBORN)
    log = tmp_path / "stubborn.log"
    log.write_text("x")
    child = Child.of(process, "stubborn", grace=0.3, files=(str(log),)).save()
    child.stop()
    assert process.returncode == -9  # SIGTERM was ignored; SIGKILL ended it
    assert not log.exists() and children.find("stubborn", process.pid) is None
    child.stop()  # again: nothing left to do, no error


def test_a_group_is_stopped_whole_even_after_its_leader_died(spawn) -> None:
    leader = spawn(WITH_GRANDCHILD, start_new_session=True)
    grandchild = int(leader.ready_line)  # type: ignore[attr-defined]
    child = Child.of(leader, "group", group=True)
    assert sorted(child.members()) == sorted([leader.pid, grandchild])
    leader.kill()
    leader.wait()
    assert child.members() == [grandchild] and child.running()
    child.stop()
    assert child.members() == [] and procfs.state(grandchild) in (None, "Z")


def test_the_sweep_stops_orphans_of_every_kind_and_spares_the_rest(spawn) -> None:
    dead = _dead_owner()
    orphans = [Child.of(spawn(SLEEPER), kind, owner_pid=dead, started=0).save() for kind in ("provider", "localaws")]
    mine = Child.of(spawn(SLEEPER), "localaws", started=0).save()  # owned by this process, which runs
    detached = Child.of(spawn(SLEEPER, start_new_session=True), "localstack", detached=True, group=True,
                        started=0).save()
    fresh = Child.of(spawn(SLEEPER), "provider", owner_pid=dead).save()  # started just now

    dry = children.stop_orphans(older_than=60, dry_run=True)
    assert sorted(c.pid for c in dry.stopped) == sorted(c.pid for c in orphans)
    assert all(c.alive() for c in orphans)

    swept = children.stop_orphans(older_than=60)
    assert sorted(c.pid for c in swept.stopped) == sorted(c.pid for c in orphans)
    assert not any(c.alive() for c in orphans)
    assert {c.pid for c in children.recorded()} == {mine.pid, detached.pid, fresh.pid}
    assert mine.alive() and detached.alive() and fresh.alive()

    assert [c.pid for c in children.stop_orphans(older_than=60, include_detached=True).stopped] == [detached.pid]
    assert not detached.alive() and detached.members() == []


def test_stop_for_run_stops_every_kind_of_that_run_together(spawn) -> None:
    ours = [Child.of(spawn(SLEEPER), kind, run_id="r1").save() for kind in ("provider", "localaws")]
    other = Child.of(spawn(SLEEPER), "provider", run_id="r2").save()
    assert sorted(c.pid for c in children.stop_for_run("r1", dry_run=True)) == sorted(c.pid for c in ours)
    assert all(c.alive() for c in ours)
    assert sorted(c.pid for c in children.stop_for_run("r1")) == sorted(c.pid for c in ours)
    assert not any(c.alive() for c in ours) and other.alive()
    assert [c.run_id for c in children.recorded()] == ["r2"]


def test_terminate_stops_unrecorded_processes(spawn) -> None:
    stubborn, plain = spawn(STUBBORN), spawn(SLEEPER)
    children.terminate([stubborn.pid, plain.pid], grace=0.3)
    # Both gone and reaped (the one that ignores SIGTERM only by SIGKILL).
    assert procfs.state(stubborn.pid) is None and procfs.state(plain.pid) is None
