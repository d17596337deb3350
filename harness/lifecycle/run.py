"""One harness run: its id, its directory and every file in it, the stack it uses, and its teardown.

A run (a `pytest` session, with or without xdist workers) owns `.harness/runs/<run-id>/`:

- `stack.lock`: file lock taken by whichever process deploys: one apply per run;
- `workspace.json`: the throwaway workspace and its target, written before apply, so
  teardown and `harness sweep` find it even when the apply never finished;
- `stack.json` / `stack.error`: outputs for the other workers (sensitive ones named, never
  written: a worker reads them from the workspace's Terraform state), or the error every
  check reports;
- `localaws.json`: the local AWS started for the run (endpoint, pid);
- `phases.jsonl`, `uploads.jsonl`: Terraform phase timings, upload throughput;
- `timings.jsonl`: other moments and durations of the run (toolchain, stack ready, workers
  collected) for the split in harness/reporting/timings.py;
- `scratch.jsonl`: buckets checks created outside Terraform (harness/client/scratch.py);
- `assumptions.jsonl`: unconfirmed AWS behaviour the checks observed (harness/targets/assumptions.py).

One shared throwaway workspace per run, not one per worker: an apply costs seconds and
the checks never share keys, so one stack serves every worker. The first process that
asks applies it under the lock (the controller, in a `BackgroundDeploy` thread as the
session starts, when the checks' conftest asks for it); the others read its outputs.
The run's Terraform commands reattach to one served provider (harness/terraform/provider_server.py,
recorded there under the run id). The controller tears down at the end: scratch buckets,
then the workspace, then the served provider and the local AWS it started; `Run.teardown`
returns a `TeardownReport` saying what it removed, what is left and how to remove it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

from harness import paths
from harness.client import scratch, upload_client
from harness.client.stack_outputs import StackOutputs
from harness.errors import HarnessError, WorkspaceMissingError
from harness.lifecycle import readiness
from harness.lifecycle.workspace import (
    Deployer,
    Workspace,
    load_record,
    save_record,
    teardown,
    throwaway_name,
)
from harness.localaws import process as localaws_process
from harness.options import RunOptions
from harness.plumbing import jsonl
from harness.plumbing.files import replace_text
from harness.targets.target import Target
from harness.terraform import provider_server, runner, stack_variables

SHARED_WORKER = "main"
STACK_LOCK = "stack.lock"
STACK_FILE = "stack.json"
STACK_ERROR = "stack.error"
WORKSPACE_FILE = "workspace.json"
LOCALAWS_FILE = "localaws.json"
PHASES_FILE = "phases.jsonl"
UPLOADS_FILE = "uploads.jsonl"
SCRATCH_FILE = "scratch.jsonl"
ASSUMPTIONS_FILE = "assumptions.jsonl"
TIMINGS_FILE = "timings.jsonl"
PROVIDER_START = provider_server.START_PHASE
DEPLOY_WAIT_SECONDS = 900
# With shared state (S3), a run leases its throwaway workspace so that a sweep on another
# runner never takes a live stack for an orphan, whatever its age; a killed run stops
# renewing, and its lease runs out.
LEASE_SECONDS = 600.0
LEASE_RENEW_SECONDS = 60.0
# The readiness gate's entry in phases.jsonl: timed with the Terraform commands, but not one.
READY_PHASE = "ready"


class DeployedStack:
    """What checks get: the target, the stack's outputs and its workspace name."""

    def __init__(self, target: Target, outputs: StackOutputs, workspace: str) -> None:
        self.target = target
        self.outputs = outputs
        self.workspace = workspace

    def client(self, service: str) -> Any:
        return self.target.client(service)


@dataclass
class TeardownReport:
    """What a run's teardown did; callers read its fields, never the wording of its messages.

    `messages`: what happened, in order, for a person. `removed`: what the teardown removed
    or stopped, a few words each. `left`: what is still there, each with the command that
    removes it (a workspace kept with --keep too). `failures`: what could not be removed,
    which fails the session. `interrupted`: a Ctrl-C or SIGTERM cut the teardown short.
    """

    destroyed: bool = False  # the throwaway workspace was destroyed and deleted
    messages: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def say(self, message: str) -> None:
        self.messages.append(message)

    def leave(self, what: str, command: str) -> None:
        self.left.append(f"{what}: remove it with `{command}`")

    def fail(self, what: str, command: str, reason: str) -> None:
        """`what` could not be removed (`reason`): a failure, left for `command`."""
        self.failures.append(f"{what} could not be removed ({reason})")
        self.leave(what, command)
        self.say(f"teardown failed: {what} could not be removed ({reason}); remove it with `{command}`")

    def interrupt(self, run_id: str) -> None:
        """Cut short: unless the step interrupted already named what it left, `harness sweep` finds it."""
        self.interrupted = True
        if not self.left:
            self.leave(f"whatever run {run_id} still has", f"harness sweep --run-id {run_id} --older-than 0s")
            self.say("teardown interrupted: run `harness sweep` to remove what is left")


