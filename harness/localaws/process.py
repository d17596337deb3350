"""The local AWS as a child process: started for a run or a named workspace, then stopped.

A child process (not a thread) keeps the server's work off the test process's GIL, lets
pytest-xdist workers share one server, and lets a benchmark measure its memory. Each is
recorded in the children registry (harness/plumbing/children.py) as it starts, so
`harness sweep` stops one whose owner was killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests

from harness import paths
from harness.errors import LocalAwsError
from harness.plumbing import children, procfs
from harness.plumbing.children import Child
from harness.plumbing.files import replace_text
from harness.plumbing.waiting import WaitTimeout, wait_until

KIND = "localaws"
MARKER = "harness.localaws"  # in its command line: who it is when its start time is unknown
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0  # after SIGTERM; then SIGKILL
# glibc malloc tuning for the child (the caller's own MALLOC_* settings win).
# - One arena per request thread leaves each thread's freed body buffers cached in its
#   own arena; two arenas keep resident memory close to live data.
# - glibc serves blocks of 128 KiB and more with mmap, which returns them to the OS when
#   freed, but raises that threshold to the size of each such block freed (up to 32 MiB):
#   after the first 9.5 MiB body, bodies come from the heap and freed ones stay resident.
#   Fixing the threshold at glibc's own initial value keeps it there. Measured (4 x 9.5
#   MiB window after the bench's throughput phase, two runs each): resident before the
#   window 121/157 MB dynamic, 120/119 MB fixed; peak 164-177 MB dynamic, 163-164 MB
#   fixed; the 9.5 MiB upload time did not change measurably (32-41 ms vs 35-40 ms).
MALLOC_DEFAULTS = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


@dataclass(frozen=True)
class LocalAwsProcess:
    """A running `harness localaws` child: its endpoint, pid and start time."""

    endpoint: str
    pid: int
    ticks: int | None = None  # procfs.start_ticks(pid): a pid another program reuses is not this one

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def child(self) -> Child:
        """Its record in the children registry, or (when it has none) one that knows how to stop it."""
        recorded = children.find(KIND, self.pid)
        if recorded is not None and (None in (recorded.ticks, self.ticks) or recorded.ticks == self.ticks):
            return recorded
        return Child(KIND, self.pid, self.ticks, what="a local AWS", marker=MARKER, grace=STOP_TIMEOUT_SECONDS)

    def alive(self) -> bool:
        """Its process runs and, once it reported its endpoint, answers there."""
        if not self.child().alive():
            return False
        if not self.endpoint:  # recorded at launch, before it reported its port
            return True
        try:
            requests.get(f"{self.endpoint}/moto-api/", timeout=2)
        except requests.RequestException:
            return False
        return True

    def faults(self) -> dict[str, Any]:
        """What this local AWS injected so far (`GET /_harness/faults`)."""
        return requests.get(f"{self.endpoint}/_harness/faults", timeout=10).json()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, SIGKILL after `timeout`; its record is removed. Gone already, or a reused pid, is fine."""
        self.child().stop(timeout)

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory (VmRSS) or its high-water mark (VmHWM), from /proc."""
        return (procfs.status_kb(self.pid, field) or 0) / 1024

    def save(self, path: Path) -> None:
        """Write where it answers to `path` (a run's or the named workspaces' pointer to it)."""
        replace_text(path, json.dumps({"endpoint": self.endpoint, "pid": self.pid, "ticks": self.ticks}))

    @classmethod
    def load(cls, path: Path) -> LocalAwsProcess | None:
        try:
            data = json.loads(path.read_text())
            ticks = data.get("ticks")
            return cls(data["endpoint"], int(data["pid"]), int(ticks) if ticks is not None else None)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def start(
    host: str = "127.0.0.1", port: int = 0, log_file: Path | None = None, detach: bool = False,
    profile: str | None = None, faults: str | None = None, run_id: str | None = None,
) -> LocalAwsProcess:
    """Start `python -m harness.localaws` and wait until it answers (`launch(...).wait()`)."""
    return launch(host, port, log_file, detach, profile, faults, run_id).wait()


@dataclass
class PendingLocalAws:
    """A local AWS that was launched and is importing; `wait()` for its endpoint."""

    child: subprocess.Popen[bytes]
    ready_file: Path
    log_file: Path | None
    record: Child

    def wait(self) -> LocalAwsProcess:
        try:
            return self._wait()
        except BaseException:
            self.abandon()
            raise

    def _wait(self) -> LocalAwsProcess:
        def reported() -> str | None:
            if self.ready_file.exists():  # written whole (os.replace) once it listens
                return self.ready_file.read_text().split()[0]
            if self.child.poll() is not None:
                detail = self.log_file.read_text()[-2000:] if self.log_file and self.log_file.exists() else ""
                raise LocalAwsError(
                    f"the local AWS exited with code {self.child.returncode} before it was ready\n{detail}",
                    "see the message above; a busy port can be avoided with --port 0",
                )
            return None

        try:
            endpoint = wait_until(reported, START_TIMEOUT_SECONDS, what="the local AWS to report its endpoint",
                                  interval=0.01)
        except WaitTimeout as exc:
            raise LocalAwsError(
                f"the local AWS did not become ready within {START_TIMEOUT_SECONDS:.0f}s",
                f"look at {self.log_file}" if self.log_file else "run `harness localaws` to see why",
            ) from exc
        self.ready_file.unlink(missing_ok=True)
        self.record = replace(self.record, details={**self.record.details, "endpoint": endpoint}).save()
        return LocalAwsProcess(endpoint, self.child.pid, self.record.ticks)

    def abandon(self) -> None:
        """Stop it before it was waited for (the caller failed meanwhile)."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self.ready_file.unlink(missing_ok=True)
        self.record.forget()


