"""The AWS provider served once and reattached to by every Terraform command that uses it.

Why: Terraform starts the provider plugin afresh for each phase of a command (schema
loading, validate, plan, apply), and once more for `workspace` and `output`. Provider
3.39 is a 177 MB Go binary that takes ~0.25 s to start and load its schema, so an
`apply` spends about 1 s of its ~1.8 s starting plugins (measured from `TF_LOG=trace`
timestamps against the local AWS). Terraform can instead attach to a provider that is
already running ("unmanaged" or "reattached" providers): the provider is started with
`-debug` (terraform-plugin-sdk v2's `plugin.Debug`; provider 3.x builds support it),
prints a `TF_REATTACH_PROVIDERS` value, and serves until it is stopped.

What this module owns:
- finding the provider binary `terraform init` installed for a stack (it must match
  the lock file; `init` itself never reattaches, so the lock is still written and
  verified as usual);
- starting it with the environment Terraform would have given the plugin (the target's
  credentials and region), in its own session, so that a terminal Ctrl-C meant for the
  run reaches only the harness, which lets a destroy finish before stopping the provider;
- a record per served provider under `.harness/providers/` (its pid, who started it,
  for which run), so a run's teardown can reuse it and `harness sweep` can stop one
  whose owner was killed with SIGKILL;
- stopping it.

A served provider is configured by each command that attaches, so it must serve one
Terraform command at a time: it belongs to one run's stack (or one CLI command), whose
commands run in sequence. If it cannot be started, or dies, commands fall back to
Terraform's own per-command plugin start (a warning says so), which is only slower.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness import paths
from harness.plumbing import procfs

log = logging.getLogger("harness.provider")

# The name a runner's `on_command` callback gets for the served provider's start-up.
START_PHASE = "provider_start"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
REATTACH_ENV = "TF_REATTACH_PROVIDERS"
REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
# `terraform init` links the provider it installed (from the lock file) here.
INSTALLED_PATTERN = ".terraform/providers/*/hashicorp/aws/{version}/*/terraform-provider-aws*"


def records_dir() -> Path:
    return paths.data_dir() / "providers"


def installed_binary(stack_dir: Path, version: str | None) -> tuple[str, Path] | None:
    """(source address, binary) of the hashicorp/aws provider `init` installed for the stack."""
    if not version:
        return None
    for candidate in sorted(stack_dir.glob(INSTALLED_PATTERN.format(version=version))):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            # .terraform/providers/<host>/hashicorp/aws/<version>/<os_arch>/<binary>
            host = candidate.parents[4].name
            return f"{host}/hashicorp/aws", candidate
    return None


def pid_alive(pid: int, ticks: int | None = None) -> bool:
    """Running (a zombie is not), and, given `ticks`, the same process that started then (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if procfs.state(pid) in (None, "Z"):
        return False
    return ticks is None or procfs.start_ticks(pid) == ticks


def terminate(pids: list[int]) -> None:
    """SIGTERM each, then SIGKILL those still running after STOP_TIMEOUT_SECONDS; ours are reaped.

    Provider 3.39 exits on SIGTERM at once, served or started by Terraform (measured); a
    plugin ignores SIGINT, which a terminal sends to its whole process group.
    """
    started = {pid: procfs.start_ticks(pid) for pid in pids}  # a pid reused meanwhile is not signalled
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if not any(pid_alive(pid, started[pid]) for pid in pids):
            return
        time.sleep(0.02)
    for pid in pids:
        if pid_alive(pid, started[pid]):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class ProviderServer:
    """One served provider: its pid, source address, reattach value and who owns it."""

    pid: int
    address: str
    reattach: dict[str, object]
    owner_pid: int
    run_id: str | None
    stack_dir: str
    started: float
    log_file: str
    ticks: int | None = None  # procfs.start_ticks(pid): a recorded pid another process reuses is not this one

    @property
    def record_path(self) -> Path:
        return records_dir() / f"{self.pid}.json"

    def reattach_env(self) -> dict[str, str]:
        # Keyed by the address the configuration resolves `hashicorp/aws` to (the lock
        # file's host), whatever address the provider build announces for itself.
        return {REATTACH_ENV: json.dumps({self.address: self.reattach})}

    @property
    def announced(self) -> bool:
        """It printed its reattach value (a record is written before, so no start is ever unrecorded)."""
        return bool(self.reattach)

    def alive(self) -> bool:
        return pid_alive(self.pid, self.ticks)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and remove its record and socket; gone already is fine."""
        if self.alive():  # never a signal to a process that merely reuses the pid
            terminate([self.pid])
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)
        self.forget()

    def forget(self) -> None:
        """Remove what it leaves on disk: its socket, record and log (once it is gone)."""
        address = self.reattach.get("Addr")
        if isinstance(address, dict) and address.get("Network") == "unix":
            Path(str(address.get("String"))).unlink(missing_ok=True)
        self.record_path.unlink(missing_ok=True)
        Path(self.log_file).unlink(missing_ok=True)

    def save(self) -> None:
        records_dir().mkdir(parents=True, exist_ok=True)
        temporary = self.record_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self)))
        temporary.replace(self.record_path)

    @classmethod
    def load(cls, path: Path) -> ProviderServer | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def recorded() -> list[ProviderServer]:
    if not records_dir().is_dir():
        return []
    return [server for path in sorted(records_dir().glob("*.json")) if (server := ProviderServer.load(path))]


def for_run(run_id: str, stack_dir: Path) -> ProviderServer | None:
    """A live provider this run already serves for this stack directory, if any."""
    for server in recorded():
        if server.run_id == run_id and server.stack_dir == str(stack_dir) and server.announced and server.alive():
            return server
    return None


def start(binary: Path, address: str, env: Mapping[str, str], stack_dir: Path,
          run_id: str | None = None) -> ProviderServer | None:
    """Serve the provider at `binary`; None (with a warning) if it does not announce itself.

    `env` is what Terraform would pass to the plugin (the target's credentials and region
    included): a reattached provider reads its credentials from its own environment.
    """
    records_dir().mkdir(parents=True, exist_ok=True)
    log_file = records_dir() / f"{os.getpid()}-{time.time_ns()}.log"
    with open(log_file, "ab") as output:
        child = subprocess.Popen(
            [str(binary), "-debug"], cwd=stack_dir, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=output, stderr=output, start_new_session=True,
        )
    # Recorded at once, before it announces itself: whatever stops us now, sweep finds it.
    server = ProviderServer(child.pid, address, {}, os.getpid(), run_id, str(stack_dir), time.time(),
                            str(log_file), procfs.start_ticks(child.pid))
    try:
        server.save()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            match = REATTACH_LINE.search(log_file.read_text(errors="replace"))
            if match:
                server = replace(server, reattach=next(iter(json.loads(match.group(1)).values())))
                server.save()
                return server
            if child.poll() is not None:
                break
            time.sleep(0.01)
    except BaseException:
        _discard(child, server, keep_log=False)
        raise
    _discard(child, server, keep_log=True)
    log.warning("the provider at %s did not start in debug mode (see %s); Terraform will start it per command",
                binary, log_file)
    return None


def _discard(child: subprocess.Popen[bytes], server: ProviderServer, keep_log: bool) -> None:
    """A provider that never announced itself: stopped, reaped and its record removed."""
    if child.poll() is None:
        child.kill()
    child.wait()
    server.record_path.unlink(missing_ok=True)
    if not keep_log:
        Path(server.log_file).unlink(missing_ok=True)


def stop_orphans(older_than: float = 0.0, run_id: str | None = None, dry_run: bool = False) -> list[int]:
    """Stop served providers whose owner is gone; with `run_id`, only that run's.

    Owner gone: the process that started it died, and its run directory is gone or
    untouched for `older_than` (a provider a run's deploying worker started outlives that
    worker: the controller reuses it for the teardown, which touches the directory).
    """
    stopped: list[int] = []
    for server in recorded():
        if not server.alive():  # whichever run it served: nothing but files left to remove
            if not dry_run:
                server.forget()
            continue
        if run_id is not None and server.run_id != run_id:
            continue
        run_dir = paths.runs_dir() / server.run_id if server.run_id else None
        run_dir_fresh = run_dir is not None and run_dir.is_dir() and time.time() - run_dir.stat().st_mtime < older_than
        if pid_alive(server.owner_pid) or run_dir_fresh or time.time() - server.started < older_than:
            continue
        if not dry_run:
            server.stop()
        stopped.append(server.pid)
    return stopped


def stop_for_run(run_id: str) -> list[int]:
    """Stop every provider served for `run_id` (its teardown, or sweep removing its run directory)."""
    stopped = []
    for server in recorded():
        if server.run_id == run_id:
            server.stop()
            stopped.append(server.pid)
    return stopped