class TeardownInterrupted(KeyboardInterrupt):
    """A Ctrl-C (or SIGTERM) during `Run.teardown`, carrying what it did up to then."""

    def __init__(self, report: TeardownReport) -> None:
        super().__init__("interrupted during the run's teardown")
        self.report = report


class StackWaitInterrupted(KeyboardInterrupt):
    """A Ctrl-C (or SIGTERM) while this process waited for the run's stack lock (another thread or worker applies).

    Raised in place of the lock library's own KeyboardInterrupt, so that what reports it names
    the wait, not a line inside the library.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(f"interrupted while waiting for run {run_id}'s stack to be applied")


def _append_line(path: Path, item: dict[str, Any]) -> None:
    if not path.parent.is_dir():
        return  # timings are best effort; a run directory already removed must not fail a check
    with contextlib.suppress(OSError):
        jsonl.append(path, item)


@dataclass
class Run:
    id: str
    options: RunOptions
    # Set when the session is interrupted while this process deploys in a background thread.
    cancelled: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)
    # The shared stack as this process applied or read it, sensitive outputs included (kept in
    # memory: stack.json never holds them).
    _stack: DeployedStack | None = field(default=None, compare=False, repr=False)

    @property
    def dir(self) -> Path:
        return paths.runs_dir() / self.id

    def file(self, name: str) -> Path:
        return self.dir / name

    # --- records -------------------------------------------------------------------

    def record_phase(self, name: str, seconds: float, split: dict[str, float] | None = None) -> None:
        """A Terraform command (or the readiness wait) and, for an apply or destroy, its split."""
        if name == PROVIDER_START:  # not a Terraform command: the served provider's start-up
            self.record_timing(PROVIDER_START, seconds)
            return
        _append_line(self.file(PHASES_FILE), {"phase": name, "seconds": round(seconds, 3),
                                              **({"split": split} if split else {})})

    def record_upload(self, size: int, seconds: float, status: int) -> None:
        if status == 200 and size >= 64 * 1024:  # throughput of small bodies is latency, not bandwidth
            _append_line(self.file(UPLOADS_FILE), {"bytes": size, "seconds": round(seconds, 6)})

    def record_timing(self, name: str, seconds: float | None = None) -> None:
        """A duration (`seconds`) or, without it, a moment (epoch seconds now)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        _append_line(self.file(TIMINGS_FILE), {"name": name, "seconds": round(seconds, 3)} if seconds is not None
                     else {"name": name, "at": time.time()})

    def timings(self) -> dict[str, list[float]]:
        """Each recorded name with its values (durations, or epoch moments), in order."""
        found: dict[str, list[float]] = {}
        for item in jsonl.read(self.file(TIMINGS_FILE)):
            found.setdefault(item["name"], []).append(item["seconds"] if "seconds" in item else item["at"])
        return found

    def phases(self) -> dict[str, list[float]]:
        phases: dict[str, list[float]] = {}
        for item in jsonl.read(self.file(PHASES_FILE)):
            phases.setdefault(item["phase"], []).append(item["seconds"])
        return phases

    def phase_splits(self) -> dict[str, list[dict[str, float]]]:
        """Per Terraform command, the split of each run of it that changed resources (harness/reporting/timings.py)."""
        splits: dict[str, list[dict[str, float]]] = {}
        for item in jsonl.read(self.file(PHASES_FILE)):
            if item.get("split"):
                splits.setdefault(item["phase"], []).append(item["split"])
        return splits

    def uploads(self) -> list[dict[str, Any]]:
        return jsonl.read(self.file(UPLOADS_FILE))

    def workspace_record(self) -> dict[str, Any] | None:
        path = self.file(WORKSPACE_FILE)
        return json.loads(path.read_text()) if path.exists() else None

    def target_kind(self) -> str:
        for name in (STACK_FILE, WORKSPACE_FILE):
            if self.file(name).exists():
                return str(json.loads(self.file(name).read_text())["target"]["kind"])
        return self.options.target_kind

    def local_aws(self) -> localaws_process.LocalAwsProcess | None:
        return localaws_process.LocalAwsProcess.load(self.file(LOCALAWS_FILE))

    def _deployer(self, target: Target, timed: bool = False) -> Deployer:
        """Toolchain, initialised stack, the run's served provider; `timed`: record the preparation.

        The preparation's time excludes `init` (a Terraform phase of its own) and the served
        provider's start-up (`provider_start`).
        """
        excluded: list[float] = []

        def on_command(name: str, seconds: float, split: dict[str, float] | None = None) -> None:
            if name in (PROVIDER_START, "init"):
                excluded.append(seconds)
            self.record_phase(name, seconds, split)

        started = time.perf_counter()
        deployer = Deployer(target, self.options, on_command=on_command)
        deployer.prepare(serve_provider=True, run_id=self.id)
        if timed:
            self.record_timing("toolchain", time.perf_counter() - started - sum(excluded))
        return deployer

    # --- the stack ------------------------------------------------------------------

    def shared_stack(self) -> DeployedStack:
        """This run's throwaway stack: applied by the first caller, read by the others."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._stack_lock():
            if self.file(STACK_ERROR).exists():
                raise HarnessError(f"the shared stack failed to deploy: {self.file(STACK_ERROR).read_text()}",
                                   "see the first failing check's output")
            recorded = self.recorded_stack()
            if recorded is not None:
                return recorded
            try:
                target = self.options.target()
                pending = None
                if target.kind != "local":
                    target.check_reachable()
                else:
                    pending = localaws_process.launch(log_file=self.file("localaws.log"), detach=True,
                                                      profile=self.options.localaws_profile,
                                                      faults=self.options.localaws_faults, run_id=self.id)
                    # Recorded before it reports its port: teardown and sweep find it by pid.
                    localaws_process.LocalAwsProcess("", pending.child.pid).save(self.file(LOCALAWS_FILE))
                try:
                    # While the local AWS imports (~0.5 s): the toolchain, init and the served
                    # provider, none of which needs its endpoint (a local target's credentials
                    # and region do not depend on it).
                    deployer = self._deployer(target, timed=True)
                except BaseException:
                    if pending is not None:
                        pending.abandon()
                    raise
                if pending is not None:
                    server = pending.wait()
                    server.save(self.file(LOCALAWS_FILE))
                    target = Target("local", server.endpoint, target.region)
                    deployer.target = target
                    target.check_reachable()
                workspace = Workspace(throwaway_name(self.id, SHARED_WORKER), deployer, self.id)
                replace_text(self.file(WORKSPACE_FILE),
                             json.dumps({"workspace": workspace.name, "target": target.to_record()}))
                self.renew_lease()
                save_record(workspace.name, target, self.id, self.options.backend_url, self.options.stack_vars)
                outputs = workspace.up(self.options.stack_vars)
                self.gate(target, outputs)
            except BaseException as exc:
                replace_text(self.file(STACK_ERROR), str(exc))
                raise
            # Sensitive values (the API key) stay in Terraform's state: the file names them, and
            # a worker that needs them reads them from the state (`_withheld_outputs`).
            replace_text(self.file(STACK_FILE), json.dumps({
                "target": target.to_record(), "invoke_url": outputs.invoke_url, "workspace": workspace.name,
                "outputs": {name: None if name in outputs.sensitive else value
                            for name, value in outputs.values.items()},
                "sensitive": sorted(outputs.sensitive),
                "withheld": sorted(name for name in outputs.sensitive if outputs.values.get(name) is not None),
            }))
            self.record_timing("stack_ready")
            self._stack = DeployedStack(target, outputs, workspace.name)
            return self._stack

    def _withheld_outputs(self, target: Target, workspace: str, names: list[str]) -> dict[str, Any]:
        """The sensitive outputs `stack.json` leaves out, read from the workspace's state (`terraform output`)."""
        if not names:
            return {}
        deployer = Deployer(target, self.options)
        deployer.prepare()
        values = Workspace(workspace, deployer, self.id).outputs().values
        return {name: values.get(name) for name in names}

    def recorded_stack(self) -> DeployedStack | None:
        """The shared stack as its deploy recorded it, or None when it was never deployed (nothing is applied)."""
        if not self.file(STACK_FILE).exists():
            return None
        if self._stack is not None:
            return self._stack
        data = json.loads(self.file(STACK_FILE).read_text())
        target = Target.from_record(data["target"])
        values = {**data["outputs"], **self._withheld_outputs(target, data["workspace"], data["withheld"])}
        self._stack = DeployedStack(target, StackOutputs(values, data["invoke_url"], frozenset(data["sensitive"])),
                                    data["workspace"])
        return self._stack

    @contextlib.contextmanager
    def _stack_lock(self) -> Iterator[None]:
        """The run's deploy lock (one apply per run); a Ctrl-C while waiting for it is a `StackWaitInterrupted`."""
        lock = FileLock(str(self.file(STACK_LOCK)), timeout=DEPLOY_WAIT_SECONDS)
        try:
            lock.acquire()
        except KeyboardInterrupt:
            raise StackWaitInterrupted(self.id) from None
        try:
            yield
        finally:
            lock.release()

    def named_stack(self, name: str, apply: bool, explicit_target: bool) -> DeployedStack:
        """An existing named workspace (never destroyed by the run); applied first if asked."""
        if not explicit_target and load_record(name) is None and self.options.target_kind == "local":
            raise missing_workspace(name)
        workspace = open_named_workspace(name, self.options, explicit_target, on_command=self.record_phase,
                                         serve_provider=apply)
        target = workspace.deployer.target
        options = workspace.deployer.options  # the workspace's remembered variables, changed by --stack-var
        if apply:
            try:
                outputs = workspace.up(options.stack_vars)
            finally:
                workspace.deployer.release_provider()
            save_record(name, target, workspace.run_id, options.backend_url, options.stack_vars)
            self.gate(target, outputs)
        else:
            if not workspace.exists():
                raise HarnessError(f"workspace {name!r} does not exist",
                                   f"create it with `harness up --workspace {name}` or pass --apply")
            outputs = workspace.outputs()
        return DeployedStack(target, outputs, name)

    def gate(self, target: Target, outputs: StackOutputs) -> None:
        """No check starts before the API answers as intended (harness/lifecycle/readiness.py)."""
        if self.options.readiness_gate:
            ready = readiness_gate(target, outputs, self.options.ready_timeout, sleep=self._sleep_unless_cancelled)
            self.record_phase(READY_PHASE, ready.seconds)

    def _sleep_unless_cancelled(self, seconds: float) -> None:
        if self.cancelled.wait(seconds):
            raise HarnessError("interrupted while waiting for the API to become ready",
                               "the run's teardown destroys what was applied")

    def deploy_in_background(self) -> BackgroundDeploy:
        """Start applying the shared stack now, in a thread, while the checks' processes start.

        The checks then find it applied (or its error) through `shared_stack`'s lock and
        files, as if the first of them had applied it.
        """
        deploy = BackgroundDeploy(self)
        deploy.start()
        return deploy

    def renew_lease(self) -> None:
        """With an S3 backend: (re)write the lease on this run's throwaway workspace."""
        backend = self.options.backend
        record = self.workspace_record()
        if backend is None or record is None:
            return
        backend.write_lease(record["workspace"], {"run_id": self.id, "host": socket.gethostname(),
                                                  "pid": os.getpid()}, LEASE_SECONDS)

    def create_scratch_bucket(self, stack: DeployedStack, purpose: str) -> str:
        return scratch.create_bucket(stack.client("s3"), stack.outputs.region, self.id, stack.workspace, purpose,
                                     self.file(SCRATCH_FILE), stack.target.to_record())

    def remove_scratch(self, stack: DeployedStack, kind: str, name: str) -> None:
        """A check is done with its scratch bucket or user: remove it now, and teardown need not look."""
        scratch.remove(stack.client("s3" if kind == "bucket" else "iam"), kind, name, self.file(SCRATCH_FILE))

    def create_scratch_user(self, stack: DeployedStack, purpose: str) -> str:
        return scratch.create_iam_user(stack.client("iam"), self.id, stack.workspace, purpose,
                                       self.file(SCRATCH_FILE), stack.target.to_record())

    # --- teardown -------------------------------------------------------------------

    def teardown(self) -> TeardownReport:
        """Scratch buckets, the throwaway workspace, the served provider, the local AWS.

        A Ctrl-C (or SIGTERM) cuts it short with `TeardownInterrupted`, which carries the
        report so far (the served providers are still stopped).
        """
        report = TeardownReport()
        try:
            self._teardown(report)
        except KeyboardInterrupt:
            report.interrupt(self.id)
            raise TeardownInterrupted(report) from None
        finally:
            self.stop_providers(report)
        return report

    def stop_providers(self, report: TeardownReport) -> None:
        """Stop the run's served providers, unless a Terraform command is still stopping and needs one."""
        if runner.any_running():
            report.say(f"left the run's served AWS provider running for a Terraform command that is still "
                       f"stopping; `harness sweep --run-id {self.id}` stops it")
            report.leave("the run's served AWS provider", f"harness sweep --run-id {self.id}")
            return
        if provider_server.stop_for_run(self.id):
            report.removed.append("the run's served AWS provider (stopped)")

    def _teardown(self, report: TeardownReport) -> None:
        server = self.local_aws()
        clients: dict[str, Any] = {}

        def client_for(where: dict[str, Any] | None, service: str) -> Any:
            # One client per target and service: building a botocore client costs ~0.1 s.
            key = json.dumps([where, service], sort_keys=True)
            if key not in clients:
                clients[key] = (Target.from_record(where) if where else self.options.target()).client(service)
            return clients[key]

        try:
            removed = scratch.remove_registered(self.file(SCRATCH_FILE), client_for)
        except Exception as exc:  # botocore's errors: say so, and still tear the stack down
            removed = []
            report.fail("a scratch resource of this run", f"harness sweep --run-id {self.id} --older-than 0s "
                        "--target ...", str(exc))
        if removed:
            report.say(f"removed {len(removed)} scratch resource(s) a check left: {', '.join(removed)}")
            report.removed.extend(f"scratch {item}" for item in removed)
        record = self.workspace_record()
        if record:
            target = Target.from_record(record["target"])
            name = record["workspace"]
            if self.options.keep:
                report.say(f"kept workspace {name} on {target.describe()}; remove it with: harness down --workspace "
                           f"{name}" + ("  (the local AWS keeps running for it)" if server else ""))
                report.leave(f"workspace {name} (kept)", f"harness down --workspace {name}")
                return
            workspace = Workspace(name, self._deployer(target), self.id)
            try:
                teardown(workspace, self.options.stack_vars, log=report.say)
            except KeyboardInterrupt:  # its own line says what is still there and how to remove it
                report.leave(f"workspace {name}", workspace.removal_hint())
                raise
            except HarnessError as exc:
                report.fail(f"workspace {name}", workspace.removal_hint(), exc.message)
                return
            report.say(f"destroyed and deleted workspace {name}")
            report.removed.append(f"workspace {name} (destroyed and deleted)")
            report.destroyed = True
            if self.options.backend is not None:
                self.options.backend.release_lease(name)
        if server:
            # No endpoint: interrupted before it reported one, so it has served nothing to count.
            if server.endpoint and (self.options.localaws_faults or self.options.localaws_profile):
                report.say(faults_message(server))
            server.stop()
            report.removed.append("the run's local AWS (stopped)")

    def release_kept(self) -> TeardownReport:
        """After `harness down` of this run's kept throwaway workspace: its local AWS, providers, directory.

        A run kept with --keep leaves them for its workspace; once that is destroyed nothing
        needs them, so nothing of the run is left for `harness sweep`.
        """
        report = TeardownReport()
        server = self.local_aws()
        if server and server.alive():
            server.stop()
            report.say(f"stopped the local AWS of run {self.id} ({server.endpoint})")
            report.removed.append("the run's local AWS (stopped)")
        self.stop_providers(report)
        if self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
            report.say(f"removed the run directory {self.dir}")
        return report

    def remove_directory(self, destroyed: bool) -> None:
        """Gone unless kept, or unless it still names a workspace that was not destroyed (for sweep)."""
        if self.dir.exists() and not self.options.keep and (destroyed or self.workspace_record() is None):
            shutil.rmtree(self.dir, ignore_errors=True)


