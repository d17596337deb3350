"""Recorded child processes: one type and one registry for every process the harness starts
and must stop (the local AWS, a served AWS provider, LocalStack).

A `Child` holds what is needed to stop a process safely, whoever asks and whenever:
- its pid and start time (clock ticks since boot, from /proc): together they name one
  process, so a pid the system has since given to another program is never signalled;
  where the start time is unknown, `marker` (a piece of its command line) stands in;
- what owns it: a process (`owner_pid`, with its own start time), a directory
  (`owner_dir`: the run it serves), both, or neither (detached: it outlives whoever
  started it and is stopped only on request);
- how to stop it: its signal, sent to the process or to its whole process group, `grace`
  seconds to exit, then SIGKILL; and the files or folders to remove once it is gone.

Its record is one JSON file in the registry, `<data dir>/children/<kind>-<pid>.json`,
written as soon as the process starts and removed once it is stopped. Whatever kills its
owner, the record stays, and `stop_orphans` (what `harness sweep` calls) stops the children
whose owner is gone, whatever their kind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness import paths
from harness.plumbing import procfs
from harness.plumbing.files import replace_text
from harness.plumbing.waiting import WaitTimeout, wait_until

REGISTRY = "children"
# After SIGKILL a process is gone within milliseconds, unless it is stuck in the kernel
# (uninterruptible I/O): waited for this long, then left (its record says what it was).
KILL_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.01
POLL_MAX_SECONDS = 0.1


def registry_dir() -> Path:
    return paths.data_dir() / REGISTRY


def pid_alive(pid: int, ticks: int | None = None) -> bool:
    """Running (a zombie is not), and, given `ticks`, the same process that started then (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if procfs.state(pid) in (None, "Z", "X"):
        return False
    return ticks is None or procfs.start_ticks(pid) == ticks


@dataclass(frozen=True)
class Child:
    """One process the harness started: who it is, what owns it, how to stop it."""

    kind: str  # "localaws", "provider", "localstack": the record's name and what callers filter on
    pid: int
    ticks: int | None = None  # procfs.start_ticks(pid) when it started
    what: str = ""  # how a message names it: "a served AWS provider"
    owner_pid: int | None = None
    owner_ticks: int | None = None
    owner_dir: str | None = None
    run_id: str | None = None
    started: float = field(default_factory=time.time)
    marker: str = ""  # in its command line: who it is when `ticks` is unknown
    stop_signal: int = signal.SIGTERM
    group: bool = False  # it leads its own process group, and the whole group is stopped
    grace: float = 5.0
    files: tuple[str, ...] = ()  # removed once it is gone (folders with what they hold)
    details: dict[str, Any] = field(default_factory=dict)  # what its kind needs: endpoint, reattach value...
    # The Popen of a process this one started: then its exit is reaped, and it is certainly
    # ours even before /proc shows its command line. Not recorded.
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, process: subprocess.Popen[bytes], kind: str, *, detached: bool = False, **values: Any) -> Child:
        """The record of a process this one just started, owned by this process unless `detached` (or told otherwise).

        Its start time is read at once: the pid cannot have been reused while we hold its Popen.
        """
        if not detached and "owner_pid" not in values:
            values = {"owner_pid": os.getpid(), "owner_ticks": procfs.start_ticks(os.getpid()), **values}
        return cls(kind, process.pid, procfs.start_ticks(process.pid), process=process, **values)

    # --- who it is ------------------------------------------------------------------------

    @property
    def record_path(self) -> Path:
        return registry_dir() / f"{self.kind}-{self.pid}.json"

    @property
    def detached(self) -> bool:
        return self.owner_pid is None and self.owner_dir is None

    def describe(self) -> str:
        return f"{self.what or self.kind}{f' of run {self.run_id}' if self.run_id else ''} (pid {self.pid})"

    def alive(self) -> bool:
        """It still runs (a zombie does not); never true of another process that reuses its pid."""
        if self.process is not None:
            return self.process.poll() is None
        if not pid_alive(self.pid, self.ticks):
            return False
        if self.ticks is None and self.marker:
            return self.marker.encode() in (procfs.cmdline(self.pid) or b"")
        return True

    def foreign(self) -> bool:
        """Its pid now names another program: neither that program nor its group is ours."""
        return procfs.state(self.pid) not in (None, "Z", "X") and not self.alive()

    def members(self) -> list[int]:
        """Its live processes: its whole group when it is stopped as a group (even after the leader exited)."""
        if self.group and not self.foreign():
            return procfs.group_members(self.pid)
        return [self.pid] if self.alive() else []

    def running(self) -> bool:
        """Anything of it still runs; its exit is reaped first when it is this process's child."""
        return not self.foreign() and self._left()

    def _left(self) -> bool:
        """Once known to be ours: anything of it still runs (reaped first).

        Not asked again whether the pid is ours: while a process exits, /proc shows it
        running without a command line, which the marker check would take for another program.
        """
        if self.process is not None:
            self.process.poll()
        else:
            self._reap()
        if self.group:
            return bool(procfs.group_members(self.pid))
        if self.process is not None:
            return self.process.returncode is None
        if pid_alive(self.pid, self.ticks):
            return True
        # It may have exited between the reap above and that look (a zombie is not alive):
        # reap it now, so that a child of this process is gone, not left a zombie.
        self._reap()
        return False

    def _reap(self) -> None:
        """Collect its exit if it is this process's child and has exited (never waits)."""
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        """Resident memory (VmRSS, of the whole group for a group), or the leader's high-water mark (VmHWM)."""
        pids = self.members() if self.group and field_name != "VmHWM" else [self.pid]
        return sum(procfs.status_kb(pid, field_name) or 0 for pid in pids) / 1024

    # --- who owns it ----------------------------------------------------------------------

    def owner_alive(self) -> bool:
        return self.owner_pid is not None and pid_alive(self.owner_pid, self.owner_ticks)

    def owner_gone(self, older_than: float = 0.0, now: float | None = None) -> bool:
        """Nobody owns it any more: its owner process exited, and its owner directory is gone or
        untouched for `older_than` seconds (a run's controller touches it while it tears down
        what a worker started). A detached child always has an owner: whoever asks."""
        if self.detached or self.owner_alive():
            return False
        if self.owner_dir is not None:
            try:
                touched = os.stat(self.owner_dir).st_mtime
            except OSError:
                return True
            return (now or time.time()) - touched >= older_than
        return True

    def orphaned(self, older_than: float = 0.0, now: float | None = None) -> bool:
        now = now or time.time()
        return now - self.started >= older_than and self.owner_gone(older_than, now)

    # --- stopping it ----------------------------------------------------------------------

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.group:
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)

    def stop(self, grace: float | None = None) -> None:
        """Its signal, SIGKILL after `grace` seconds (default: its own), then its files and record removed.

        Safe to repeat, on a process already gone, and on a pid another program now has (that
        one is never signalled; the files are removed all the same).
        """
        stop_all([self], grace)
        self.clear()

    def clear(self) -> None:
        """Remove what it left on disk: its files, then its record."""
        for name in self.files:
            path = Path(name)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        self.forget()

    def forget(self) -> None:
        """Remove its record, unless the record now describes a newer process under the same pid."""
        recorded_now = Child.load(self.record_path)
        if recorded_now and None not in (recorded_now.ticks, self.ticks) and recorded_now.ticks != self.ticks:
            return
        self.record_path.unlink(missing_ok=True)

    # --- its record -----------------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name != "process"}

    def save(self) -> Child:
        """Write (or replace) its record, whole: a reader never sees half of one."""
        replace_text(self.record_path, json.dumps(self.to_record()))
        return self

    @classmethod
    def load(cls, path: Path) -> Child | None:
        """The record at `path`; None if it is missing or not one of ours."""
        try:
            data = json.loads(path.read_text())
            known = {item.name for item in fields(cls)} - {"process"}
            values = {key: value for key, value in data.items() if key in known}
            values["files"] = tuple(str(name) for name in values.get("files", ()))
            child = cls(**values)
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        return child if isinstance(child.pid, int) and child.pid > 0 else None


