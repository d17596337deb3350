"""Runs Terraform commands for one stack directory: the only place that builds argv.

Built on python-terraform's argv builder (`Terraform.generate_cmd_string`), with the
process handled here, because python-terraform's own runner:
- sends `-force` from `destroy()`, which Terraform >= 0.15 rejects (we send
  `-auto-approve`);
- always copies os.environ and cannot add variables per call (we pass the toolchain's
  and the target's environment, and `TF_WORKSPACE`, per process);
- turns `synchronous=False` into a `-synchronous=false` flag, and cannot stop Terraform
  gracefully on Ctrl-C (we forward SIGINT and wait for Terraform to write its state), nor
  within a bound when a provider call keeps retrying (we stop the provider, then kill).

Parallel safety: workspaces are selected with `TF_WORKSPACE` per process, never through
the shared `.terraform/environment` file; `init` runs once per stack under a file lock;
state is per workspace (`<data dir>/state/<stack>/<name>/` or the backend's key).
Terraform's working data (`TF_DATA_DIR`) and local state live under the data directory
(harness/paths.py), never in the stack directory: runs with different data directories
(each test's own) share the stack's code and nothing else.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock
from python_terraform import IsFlagged, Terraform

from harness import paths
from harness.errors import StateCorruptError, StateLockedError, TerraformError
from harness.plumbing import procfs
from harness.plumbing.waiting import WaitTimeout, wait_until
from harness.terraform import provider_server
from harness.terraform.backend import LocalState, S3Backend
from harness.terraform.provider_server import ProviderServer
from harness.terraform.toolchain import Toolchain

log = logging.getLogger("harness.terraform.runner")

# After Terraform exits, its output pipes close; a child that inherited them must not hold us.
READER_JOIN_SECONDS = 5.0

# No Terraform command may run longer than this (HARNESS_COMMAND_TIMEOUT overrides it): a
# provider stuck retrying must not hang a run. This runner then stops the command
# within its STOP_BOUND_SECONDS.
DEFAULT_COMMAND_TIMEOUT_SECONDS = 900.0
COMMAND_TIMEOUT_ENV = "HARNESS_COMMAND_TIMEOUT"  # read by harness/options.py, the only reader of the environment

# How a Terraform command that does not end is stopped: on the run's command timeout
# (HARNESS_COMMAND_TIMEOUT, harness/options.py) or on the Ctrl-C that stops it, in stages;
# each further Ctrl-C skips the wait of the stage it is in.
# 1. One SIGINT: Terraform starts no new change, waits for the provider calls in flight,
#    writes its state and unlocks it. A call the AWS provider keeps retrying does not
#    return: provider 3.39 (aws-sdk-go v1) retries HTTP 500 up to its `max_retries` (25)
#    with a back-off of 30 ms doubling per retry (with jitter, capped at 300 s), i.e. for
#    about 50 minutes, and neither Terraform's StopProvider call nor the SIGINT cancels it
#    (observed: 12 attempts in the first 2 minutes, the last gaps 30 s and 57 s). 30 s
#    covers a call that is merely slow, plus the SDK's first 8 retries (8-15 s).
#    HARNESS_INTERRUPT_GRACE overrides it for a run (harness/options.py reads it): the tests
#    that stop a retrying apply use a short one, so as not to wait 30 s for a call that
#    they know never returns.
INTERRUPT_GRACE_SECONDS = 30.0
INTERRUPT_GRACE_ENV = "HARNESS_INTERRUPT_GRACE"
# 2. Stop the provider (the served one, else Terraform's own plugin processes): the call in
#    flight fails at once ("Plugin did not respond"), and Terraform records what it had
#    finished, writes its state, unlocks and exits (0.06 s measured, Terraform 1.11 with
#    provider 3.39, served and per command).
PROVIDER_GONE_GRACE_SECONDS = 10.0
# 3. SIGKILL Terraform's process group (it and its plugins), once its local state file has
#    not been written for STATE_QUIET_SECONDS (waiting at most STATE_QUIET_WAIT_SECONDS),
#    so that a state write in progress is not cut. A killed Terraform leaves an S3 lock
#    file behind; the local backend's lock is the process's own and goes with it.
STATE_QUIET_SECONDS = 0.5
STATE_QUIET_WAIT_SECONDS = 2.0
KILL_WAIT_SECONDS = 1.0
# The bound (with the default INTERRUPT_GRACE_SECONDS): a command ends at most this long after
# its command timeout (or after the Ctrl-C that stops it); the stopped provider gets
# provider_server.STOP_TIMEOUT_SECONDS to exit before it is killed. With
# HARNESS_COMMAND_TIMEOUT=T, no command runs past T + STOP_BOUND_SECONDS.
STOP_BOUND_SECONDS = (INTERRUPT_GRACE_SECONDS + provider_server.STOP_TIMEOUT_SECONDS + PROVIDER_GONE_GRACE_SECONDS
                      + STATE_QUIET_WAIT_SECONDS + KILL_WAIT_SECONDS)
# What `harness up|down --help` says about the timeout and the bound.
COMMAND_TIMEOUT_HELP = (
    f"{COMMAND_TIMEOUT_ENV}=SECONDS (default {DEFAULT_COMMAND_TIMEOUT_SECONDS:.0f}) bounds each Terraform command. "
    "On it, or on Ctrl-C, Terraform is interrupted and writes its state; if a provider call keeps retrying, the "
    f"provider is stopped after {INTERRUPT_GRACE_SECONDS:.0f}s, and Terraform is killed if it still runs: a command "
    f"ends at most {STOP_BOUND_SECONDS:.0f}s after its timeout or the Ctrl-C. Another Ctrl-C skips the wait. What "
    "is left (the workspace, possibly partly changed) is named, with how to continue."
)
# A lock left in S3 by a killed Terraform is looked up once, within this long.
LOCK_LOOKUP_SECONDS = 10.0
# The commands that change resources: when one is stopped, the workspace is left partly changed.
CHANGING_COMMANDS = ("apply", "destroy")
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
# API Gateway refuses a stage's access log settings while the region's account has no
# CloudWatch role (docs/aws-behaviour.md, "Access logging"); the stack logs by default.
MISSING_CLOUDWATCH_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"
MISSING_CLOUDWATCH_ROLE_HINT = (
    "this region's API Gateway account settings have no CloudWatch role, which access logging needs. "
    "Set one for the account once (`aws apigateway get-account` shows it), or apply with "
    "--stack-var manage_account_cloudwatch_role=true to let the stack set it (account-wide: it replaces any "
    "role there, for every API in the region), or with --stack-var access_logging=false"
)
RETRY_SLEEP_SECONDS = 3.0

# Terraform processes running now, in any thread: a run that deploys in a background
# thread stops its apply through `interrupt_running` when the session is interrupted
# (a terminal Ctrl-C reaches only the main thread, and Terraform has its own session).
_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()
# Those already sent their one SIGINT (by `interrupt_running` or a graceful stop).
_interrupted: set[subprocess.Popen[str]] = set()


# Where an apply's time goes (harness/reporting/timings.py): Terraform's progress lines, timed
# as they arrive, split the command into before the first change, the changes, and after.
CHANGE_STARTED = re.compile(r": (Creating|Destroying|Modifying|Replacing)\.\.\.")
CHANGE_DONE = re.compile(r": (Creation|Destruction|Modifications|Replacement) complete after ")


def change_split(lines: Sequence[tuple[float, str]], seconds: float) -> dict[str, float] | None:
    """Split one Terraform command by when its output lines arrived; None if it changed nothing.

    - `before_changes`: start to the first resource change starting: loading the
      configuration and state, the provider's schema and configuration (and, unless it is
      served, its start-up), validate, plan and any refresh;
    - `changes`: first change started to last change done: the provider's API calls;
    - `after_changes`: last change done to exit: the final state write and outputs.
    """
    started = [at for at, line in lines if CHANGE_STARTED.search(line)]
    done = [at for at, line in lines if CHANGE_DONE.search(line)]
    if not started or not done:
        return None
    first, last = min(started), max(done)
    return {"before_changes": round(first, 3), "changes": round(max(0.0, last - first), 3),
            "after_changes": round(max(0.0, seconds - last), 3)}


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


@dataclass
class _Stop:
    """A command being stopped: why, which stage it reached (see INTERRUPT_GRACE_SECONDS) and since when."""

    reason: str  # "timeout", "interrupt" (our Ctrl-C) or "external" (`interrupt_running`)
    stage_at: float
    interrupt_grace: float  # the runner's (INTERRUPT_GRACE_SECONDS unless the run set another)
    stage: int = 1  # 1: SIGINT sent, 2: provider stopped, 3: killed

    @property
    def next_at(self) -> float:
        """When the next stage starts unless Terraform has exited by then."""
        grace = {1: self.interrupt_grace, 2: PROVIDER_GONE_GRACE_SECONDS}.get(self.stage)
        return self.stage_at + grace if grace is not None else float("inf")

    def how(self) -> str:
        if self.stage == 1:
            return "Terraform stopped on its interrupt and wrote its state"
        how = (f"Terraform did not stop within {self.interrupt_grace:g}s of its interrupt (a provider call "
               "still retrying), so its AWS provider was stopped")
        if self.stage == 2:
            return how + "; Terraform then recorded what it had finished and wrote its state"
        return how + ", and as Terraform did not exit then either, it was killed"


def unfinished_changes(lines: list[str]) -> list[str]:
    """Resources whose change Terraform's output shows started and not completed."""
    started: dict[str, None] = {}
    for line in lines:
        address = line.split(": ", 1)[0].strip()
        if CHANGE_STARTED.search(line):
            started[address] = None
        elif CHANGE_DONE.search(line):
            started.pop(address, None)
    return list(started)