class BackgroundDeploy(threading.Thread):
    """`Run.shared_stack` in a thread of the process that will tear the run down."""

    def __init__(self, run: Run) -> None:
        super().__init__(daemon=True, name="harness-deploy")
        self.harness_run = run
        # Waited on instead of `join`: on Python 3.11 a Ctrl-C that interrupts `Thread.join`
        # marks the thread stopped while it still runs (threading's bpo-45274 handling).
        self.done = threading.Event()

    def run(self) -> None:
        try:
            # A failure is recorded in the run's stack.error, which every check reports; teardown follows.
            with contextlib.suppress(BaseException):
                self.harness_run.shared_stack()
        finally:
            self.done.set()

    def finish(self, interrupted: bool) -> None:
        """Wait for it; when the session was interrupted, stop it first, as a Ctrl-C stops an apply.

        Each Terraform command it starts gets exactly one SIGINT (it stops and writes its
        state), the readiness gate stops waiting, and the run's teardown destroys what
        was applied.
        """
        if interrupted:
            self.harness_run.cancelled.set()
        while not self.done.is_set():
            if interrupted:
                runner.interrupt_running()
            self.done.wait(0.1)


def faults_message(server: localaws_process.LocalAwsProcess) -> str:
    """What the run's local AWS injected, per kind (harness/localaws/faults.py)."""
    try:
        report = server.faults()
    except Exception as exc:  # best effort: the counters must not fail a teardown
        return f"local AWS fault counters unavailable ({type(exc).__name__})"
    kinds = ", ".join(f"{kind} {count}" for kind, count in report["injected"].items()) or "none"
    return f"local AWS profile {report['profile']}; faults injected: {kinds}"