def stop_all(children: Sequence[Child], grace: float | None = None) -> None:
    """Stop several at once: each its signal, one wait (`grace`, else the longest of theirs), SIGKILL what is left.

    Their files and records stay: `Child.stop` removes them.
    """
    running = [child for child in children if child.running()]
    if not running:
        return
    for child in running:
        child.signal(child.stop_signal)
    limit = grace if grace is not None else max(child.grace for child in running)
    if _gone_within(running, limit):
        return
    for child in running:
        if child._left():
            child.signal(signal.SIGKILL)
    _gone_within(running, KILL_WAIT_SECONDS)


def _gone_within(children: Sequence[Child], seconds: float) -> bool:
    names = ", ".join(child.describe() for child in children)
    try:
        wait_until(lambda: not any(child._left() for child in children), seconds, what=f"{names} to exit",
                   interval=POLL_SECONDS, backoff=1.5, max_interval=POLL_MAX_SECONDS)
    except WaitTimeout:
        return False
    return True


def terminate(pids: Sequence[int], grace: float) -> None:
    """Stop processes nobody recorded (SIGTERM, SIGKILL after `grace`); a pid reused meanwhile is spared."""
    stop_all([Child("process", pid, procfs.start_ticks(pid)) for pid in pids], grace)


# --- the registry ------------------------------------------------------------------------