def plugin_processes(terraform_pid: int) -> list[int]:
    """The live processes of Terraform's process group but Terraform: the plugins it started.

    Terraform runs in its own session (`_run_once`), and its plugins inherit its group.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != terraform_pid:
            fields = procfs.stat_fields(int(entry.name))
            if fields and fields[0] != "Z" and fields[2] == str(terraform_pid):
                found.append(int(entry.name))
    return found


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
        interrupt_grace: float | None = None,
    ) -> None:
        self.toolchain = toolchain
        # A served provider every command but `init` reattaches to (harness/terraform/provider_server.py).
        self.provider = provider
        self.command_timeout = command_timeout
        # Stage 1 of a stop (INTERRUPT_GRACE_SECONDS when None).
        self.interrupt_grace = interrupt_grace
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
            self.lock_timeout, self.backend_url, self.command_timeout, self.provider, self.interrupt_grace,
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
            found = provider_server.installed_binary(self.data_dir.parent, self.provider_version())
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
        env = {**os.environ, **self.toolchain.env(), **self.extra_env, "TF_DATA_DIR": str(self.data_dir)}
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

    def _label(self, command: str) -> str:
        return f"terraform {command}" + (f" (workspace {self.workspace})" if self.workspace else "")

    def _corrupt_state_hint(self) -> str:
        state = self.state_file()
        backup = state.with_name(state.name + ".backup")
        return (f"the state file {state} cannot be read; the harness left it untouched. "
                + (f"Terraform's previous state is in {backup}: inspect both, then restore with "
                   f"`cp {backup} {state}`" if backup.exists() else "no backup exists next to it; restore it "
                   "from your own backup or version history"))

    def _unlock_command(self, lock_id: str) -> str:
        return (f"harness unlock --workspace {self.workspace or 'default'} --lock-id {lock_id}"
                + (f" --backend '{self.backend_url}'" if self.backend_url else ""))

    def _error(self, command: str, result: CommandResult) -> TerraformError:
        label = self._label(command)
        # Checked before the lock: Terraform reports an unreadable state while locking it.
        if CORRUPT_STATE_PATTERN.search(result.stderr):
            return StateCorruptError(label, result.returncode, result.stdout, result.stderr,
                                     self._corrupt_state_hint())
        if LOCK_PATTERN.search(result.stderr):
            lock_id = re.search(r"Lock Info:\s+ID:\s+(\S+)", result.stderr)
            holder = re.search(r"Who:\s+(.+)", result.stderr)
            created = re.search(r"Created:\s+(.+)", result.stderr)
            unlock = self._unlock_command(lock_id.group(1) if lock_id else "<LOCK_ID>")
            stale = (f"If that run was killed, the lock is stale: break it with `{unlock}`" if self.backend_url else
                     "Local state is locked by the operating system for as long as that process runs, so a "
                     "killed run leaves no stale lock: find the running `terraform` process")
            return StateLockedError(
                label, result.returncode, result.stdout, result.stderr,
                "another run holds the state lock"
                + (f" ({holder.group(1).strip()}, since {created.group(1).strip()})" if holder and created else "")
                + f"; wait for it to finish, or retry with --lock-timeout 5m to wait for it. {stale}",
            )
        if MISSING_CLOUDWATCH_ROLE in result.stderr:
            return TerraformError(label, result.returncode, result.stdout, result.stderr, MISSING_CLOUDWATCH_ROLE_HINT)
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
            # Its own session and process group (its plugins join it): a terminal Ctrl-C
            # reaches only us, and we forward exactly one SIGINT. A second SIGINT makes
            # Terraform exit without saving state.
            start_new_session=True,
        )
        with _running_lock:
            _running.add(process)
        try:
            lines, stderr, stop = self._communicate(process, argv[1], started)
        finally:
            # Still running only if something interrupted us before the stop was under way.
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
            self.on_command(argv[1], seconds, change_split(lines, seconds))
        if stop is not None and stop.reason == "timeout" and process.returncode == 0:
            log.warning("terraform %s finished after its interrupt, %.0fs after its timeout", name,
                        seconds - self.command_timeout)
        elif stop is not None and stop.reason != "external":
            left = self._what_is_left(argv[1], stop, [line for _, line in lines])
            if stop.reason == "timeout":
                raise TerraformError(
                    self._label(argv[1]), process.returncode, "".join(line for _, line in lines),
                    f"stopped after {self.command_timeout:g}s without finishing ({COMMAND_TIMEOUT_ENV}): "
                    f"{stop.how()}", left)
            print(f"harness: `terraform {argv[1]}` was interrupted: {stop.how()}.\n{left}", file=sys.stderr,
                  flush=True)
            raise KeyboardInterrupt(f"`terraform {argv[1]}` was interrupted; {stop.how()}")
        return CommandResult(argv, process.returncode, "".join(line for _, line in lines), stderr, seconds,
                             interrupted)

    def _communicate(self, process: subprocess.Popen[str], command: str,
                     started: float) -> tuple[list[tuple[float, str]], str, _Stop | None]:
        """Its stdout lines, each with when it arrived (seconds since start), its stderr, and its stop if any.

        Stops it on the command timeout or Ctrl-C (`interrupts_to_stop`). The arrival times
        split an apply or destroy into Terraform's own work and the resource changes
        (harness/reporting/timings.py); Terraform writes each line as it happens.
        """
        lines: list[tuple[float, str]] = []
        errors: list[str] = []
        # An Event, not `join`: a Ctrl-C that interrupts `Thread.join` on Python 3.11 marks
        # the thread stopped while it still runs (threading's bpo-45274 handling).
        stdout_done = threading.Event()

        def read_stdout() -> None:
            try:
                for line in process.stdout:  # type: ignore[union-attr]  # stdout=PIPE: never None
                    lines.append((time.monotonic() - started, line))
            finally:
                stdout_done.set()

        def read_stderr() -> None:
            for chunk in iter(lambda: process.stderr.read(65536), ""):  # type: ignore[union-attr]  # stderr=PIPE: never None
                errors.append(chunk)

        readers = [threading.Thread(target=target, daemon=True) for target in (read_stdout, read_stderr)]
        for reader in readers:
            reader.start()
        stop = self._wait(process, stdout_done, command, started)
        for reader in readers:
            # Terraform has exited: its pipes close now, unless a process it left behind holds them.
            reader.join(timeout=0.5)
        return list(lines), "".join(errors), stop

    def _wait(self, process: subprocess.Popen[str], stdout_done: threading.Event, command: str,
              started: float) -> _Stop | None:
        """Until Terraform has exited and its output is read; the command timeout and Ctrl-C stop it.

        Waits for the stdout reader to end, the moment Terraform exits and its pipe
        closes: `Popen.wait(timeout)` polls with sleeps of up to 50 ms, which every
        command would pay. Returns only once Terraform has exited: a stop reaches its
        last stage (SIGKILL) at most STOP_BOUND_SECONDS after it began.
        """
        interrupts = 0
        deadline = started + self.command_timeout
        exited_at: float | None = None
        stop: _Stop | None = None
        ctrl_c = False  # a Ctrl-C to act on: acted on in the loop, where another one cannot escape
        while True:
            try:
                if ctrl_c:
                    ctrl_c = False
                    interrupts += 1
                    stop = self._on_ctrl_c(process, stop, interrupts, command)
                if stop is None and process in _interrupted:  # `interrupt_running` sent its SIGINT
                    stop = _Stop("external", time.monotonic(), self._interrupt_grace())
                wake = min(deadline if stop is None else stop.next_at, time.monotonic() + 0.5)
                if stdout_done.is_set():  # its stdout has closed: it exits now
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=max(0.01, wake - time.monotonic()))
                else:
                    stdout_done.wait(timeout=max(0.01, wake - time.monotonic()))
                now = time.monotonic()
                if process.poll() is not None:
                    exited_at = exited_at or now
                    if stdout_done.is_set() or now - exited_at > READER_JOIN_SECONDS:
                        return stop  # after that, something it started still holds its output open
                elif stop is None and now >= deadline:
                    log.warning("terraform %s ran for %.0fs (%s): stopping it", command, now - started,
                                COMMAND_TIMEOUT_ENV)
                    stop = self._begin_stop(process, "timeout")
                elif stop is not None and now >= stop.next_at:
                    self._escalate(process, stop, command)
            except KeyboardInterrupt:
                ctrl_c = True

    def _on_ctrl_c(self, process: subprocess.Popen[str], stop: _Stop | None, interrupts: int,
                   command: str) -> _Stop | None:
        """Start stopping Terraform (`interrupts_to_stop`), or skip to the stop's next stage."""
        if stop is not None:
            self._escalate(process, stop, command)
            return stop
        if interrupts < self.interrupts_to_stop:
            print(f"harness: interrupted; letting `terraform {command}` finish so nothing is left behind. "
                  "Press Ctrl-C again to stop it now (what is left will be named).", file=sys.stderr, flush=True)
            return None
        print(f"harness: stopping `terraform {command}`: it finishes the calls in flight and writes its state (up "
              f"to {self._interrupt_grace():g}s). Press Ctrl-C again to stop its AWS provider now.",
              file=sys.stderr, flush=True)
        return self._begin_stop(process, "interrupt")

    def _interrupt_grace(self) -> float:
        return INTERRUPT_GRACE_SECONDS if self.interrupt_grace is None else self.interrupt_grace

    def _begin_stop(self, process: subprocess.Popen[str], reason: str) -> _Stop:
        _interrupt_once(process)
        return _Stop(reason, time.monotonic(), self._interrupt_grace())

    def _escalate(self, process: subprocess.Popen[str], stop: _Stop, command: str) -> None:
        """The next stage of `stop`: stop the provider, then kill Terraform's process group."""
        if process.poll() is not None or stop.stage >= 3:
            return
        if stop.stage == 1:
            stop.stage, stop.stage_at = 2, time.monotonic()
            log.warning("terraform %s is still waiting for its AWS provider: stopping the provider, so that "
                        "Terraform records what it finished", command)
            self._stop_providers(process)
            return
        stop.stage, stop.stage_at = 3, time.monotonic()
        log.warning("terraform %s (pid %d) did not exit after its provider was stopped: killing it", command,
                    process.pid)
        self._await_state_quiet()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=KILL_WAIT_SECONDS)

    def _stop_providers(self, process: subprocess.Popen[str]) -> None:
        """The served provider, and the plugins Terraform started itself (none when it reattached)."""
        if self.provider is not None:
            self.provider.stop()
            self.provider = None  # the next command of this runner lets Terraform start its own
        provider_server.terminate(plugin_processes(process.pid))

    def _await_state_quiet(self) -> None:
        """Wait, bounded, until the local state file has not been written for a moment (no write is cut)."""
        if self.backend_url:
            return  # S3 replaces an object whole: a write cannot be cut half-way
        state = self.state_file()

        def quiet() -> bool:
            try:
                return time.time() - state.stat().st_mtime >= STATE_QUIET_SECONDS
            except OSError:
                return True

        with contextlib.suppress(WaitTimeout):  # still written to after the wait: killed all the same
            wait_until(quiet, STATE_QUIET_WAIT_SECONDS, what="the state file to stay unwritten", interval=0.05)

    def _what_is_left(self, command: str, stop: _Stop, lines: list[str]) -> str:
        """A few lines: the workspace, its state and lock, how to continue."""
        slow = f" (raise {COMMAND_TIMEOUT_ENV} if the command is just slow)" if stop.reason == "timeout" else ""
        if command not in CHANGING_COMMANDS or not self.workspace:
            return f"nothing was being changed: run it again{slow}"
        name = self.workspace
        pending = unfinished_changes(lines)
        state, lock_line = self._state_after_stop(killed=stop.stage >= 3)
        block = [f"left: workspace {name}, {state}; its resources may be partly changed"
                 + (f" ({', '.join(pending)} {'was' if len(pending) == 1 else 'were'} in progress)" if pending else "")
                 + "."]
        if lock_line:
            block.append(lock_line)
        up, down = f"`harness up --workspace {name}`", f"`harness down --workspace {name}`"
        block.append(f"continue: {up} applies it again, or {down} removes it{slow}." if command == "apply" else
                     f"continue: {down} removes the rest, or {up} applies it again{slow}.")
        return "\n     ".join(block)

    def _state_after_stop(self, killed: bool) -> tuple[str, str | None]:
        """How the workspace's state is after a stop, and a line to release a lock left behind."""
        if self.backend_url is None:
            # A local state lock is the Terraform process's own (fcntl): it ended with the process.
            state = self.state_file()
            try:
                if state.exists():
                    json.loads(state.read_text())
            except (OSError, ValueError):
                return "its state unreadable and unlocked", self._corrupt_state_hint()
            return "its state readable and unlocked", None
        if not killed:
            return "its state written and unlocked by Terraform", None
        found = self._remaining_s3_lock()
        if found is None:
            return "its state in S3", (f"lock: could not check for a lock Terraform left (S3 did not answer within "
                                       f"{LOCK_LOOKUP_SECONDS:.0f}s); if the next command reports one, it prints the "
                                       "`harness unlock` line to run")
        if not found:
            return "its state in S3 and unlocked", None
        return "its state in S3 still locked", f"unlock: `{self._unlock_command(found)}` releases the lock it left"

    def _remaining_s3_lock(self) -> str | None:
        """The ID of the lock a killed Terraform left in S3, "" if none, None if S3 did not answer in time."""
        backend = S3Backend.parse(str(self.backend_url))
        answer: list[str] = []

        def look() -> None:
            with contextlib.suppress(Exception):  # whatever boto3 raises: "could not check"
                holder = backend.lock_holder(self.workspace or "default")
                answer.append(str(holder.get("ID") or "<LOCK_ID>") if holder else "")

        looker = threading.Thread(target=look, daemon=True)
        looker.start()
        looker.join(LOCK_LOOKUP_SECONDS)
        return answer[0] if answer else None

    def state_file(self) -> Path:
        """Where the local backend keeps this workspace's state."""
        return LocalState(self.stack_dir).state_file(self.workspace)

    @property
    def data_dir(self) -> Path:
        """Terraform's working data for this stack (`TF_DATA_DIR`), under the harness's data directory."""
        return paths.terraform_data_dir(self.stack_dir)

    # --- commands -----------------------------------------------------------------

    def init(self, backend_config: Mapping[str, str] | None = None) -> bool:
        """`terraform init` once per stack, data directory and configuration; True if it ran.

        With local state (no `backend_url`) and no backend of the stack's own, Terraform's
        local backend is pointed at the data directory (`LocalState`).
        """
        local = LocalState(self.stack_dir)
        if backend_config is None and self.backend_url is None and local.applies():
            backend_config = local.backend_config()
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
        marker = self.data_dir / "harness-init.sha256"
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.data_dir.parent / "init.lock"), timeout=600):
            if marker.exists() and marker.read_text() == fingerprint:
                return False
            if backend_config and "workspace_dir" in backend_config:
                local.adopt_legacy_state()
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
        # Terraform lists each workspace as "* name" (the selected one) or "  name"; other lines
        # are its notes, e.g. that TF_WORKSPACE overrides the selection (set on every command here).
        return [line[2:].strip() for line in result.stdout.splitlines()
                if line.startswith(("* ", "  ")) and line[2:].strip()]

    def new_workspace(self, name: str) -> None:
        """Create `name`; already there is fine. One process: no `workspace list` first.

        Terraform says `Workspace "NAME" already exists` (exit 1) for an existing one, so
        that answer is accepted and anything else is still an error.
        """
        # Terraform only allows `workspace new` when TF_WORKSPACE names that workspace,
        # and then records it in .terraform/environment; drop that (absent = default).
        result = self.run("workspace new", name, with_workspace=name, accept=(0, 1))
        (self.data_dir / "environment").unlink(missing_ok=True)
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