def readiness_gate(target: Target, outputs: StackOutputs, timeout: float,
                   sleep: Callable[[float], None] = time.sleep) -> readiness.Readiness:
    """Probe the deployed API until it answers as the module intends; the sentinel is removed."""
    s3 = target.client("s3")
    return readiness.wait_until_ready(
        upload_client.for_stack(
            outputs, target.session().get_credentials() if outputs.authorization == "AWS_IAM" else None),
        # Every version: with overwrite_policy keep_versions a plain delete would leave one behind.
        remove_sentinel=lambda key: scratch.delete_versions(s3, outputs.bucket_name, key),
        timeout=timeout, sleep=sleep)


# --- named workspaces -----------------------------------------------------------------------

PERSISTENT_LOCALAWS_FILE = "localaws.json"


def persistent_local_aws(profile: str | None = None, faults: str | None = None) -> localaws_process.LocalAwsProcess:
    """The project's long-lived local AWS for named workspaces: reuse it or start it.

    `profile`/`faults` apply only when it is started here; a running one keeps its own.
    """
    state = paths.data_dir() / PERSISTENT_LOCALAWS_FILE
    running = localaws_process.LocalAwsProcess.load(state)
    if running and running.alive():
        return running
    server = localaws_process.start(log_file=paths.data_dir() / "localaws.log", detach=True,
                                    profile=profile, faults=faults)
    server.save(state)
    return server


