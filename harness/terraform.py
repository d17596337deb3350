"""Runs Terraform commands for one stack directory: the only place that builds argv.

Built on python-terraform's argv builder (`Terraform.generate_cmd_string`), with the
process handled here, because python-terraform's own runner:
- sends `-force` from `destroy()`, which Terraform >= 0.15 rejects (we send
  `-auto-approve`);
- always copies os.environ and cannot add variables per call (we pass the toolchain's
  and the target's environment, and `TF_WORKSPACE`, per process);
- turns `synchronous=False` into a `-synchronous=false` flag, and cannot stop Terraform
  gracefully on Ctrl-C (we forward SIGINT and wait for Terraform to write its state).

Parallel safety: workspaces are selected with `TF_WORKSPACE` per process, never through
the shared `.terraform/environment` file; `init` runs once per stack under a file lock;
state is per workspace (`terraform.tfstate.d/<name>/` or the backend's key).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock
from python_terraform import IsFlagged, Terraform

from harness import provider_server, timings
from harness.errors import StateCorruptError, StateLockedError, TerraformError
from harness.provider_server import ProviderServer
from harness.toolchain import Toolchain

log = logging.getLogger("harness.terraform")

GRACEFUL_STOP_SECONDS = 120.0
# After Terraform exits, its output pipes close; a child that inherited them must not hold us.
READER_JOIN_SECONDS = 5.0
# No Terraform command may run longer than the run's command timeout (RunOptions,
# HARNESS_COMMAND_TIMEOUT at the edges, default 900 s): a provider stuck retrying (e.g. a
# bucket it cannot list) must not hang a teardown forever.
DEFAULT_COMMAND_TIMEOUT_SECONDS = 900.0
CORRUPT_STATE_PATTERN = re.compile(r"Unsupported state file format|state snapshot.*(invalid|corrupt)|"
                                   r"Failed to load state", re.I)
LOCK_PATTERN = re.compile(r"Error acquiring the state lock|state (is )?locked", re.I)
# Bounded retries for errors that are known to pass (eventual consistency on AWS).
RETRYABLE_ERRORS: dict[str, str] = {
    r"RequestError: send request failed": "transient network error",
    r"ThrottlingException|Rate exceeded|TooManyRequestsException": "API throttling",
    r"ConflictException: Unable to complete operation due to concurrent modification":
        "API Gateway concurrent modification",
    r"The role defined for the function cannot be assumed|InvalidParameterValueException.*role":
        "IAM propagation delay",
}
MAX_RETRIES = 2
RETRY_SLEEP_SECONDS = 3.0

# Terraform processes running now, in any thread: a run that deploys in a background
# thread stops its apply through `interrupt_running` when the session is interrupted
# (a terminal Ctrl-C reaches only the main thread, and Terraform has its own session).
_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()
# Those already sent their one SIGINT (by `interrupt_running` or a graceful stop).
_interrupted: set[subprocess.Popen[str]] = set()


def _interrupt_once(process: subprocess.Popen[str]) -> bool:
    """SIGINT `process` unless it was already sent one: a second makes Terraform exit without saving."""
    with _running_lock:
        if process in _interrupted or process.poll() is not None:
            return False
        _interrupted.add(process)
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    return True


def interrupt_running() -> int:
    """Send one SIGINT to each running Terraform process (it stops and writes its state); how many."""
    with _running_lock:
        processes = list(_running)
    return sum(_interrupt_once(process) for process in processes)


def any_running() -> bool:
    """A Terraform process this harness started is still running (e.g. still stopping after Ctrl-C)."""
    with _running_lock:
        return any(process.poll() is None for process in _running)


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    interrupted: bool = False  # it was sent a SIGINT: never retried


class TerraformRunner:
    """One stack directory, one toolchain, one environment; optionally one workspace."""

    def __init__(
        self,
        toolchain: Toolchain,
        stack_dir: Path,
        env: Mapping[str, str] | None = None,
        workspace: str | None = None,
        on_command: Any = None,
        lock_timeout: str | None = None,
        backend_url: str | None = None,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT_SECONDS,
        provider: ProviderServer | None = None,
    ) -> None:
        self.toolchain = toolchain
        # A served provider every command but `init` reattaches to (harness/provider_server.py).
        self.provider = provider
        self.command_timeout = command_timeout
        self.lock_timeout = lock_timeout  # e.g. "60s": wait for another run's lock instead of failing
        self.backend_url = backend_url  # None: local state
        # 2 while tearing down: the first Ctrl-C lets the destroy finish, the second stops it.
        self.interrupts_to_stop = 1
        self.stack_dir = Path(stack_dir)
        self.extra_env = dict(env or {})
        self.workspace = workspace
        self.on_command = on_command  # callback(name, seconds) for progress and timings
        self._argv_builder = Terraform(
            working_dir=str(self.stack_dir), terraform_bin_path=toolchain.binary.path
        )

    def for_workspace(self, workspace: str | None) -> TerraformRunner:
        return TerraformRunner(
            self.toolchain, self.stack_dir, self.extra_env, workspace, self.on_command,
            self.lock_timeout, self.backend_url, self.command_timeout, self.provider,
        )

    # --- process ------------------------------------------------------------------

    def plugin_env(self) -> dict[str, str]:
        """What a provider plugin started by this runner's Terraform would inherit."""
        env = {**os.environ, **self.toolchain.env(), **self.extra_env}
        for name in ("TF_WORKSPACE", provider_server.REATTACH_ENV):
            env.pop(name, None)
        return env

    def serve_provider(self, run_id: str | None = None) -> ProviderServer | None:
        """Serve the stack's provider for this runner's commands: the run's live one, or a new one."""
        existing = provider_server.for_run(run_id, self.stack_dir) if run_id else None
        if existing is None:
            found = provider_server.installed_binary(self.stack_dir, self.provider_version())
            if found is None:
                log.warning("no installed hashicorp/aws provider in %s; Terraform will start it per command",
                            self.stack_dir)
                return None
            started = time.monotonic()
            existing = provider_server.start(found[1], found[0], self.plugin_env(), self.stack_dir, run_id)
            if existing is not None and self.on_command:
                self.on_command(provider_server.START_PHASE, time.monotonic() - started, None)
        self.provider = existing
        return existing

    def _env(self, with_workspace: bool | str, command: str = "") -> dict[str, str]:
        env = {**os.environ, **self.toolchain.env(), **self.extra_env}
        # `init` installs and locks the provider, so it never reattaches; a served provider
        # that died is dropped, and Terraform starts the plugin itself as usual.
        if command == "init":
            env.pop(provider_server.REATTACH_ENV, None)  # init installs and locks: never an unmanaged provider
        elif self.provider is not None:
            if self.provider.alive():
                env.update(self.provider.reattach_env())
            else:
                log.warning("the served provider (pid %d) is gone; Terraform will start it per command",
                            self.provider.pid)
                self.provider = None
        # Every process names its workspace; the shared .terraform/environment is never read.
        if isinstance(with_workspace, str):
            env["TF_WORKSPACE"] = with_workspace
        elif with_workspace and self.workspace:
            env["TF_WORKSPACE"] = self.workspace
        else:
            env["TF_WORKSPACE"] = "default"
        return env

    def run(
        self,
        command: str,
        *args: str,
        with_workspace: bool | str = True,
        accept: tuple[int, ...] = (0,),
        **options: Any,
    ) -> CommandResult:
        """Run `terraform <command>`; raise TerraformError unless the exit code is accepted."""
        options.setdefault("no_color", IsFlagged)
        argv = self._argv_builder.generate_cmd_string(command, *args, **options)
        attempt = 0
        while True:
            result = self._run_once(argv, with_workspace)
            if result.returncode in accept or result.interrupted:
                if result.returncode in accept:
                    return result
                raise self._error(command, result)
            if self.provider is not None and not self.provider.alive():
                # The served provider died under this command: run it again with Terraform's own start.
                log.warning("the served provider (pid %d) died during `terraform %s`; running it again with "
                            "Terraform's own provider start. Its error was: %s", self.provider.pid, command,
                            result.stderr.strip()[-500:])
                self.provider = None
                continue
            reason = self._retryable(result.stderr)
            if reason and attempt < MAX_RETRIES:
                attempt += 1
                log.warning("retrying `terraform %s` (%s), attempt %d", command, reason, attempt)
                time.sleep(RETRY_SLEEP_SECONDS * attempt)
                continue
            raise self._error(command, result)

    @staticmethod
    def _retryable(stderr: str) -> str | None:
        for pattern, reason in RETRYABLE_ERRORS.items():
            if re.search(pattern, stderr):
                return reason
        return None

    def _error(self, command: str, result: CommandResult) -> TerraformError:
        label = f"terraform {command}" + (f" (workspace {self.workspace})" if self.workspace else "")
        # Checked before the lock: Terraform reports an unreadable state while locking it.
        if CORRUPT_STATE_PATTERN.search(result.stderr):
            state = self.state_file()
            backup = state.with_name(state.name + ".backup")
            return StateCorruptError(
                label, result.returncode, result.stdout, result.stderr,
                f"the state file {state} cannot be read; the harness left it untouched. "
                + (f"Terraform's previous state is in {backup}: inspect both, then restore with "
                   f"`cp {backup} {state}`" if backup.exists() else "no backup exists next to it; restore it "
                   "from your own backup or version history"),
            )
        if LOCK_PATTERN.search(result.stderr):
            lock_id = re.search(r"Lock Info:\s+ID:\s+(\S+)", result.stderr)
            holder = re.search(r"Who:\s+(.+)", result.stderr)
            created = re.search(r"Created:\s+(.+)", result.stderr)
            unlock = (f"harness unlock --workspace {self.workspace or 'default'} "
                      f"--lock-id {lock_id.group(1) if lock_id else '<LOCK_ID>'} --backend '{self.backend_url}'")
            stale = (f"If that run was killed, the lock is stale: break it with `{unlock}`" if self.backend_url else
                     "Local state is locked by the operating system for as long as that process runs, so a "
                     "killed run leaves no stale lock: find the running `terraform` process")
            return StateLockedError(
                label, result.returncode, result.stdout, result.stderr,
                "another run holds the state lock"
                + (f" ({holder.group(1).strip()}, since {created.group(1).strip()})" if holder and created else "")
                + f"; wait for it to finish, or retry with --lock-timeout 5m to wait for it. {stale}",
            )
        return TerraformError(label, result.returncode, result.stdout, result.stderr)

    def _run_once(self, argv: list[str], with_workspace: bool | str) -> CommandResult:
        started = time.monotonic()
        name = " ".join(argv[1:3])
        process = subprocess.Popen(
            argv,
            cwd=self.stack_dir,
            env=self._env(with_workspace, argv[1]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",  # whatever a provider prints, the readers keep draining the pipes
            # Its own session: a terminal Ctrl-C reaches only us, and we forward exactly
            # one SIGINT. A second SIGINT makes Terraform exit without saving state.
            start_new_session=True,
        )
        with _running_lock:
            _running.add(process)
        try:
            lines, stderr = self._communicate(process, name, started)
        finally:
            # Still running (a second Ctrl-C left it stopping on its own): it stays listed, so
            # nothing stops the served provider under it (`any_running`).
            if process.poll() is not None:
                with _running_lock:
                    _running.discard(process)
        interrupted = process in _interrupted
        with _running_lock:
            _interrupted.discard(process)
        seconds = time.monotonic() - started
        log.info("terraform %s%s: exit %d in %.2fs", name,
                 f" [{self.workspace}]" if with_workspace and self.workspace else "",
                 process.returncode, seconds)
        if self.on_command:
            self.on_command(argv[1], seconds, timings.change_split(lines, seconds))
        return CommandResult(argv, process.returncode, "".join(line for _, line in lines), stderr, seconds,
                             interrupted)

    def _communicate(self, process: subprocess.Popen[str], name: str,
                     started: float) -> tuple[list[tuple[float, str]], str]:
        """Its stdout lines, each with when it arrived (seconds since start), and its stderr.

        Stops it gracefully on the command timeout or Ctrl-C (`interrupts_to_stop`). The
        arrival times split an apply or destroy into Terraform's own work and the resource
        changes (harness/timings.py); Terraform writes each line as it happens.
        """
        lines: list[tuple[float, str]] = []
        errors: list[str] = []
        # An Event, not `join`: a Ctrl-C that interrupts `Thread.join` on Python 3.11 marks
        # the thread stopped while it still runs (threading's bpo-45274 handling).
        stdout_done = threading.Event()

        def read_stdout() -> None:
            try:
                for line in process.stdout:  # type: ignore[union-attr]
                    lines.append((time.monotonic() - started, line))
            finally:
                stdout_done.set()

        def read_stderr() -> None:
            for chunk in iter(lambda: process.stderr.read(65536), ""):  # type: ignore[union-attr]
                errors.append(chunk)

        readers = [threading.Thread(target=target, daemon=True) for target in (read_stdout, read_stderr)]
        for reader in readers:
            reader.start()
        self._wait(process, stdout_done, name, started)
        for reader in readers:
            # Terraform has exited: its pipes close now, unless a process it left behind holds them.
            reader.join(timeout=0.5)
        return list(lines), "".join(errors)

    def _wait(self, process: subprocess.Popen[str], stdout_done: threading.Event, name: str,
              started: float) -> None:
        """Until Terraform has exited and its output is read; the command timeout and Ctrl-C stop it.

        Waits for the stdout reader to end, the moment Terraform exits and its pipe
        closes: `Popen.wait(timeout)` polls with sleeps of up to 50 ms, which every
        command would pay.
        """
        interrupts = 0
        timeout = self.command_timeout
        deadline = started + timeout
        exited_at: float | None = None
        while True:
            try:
                stdout_done.wait(timeout=max(0.01, min(0.5, deadline - time.monotonic())))
                now = time.monotonic()
                if stdout_done.is_set():
                    process.wait(timeout=max(0.1, deadline - now))  # at once: its stdout has closed
                    return
                if process.poll() is not None:
                    exited_at = exited_at or now
                    if now - exited_at > READER_JOIN_SECONDS:
                        return  # exited, but something it started still holds its output open
                if now >= deadline:
                    raise subprocess.TimeoutExpired(name, timeout)
            except subprocess.TimeoutExpired:
                self._stop_gracefully(process, name, started)
                raise TerraformError(
                    f"terraform {name}", -1, "", f"stopped after {timeout:.0f}s without finishing",
                    "Terraform was stopped gracefully and wrote its state. Look for a provider stuck retrying "
                    "(run with -v), then retry; raise HARNESS_COMMAND_TIMEOUT if the command is just slow",
                ) from None
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts >= self.interrupts_to_stop:
                    self._stop_gracefully(process, name, started)
                    raise KeyboardInterrupt(
                        f"`terraform {name}` was interrupted; Terraform stopped and wrote its state"
                    ) from None
                print(f"harness: interrupted; letting `terraform {name}` finish so nothing is left behind. "
                      "Press Ctrl-C again to stop it now (what is left will be named).", file=sys.stderr, flush=True)

    @staticmethod
    def _stop_gracefully(process: subprocess.Popen[str], name: str, started: float) -> None:
        _interrupt_once(process)
        try:
            process.wait(timeout=GRACEFUL_STOP_SECONDS)  # its output is read by the caller's threads
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        except KeyboardInterrupt:
            log.warning("second interrupt: terraform %s (pid %d) is still stopping on its own",
                        name, process.pid)
            raise
        log.warning("terraform %s interrupted after %.1fs", name, time.monotonic() - started)

    def state_file(self) -> Path:
        """Where the local backend keeps this workspace's state."""
        if not self.workspace or self.workspace == "default":
            return self.stack_dir / "terraform.tfstate"
        return self.stack_dir / "terraform.tfstate.d" / self.workspace / "terraform.tfstate"

    # --- commands -----------------------------------------------------------------

    def init(self, backend_config: Mapping[str, str] | None = None) -> bool:
        """`terraform init` once per stack and configuration; True if it ran."""
        fingerprint = hashlib.sha256(
            json.dumps(
                {
                    "binary": self.toolchain.binary.path,
                    "version": self.toolchain.binary.version,
                    "cli_config": self.toolchain.cli_config,
                    "backend": dict(backend_config or {}),
                    "tf_files": sorted(
                        (p.name, p.stat().st_mtime_ns) for p in self.stack_dir.glob("*.tf")
                        if not p.name.startswith("harness_")
                    ),
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        marker = self.stack_dir / ".terraform" / "harness-init.sha256"
        with FileLock(str(self.stack_dir / ".terraform.harness.lock"), timeout=600):
            if marker.exists() and marker.read_text() == fingerprint:
                return False
            options: dict[str, Any] = {"input": False}
            if backend_config:
                options["backend_config"] = dict(backend_config)
                options["reconfigure"] = IsFlagged
            self.run("init", with_workspace=False, **options)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(fingerprint)
            return True

    def provider_version(self) -> str | None:
        """The hashicorp/aws version the lock file pins after init."""
        lock = self.stack_dir / ".terraform.lock.hcl"
        if not lock.exists():
            return None
        match = re.search(
            r'provider "registry\.(?:terraform\.io|opentofu\.org)/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"',
            lock.read_text(),
        )
        return match.group(1) if match else None

    def workspaces(self) -> list[str]:
        result = self.run("workspace list", with_workspace=False)
        return [line.strip(" *") for line in result.stdout.splitlines() if line.strip(" *")]

    def new_workspace(self, name: str) -> None:
        """Create `name`; already there is fine. One process: no `workspace list` first.

        Terraform says `Workspace "NAME" already exists` (exit 1) for an existing one, so
        that answer is accepted and anything else is still an error.
        """
        # Terraform only allows `workspace new` when TF_WORKSPACE names that workspace,
        # and then records it in .terraform/environment; drop that (absent = default).
        result = self.run("workspace new", name, with_workspace=name, accept=(0, 1))
        (self.stack_dir / ".terraform" / "environment").unlink(missing_ok=True)
        if result.returncode and f'Workspace "{name}" already exists' not in result.stdout + result.stderr:
            raise self._error("workspace new", result)

    def delete_workspace(self, name: str) -> None:
        """Delete `name`; already gone is fine. One process: no `workspace list` first.

        Terraform says `Workspace "NAME" doesn't exist.` (exit 1) for a missing one; that
        answer is accepted, anything else (state not empty, a lock) is still an error.
        """
        result = self.run("workspace delete", name, with_workspace=False, accept=(0, 1))
        if result.returncode and f'Workspace "{name}" doesn\'t exist' not in result.stdout + result.stderr:
            raise self._error("workspace delete", result)

    def _var_file(self, variables: Mapping[str, Any]) -> str:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", suffix=".tfvars.json", prefix="harness-", delete=False
        )
        with handle:
            json.dump(dict(variables), handle)
        return handle.name

    def _with_vars(self, variables: Mapping[str, Any] | None, command: str, *args: str,
                   **options: Any) -> CommandResult:
        var_file = self._var_file(variables or {})
        try:
            return self.run(command, *args, var_file=var_file, **options)
        finally:
            os.unlink(var_file)

    def _lock_options(self) -> dict[str, Any]:
        return {"lock_timeout": self.lock_timeout} if self.lock_timeout else {}

    def apply(self, variables: Mapping[str, Any] | None = None) -> CommandResult:
        return self._with_vars(variables, "apply", auto_approve=IsFlagged, input=False, **self._lock_options())

    def destroy(self, variables: Mapping[str, Any] | None = None, refresh: bool = True) -> CommandResult:
        options = {} if refresh else {"refresh": "false"}
        return self._with_vars(variables, "destroy", auto_approve=IsFlagged, input=False,
                               **options, **self._lock_options())

    def force_unlock(self, lock_id: str) -> CommandResult:
        return self.run("force-unlock", lock_id, force=IsFlagged)

    def plan(
        self,
        variables: Mapping[str, Any] | None = None,
        out: Path | None = None,
        refresh_only: bool = False,
    ) -> bool:
        """Plan with -detailed-exitcode; True when there are changes."""
        options: dict[str, Any] = {"detailed_exitcode": IsFlagged, "input": False, **self._lock_options()}
        if out is not None:
            options["out"] = str(out)
        if refresh_only:
            options["refresh_only"] = IsFlagged
        result = self._with_vars(variables, "plan", accept=(0, 2), **options)
        return result.returncode == 2

    def show_json(self, plan_file: Path | None = None) -> dict[str, Any]:
        args = [str(plan_file)] if plan_file else []
        result = self.run("show", *args, json=IsFlagged)
        return json.loads(result.stdout)

    def outputs(self) -> dict[str, Any]:
        return {name: item["value"] for name, item in self.output_items().items()}

    def output_items(self) -> dict[str, dict[str, Any]]:
        """`terraform output -json` as Terraform writes it: value, type and `sensitive` per output."""
        result = self.run("output", json=IsFlagged)
        return dict(json.loads(result.stdout or "{}"))

    def validate(self) -> dict[str, Any]:
        result = self.run("validate", json=IsFlagged, with_workspace=False, accept=(0, 1))
        return json.loads(result.stdout)

    def fmt_check(self, path: Path) -> CommandResult:
        return self.run("fmt", str(path), with_workspace=False, accept=(0, 3),
                        check=IsFlagged, recursive=IsFlagged, diff=IsFlagged)