def recorded(kind: str | None = None) -> list[Child]:
    """Every recorded child (of one kind), in the order of their record names."""
    folder = registry_dir()
    if not folder.is_dir():
        return []
    found = (Child.load(path) for path in sorted(folder.glob(f"{kind}-*.json" if kind else "*.json")))
    return [child for child in found if child is not None and (kind is None or child.kind == kind)]


def find(kind: str, pid: int) -> Child | None:
    return Child.load(registry_dir() / f"{kind}-{pid}.json")


@dataclass
class Swept:
    """What `stop_orphans` did (or, in a dry run, would do)."""

    stopped: list[Child] = field(default_factory=list)  # were running, their owner gone
    cleared: list[Child] = field(default_factory=list)  # had exited: their files and records removed


def stop_orphans(older_than: float = 0.0, *, kind: str | None = None, run_id: str | None = None,
                 include_detached: bool = False, keep: Callable[[Child], bool] | None = None,
                 dry_run: bool = False) -> Swept:
    """Stop the recorded children whose owner is gone, and clear those that exited; whatever their kind.

    Only children started at least `older_than` seconds ago are stopped; with `run_id` only
    that run's; detached ones only with `include_detached`; none the caller still needs
    (`keep`). One that exited is cleared once its owner is gone too (until then, its owner
    may still read its files).
    """
    now = time.time()
    swept = Swept()
    for child in recorded(kind):
        if (run_id is not None and child.run_id != run_id) or (keep is not None and keep(child)):
            continue
        if not child.running():
            if not child.owner_alive():
                swept.cleared.append(child)
                if not dry_run:
                    child.clear()
            continue
        if child.detached:
            if not include_detached or now - child.started < older_than:
                continue
        elif not child.orphaned(older_than, now):
            continue
        swept.stopped.append(child)
        if not dry_run:
            child.stop()
    return swept


def stop_for_run(run_id: str, kind: str | None = None, dry_run: bool = False) -> list[Child]:
    """Stop every child recorded for `run_id` (of one kind), together; return those that were running."""
    mine = [child for child in recorded(kind) if child.run_id == run_id]
    running = [child for child in mine if child.running()]
    if not dry_run:
        stop_all(running)
        for child in mine:
            child.clear()
    return running