def launch(
    host: str = "127.0.0.1", port: int = 0, log_file: Path | None = None, detach: bool = False,
    profile: str | None = None, faults: str | None = None, run_id: str | None = None,
) -> PendingLocalAws:
    """Launch `python -m harness.localaws`; it takes ~0.5 s to import, which the caller may use.

    `detach` puts it in its own session so it outlives this process (named workspaces)
    and is not hit by the terminal's Ctrl-C meant for the test run. `profile` and
    `faults` are the local AWS's `--profile` / `--faults` specs (harness/localaws/faults.py);
    None leaves them to the child's environment (`HARNESS_LOCALAWS_PROFILE`,
    `HARNESS_LOCALAWS_FAULTS`).

    Who owns it (what `harness sweep` asks before stopping it): with `run_id`, that run (its
    directory) and this process; else this process, unless `detach`ed: then nobody, and it
    runs until stopped (the named workspaces' local AWS, `harness down` stops it).
    """
    extra: list[str] = []
    for flag, value in (("--profile", profile), ("--faults", faults)):
        if value is not None:
            extra += [flag, value]
    ready_file = Path(
        (log_file.parent if log_file else Path("/tmp")) / f".localaws-ready-{os.getpid()}-{time.time_ns()}"
    )
    ready_file.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "harness.localaws", "--host", host, "--port", str(port),
             "--ready-file", str(ready_file), *extra],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=detach,
            env={**MALLOC_DEFAULTS, **os.environ},
        )
    finally:
        if not isinstance(log, int):  # a file exactly when log_file is set
            log.close()
    record = Child.of(child, KIND, detached=detach and run_id is None, what="a local AWS", run_id=run_id,
                      owner_dir=str(paths.runs_dir() / run_id) if run_id else None, marker=MARKER,
                      grace=STOP_TIMEOUT_SECONDS, details={"endpoint": ""})
    try:
        record.save()
    except BaseException:  # an unrecorded child would outlive every sweep
        child.kill()
        child.wait()
        raise
    return PendingLocalAws(child, ready_file, log_file, record)
