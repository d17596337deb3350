"""The local AWS as a child process: started for a run or a named workspace, then stopped.

A child process (not a thread) keeps the server's work off the test process's GIL, lets
pytest-xdist workers share one server, and lets a benchmark measure its memory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from harness.errors import LocalAwsError
from harness.plumbing import procfs

START_TIMEOUT_SECONDS = 30.0
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
    """A running `harness localaws` child: its endpoint and pid."""

    endpoint: str
    pid: int

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        if not self.endpoint:  # recorded at launch, before it reported its port: known by its command line
            try:
                command = Path(f"/proc/{self.pid}/cmdline").read_bytes()
                return b"harness.localaws" in command and procfs.state(self.pid) != "Z"
            except OSError:
                return False
        try:
            requests.get(f"{self.endpoint}/moto-api/", timeout=2)
        except requests.RequestException:
            return False
        return True

    def faults(self) -> dict[str, Any]:
        """What this local AWS injected so far (`GET /_harness/faults`)."""
        return requests.get(f"{self.endpoint}/_harness/faults", timeout=10).json()

    def stop(self, timeout: float = 10.0) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not our child: poll its existence instead
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    return
                # Exited but not yet reaped by its new parent (init, which may reap late): a
                # zombie holds no port, memory or file, so it has stopped.
                if procfs.state(self.pid) == "Z":
                    return
                finished = 0
            if finished:
                return
            time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory (VmRSS) or its high-water mark (VmHWM), from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"endpoint": self.endpoint, "pid": self.pid}))

    @classmethod
    def load(cls, path: Path) -> LocalAwsProcess | None:
        try:
            data = json.loads(path.read_text())
            return cls(data["endpoint"], int(data["pid"]))
        except (OSError, ValueError, KeyError):
            return None


def start(
    host: str = "127.0.0.1", port: int = 0, log_file: Path | None = None, detach: bool = False,
    profile: str | None = None, faults: str | None = None,
) -> LocalAwsProcess:
    """Start `python -m harness.localaws` and wait until it answers (`launch(...).wait()`)."""
    return launch(host, port, log_file, detach, profile, faults).wait()


@dataclass
class PendingLocalAws:
    """A local AWS that was launched and is importing; `wait()` for its endpoint."""

    child: subprocess.Popen[bytes]
    ready_file: Path
    log_file: Path | None

    def wait(self) -> LocalAwsProcess:
        try:
            return self._wait()
        except BaseException:
            self.abandon()
            raise

    def _wait(self) -> LocalAwsProcess:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.ready_file.exists():
                endpoint = self.ready_file.read_text().split()[0]
                self.ready_file.unlink(missing_ok=True)
                return LocalAwsProcess(endpoint, self.child.pid)
            if self.child.poll() is not None:
                detail = self.log_file.read_text()[-2000:] if self.log_file and self.log_file.exists() else ""
                raise LocalAwsError(
                    f"the local AWS exited with code {self.child.returncode} before it was ready\n{detail}",
                    "see the message above; a busy port can be avoided with --port 0",
                )
            time.sleep(0.01)
        raise LocalAwsError(
            f"the local AWS did not become ready within {START_TIMEOUT_SECONDS:.0f}s",
            f"look at {self.log_file}" if self.log_file else "run `harness localaws` to see why",
        )

    def abandon(self) -> None:
        """Stop it before it was waited for (the caller failed meanwhile)."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self.ready_file.unlink(missing_ok=True)


def launch(
    host: str = "127.0.0.1", port: int = 0, log_file: Path | None = None, detach: bool = False,
    profile: str | None = None, faults: str | None = None,
) -> PendingLocalAws:
    """Launch `python -m harness.localaws`; it takes ~0.5 s to import, which the caller may use.

    `detach` puts it in its own session so it outlives this process (named workspaces)
    and is not hit by the terminal's Ctrl-C meant for the test run. `profile` and
    `faults` are the local AWS's `--profile` / `--faults` specs (harness/localaws/faults.py);
    None leaves them to the child's environment (`HARNESS_LOCALAWS_PROFILE`,
    `HARNESS_LOCALAWS_FAULTS`).
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
    return PendingLocalAws(child, ready_file, log_file)
