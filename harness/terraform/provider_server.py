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
- its record (harness/plumbing/children.py: its pid and start time, who started it, for
  which run, its socket and log), so a run's teardown can reuse it and `harness sweep`
  can stop one whose owner was killed with SIGKILL;
- stopping it (SIGTERM, SIGKILL after STOP_TIMEOUT_SECONDS), and the plugins Terraform
  started itself.

A served provider is configured by each command that attaches, so it must serve one
Terraform command at a time: it belongs to one run's stack (or one CLI command), whose
commands run in sequence. If it cannot be started, or dies, commands fall back to
Terraform's own per-command plugin start (a warning says so), which is only slower.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness import paths
from harness.plumbing import children
from harness.plumbing.children import Child
from harness.plumbing.children import pid_alive as pid_alive  # re-exported: the runner's tests ask it
from harness.plumbing.waiting import WaitTimeout, wait_until

log = logging.getLogger("harness.provider")

KIND = "provider"
# The name a runner's `on_command` callback gets for the served provider's start-up.
START_PHASE = "provider_start"
START_TIMEOUT_SECONDS = 30.0
# Provider 3.39 exits on SIGTERM at once, served or started by Terraform (measured); a
# plugin ignores SIGINT, which a terminal sends to its whole process group.
STOP_TIMEOUT_SECONDS = 5.0
REATTACH_ENV = "TF_REATTACH_PROVIDERS"
REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
# `terraform init` links the provider it installed (from the lock file) here.
INSTALLED_PATTERN = ".terraform/providers/*/hashicorp/aws/{version}/*/terraform-provider-aws*"


def logs_dir() -> Path:
    """Where served providers write their output (their records are in the children registry)."""
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


def terminate(pids: list[int]) -> None:
    """Stop provider plugins Terraform started itself: SIGTERM, SIGKILL after STOP_TIMEOUT_SECONDS."""
    children.terminate(pids, STOP_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class ProviderServer:
    """One served provider: its recorded process (harness/plumbing/children.py) and its reattach value."""

    child: Child

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def run_id(self) -> str | None:
        return self.child.run_id

    @property
    def address(self) -> str:
        return str(self.child.details["address"])

    @property
    def reattach(self) -> dict[str, Any]:
        return dict(self.child.details.get("reattach") or {})

    @property
    def stack_dir(self) -> str:
        return str(self.child.details["stack_dir"])

    @property
    def log_file(self) -> str:
        return str(self.child.details["log_file"])

    @property
    def record_path(self) -> Path:
        return self.child.record_path

    def reattach_env(self) -> dict[str, str]:
        # Keyed by the address the configuration resolves `hashicorp/aws` to (the lock
        # file's host), whatever address the provider build announces for itself.
        return {REATTACH_ENV: json.dumps({self.address: self.reattach})}

    @property
    def announced(self) -> bool:
        """It printed its reattach value (a record is written before, so no start is ever unrecorded)."""
        return bool(self.reattach)

    def alive(self) -> bool:
        return self.child.alive()

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and remove its record, socket and log; gone already is fine."""
        self.child.stop()

    def forget(self) -> None:
        """Remove what it leaves on disk: its socket, log and record (once it is gone)."""
        self.child.clear()

    def save(self) -> None:
        self.child.save()

    def announce(self, reattach: dict[str, Any]) -> ProviderServer:
        """Itself once it printed its reattach value: recorded with the socket that value names."""
        address = reattach.get("Addr")
        socket = [str(address.get("String"))] if isinstance(address, dict) and address.get("Network") == "unix" else []
        return ProviderServer(replace(self.child, details={**self.child.details, "reattach": reattach},
                                      files=(*self.child.files, *socket)))


def recorded() -> list[ProviderServer]:
    return [ProviderServer(child) for child in children.recorded(KIND)]


def for_run(run_id: str, stack_dir: Path) -> ProviderServer | None:
    """A live provider this run already serves for this stack directory, if any."""
    for server in recorded():
        if server.run_id == run_id and server.stack_dir == str(stack_dir) and server.announced and server.alive():
            return server
    return None


class _Exited(Exception):
    """The provider exited before it announced itself."""


def start(binary: Path, address: str, env: Mapping[str, str], stack_dir: Path,
          run_id: str | None = None) -> ProviderServer | None:
    """Serve the provider at `binary`; None (with a warning) if it does not announce itself.

    `env` is what Terraform would pass to the plugin (the target's credentials and region
    included): a reattached provider reads its credentials from its own environment.
    """
    logs_dir().mkdir(parents=True, exist_ok=True)
    log_file = logs_dir() / f"{os.getpid()}-{time.time_ns()}.log"
    with open(log_file, "ab") as output:
        process = subprocess.Popen(
            [str(binary), "-debug"], cwd=stack_dir, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=output, stderr=output, start_new_session=True,
        )
    # Recorded at once, before it announces itself: whatever stops us now, sweep finds it.
    server = ProviderServer(Child.of(
        process, KIND, what="a served AWS provider", run_id=run_id,
        owner_dir=str(paths.runs_dir() / run_id) if run_id else None, grace=STOP_TIMEOUT_SECONDS,
        files=(str(log_file),), details={"address": address, "stack_dir": str(stack_dir), "log_file": str(log_file)},
    ))

    def announced() -> dict[str, Any] | None:
        match = REATTACH_LINE.search(log_file.read_text(errors="replace"))
        if match:
            return dict(next(iter(json.loads(match.group(1)).values())))
        if process.poll() is not None:
            raise _Exited()
        return None

    try:
        server.save()
        server = server.announce(wait_until(announced, START_TIMEOUT_SECONDS, what="the provider's reattach value",
                                            interval=0.01))
        server.save()
        return server
    except (WaitTimeout, _Exited):
        _discard(server, keep_log=True)
    except BaseException:
        _discard(server, keep_log=False)
        raise
    log.warning("the provider at %s did not start in debug mode (see %s); Terraform will start it per command",
                binary, log_file)
    return None


def _discard(server: ProviderServer, keep_log: bool) -> None:
    """A provider that never announced itself: killed, reaped and its record removed."""
    process = server.child.process
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
    if keep_log:
        server.child.forget()
    else:
        server.child.clear()


def stop_for_run(run_id: str) -> list[int]:
    """Stop every provider served for `run_id` (its teardown); return the pids that were running."""
    return [child.pid for child in children.stop_for_run(run_id, kind=KIND)]