def missing_workspace(name: str) -> WorkspaceMissingError:
    return WorkspaceMissingError(
        f"workspace {name!r} does not exist here (no record under {paths.workspaces_dir()})",
        f"`harness workspaces` lists the ones that do; `harness up --workspace {name}` creates it")


def named_target(name: str, options: RunOptions, explicit_target: bool, creating: bool) -> tuple[Target, RunOptions]:
    """Where a named workspace lives: its record, unless a target is named explicitly.

    The record also names the backend its state is in, used when no --backend is given,
    and the stack variables the workspace was last applied with: the options returned
    carry those, changed by --stack-var and --unset-stack-var.
    On the local target, a new named workspace gets the persistent local AWS.
    """
    record = load_record(name)
    if record and not options.backend_url and record.get("backend"):
        options = options.with_backend(record["backend"])
    options = replace(options, stack_vars=stack_variables.remembered(record, options.stack_vars,
                                                                     options.unset_stack_vars))
    if record and not explicit_target:
        return Target.from_record(record["target"]), options
    if options.target_kind == "local":
        if not creating:
            raise missing_workspace(name)
        server = persistent_local_aws(options.localaws_profile, options.localaws_faults)
        return Target("local", server.endpoint, options.region), options
    return options.target(), options


def open_named_workspace(name: str, options: RunOptions, explicit_target: bool, creating: bool = False,
                         on_command: Callable[..., None] | None = None,
                         serve_provider: bool = False) -> Workspace:
    """A named workspace ready for Terraform commands (target reachable, stack initialised).

    `serve_provider`: for a sequence of commands; the caller ends it with
    `workspace.deployer.release_provider()`.
    """
    target, options = named_target(name, options, explicit_target, creating)
    deployer = Deployer(target, options, on_command=on_command)  # checks the stack directory and toolchain first
    target.check_reachable()
    deployer.prepare(serve_provider=serve_provider)
    return Workspace(name, deployer, (load_record(name) or {}).get("run_id") or "manual")
