"""The pytest plugin (entry point `pytest11`): options, fixtures, and teardown that always runs.

Options: --target local|endpoint|aws, --endpoint URL, --region, --profile, --backend
s3://BUCKET/KEY and --lock-timeout (shared state with native lock files),
--workspace NAME (use an existing named workspace; no apply unless --apply; never
destroyed), --keep (keep the throwaway workspace), --harness-summary PATH.

One shared throwaway workspace per run, not one per xdist worker: an apply costs
seconds and the checks never share keys (each test writes under its own unique key),
so one stack serves every worker and `-n 4` does not pay four applies and four
destroys. The first worker that needs the stack applies it under a file lock in the
run directory; the others wait and read its outputs. The controller process (or the
only process, without xdist) destroys it at session end, on success, failure, Ctrl-C
or SIGTERM, and stops the local AWS it started.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from harness import assumptions, backend, deviations, paths, scratch
from harness.checks import S3ReadBack
from harness.errors import HarnessError
from harness.localaws import process as localaws_process
from harness.targets import Target
from harness.upload_client import UploadClient
from harness.workspace import (
    LOCK_TIMEOUT_ENV,
    Deployer,
    StackOutputs,
    Workspace,
    load_record,
    new_run_id,
    parse_stack_vars,
    save_record,
    tear_down_on_sigterm,
    teardown,
    throwaway_name,
)

SHARED_WORKER = "main"
SCRATCH_REGISTRY = "scratch.jsonl"
ASSUMPTION_LOG = "assumptions.jsonl"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "S3 upload API end-to-end harness")
    group.addoption("--target", default=None, choices=("local", "endpoint", "localstack", "aws"),
                    help="where to deploy: local (default, embedded local AWS), endpoint, aws")
    group.addoption("--endpoint", default=None, help="endpoint URL for --target endpoint")
    group.addoption("--region", default=None, help="AWS region (default us-east-1)")
    group.addoption("--profile", default=None, help="AWS profile for --target aws")
    group.addoption("--workspace", default=None,
                    help="run against this existing named workspace (never destroyed)")
    group.addoption("--apply", action="store_true", help="with --workspace: apply it first")
    group.addoption("--backend", default=None, metavar="s3://BUCKET/KEY",
                    help="keep state in S3 with a native lock file (Terraform >= 1.10), e.g. to share "
                         "named workspaces between CI runners; default: local state (or HARNESS_BACKEND)")
    group.addoption("--lock-timeout", default=None, metavar="DURATION",
                    help="wait this long (e.g. 5m) for another run's state lock instead of failing")
    group.addoption("--keep", action="store_true",
                    help="keep the throwaway workspace (prints how to remove it)")
    group.addoption("--stack-var", action="append", default=[], metavar="NAME=JSON",
                    help="extra stack variable for the throwaway stack, e.g. "
                         "binary_media_types=[] (tests of broken variants use it)")
    group.addoption("--harness-summary", default=None,
                    help="write a JSON summary (checks, phase timings, versions) here")


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_controller(config):
        # Workers inherit the environment, so they join this run's directory.
        run_id = os.environ.get("HARNESS_RUN_ID") or new_run_id()
        os.environ["HARNESS_RUN_ID"] = run_id
        run_dir = paths.runs_dir() / run_id
        os.environ["HARNESS_RUN_DIR"] = str(run_dir)
        # Workers and every Deployer read these from the environment.
        if config.getoption("--backend"):
            try:
                os.environ[backend.BACKEND_ENV] = backend.S3Backend.parse(config.getoption("--backend")).url
            except HarnessError as exc:
                raise pytest.UsageError(str(exc)) from None
        if config.getoption("--lock-timeout"):
            os.environ[LOCK_TIMEOUT_ENV] = config.getoption("--lock-timeout")
        config._harness_results = {}  # type: ignore[attr-defined]
        config._harness_started = time.time()  # type: ignore[attr-defined]
    tear_down_on_sigterm()


def _run_dir() -> Path:
    return Path(os.environ["HARNESS_RUN_DIR"])


def _target_from_options(config: pytest.Config) -> Target:
    kind = config.getoption("--target") or ("endpoint" if config.getoption("--endpoint") else "local")
    return Target(kind, config.getoption("--endpoint"), config.getoption("--region") or "us-east-1",
                  config.getoption("--profile"))


def _stack_vars(config: pytest.Config) -> dict[str, Any]:
    return parse_stack_vars(config.getoption("--stack-var"))


def _record_phase(name: str, seconds: float) -> None:
    try:
        with (_run_dir() / "phases.jsonl").open("a") as handle:
            handle.write(json.dumps({"phase": name, "seconds": round(seconds, 3)}) + "\n")
    except OSError:
        pass


class DeployedStack:
    """What the fixtures hand to checks: target, outputs and client factories."""

    def __init__(self, target: Target, outputs: StackOutputs, workspace: str) -> None:
        self.target = target
        self.outputs = outputs
        self.workspace = workspace

    def client(self, service: str) -> Any:
        return self.target.client(service)


def _named_stack(config: pytest.Config, name: str) -> DeployedStack:
    record = load_record(name)
    target = Target.from_record(record["target"]) if record else _target_from_options(config)
    if target.kind == "local" and not target.endpoint:
        raise HarnessError(
            f"workspace {name!r} has no running local AWS recorded",
            f"create it with `harness up --workspace {name}` (which keeps a local AWS running)",
        )
    target.check_reachable()
    deployer = Deployer(target, on_command=_record_phase)
    deployer.prepare()
    workspace = Workspace(name, deployer, (record or {}).get("run_id", "manual"))
    if config.getoption("--apply"):
        outputs = workspace.up()
        save_record(name, target, workspace.run_id)
    else:
        if not workspace.exists():
            raise HarnessError(f"workspace {name!r} does not exist",
                               f"create it with `harness up --workspace {name}` or pass --apply")
        outputs = workspace.outputs()
    return DeployedStack(target, outputs, name)


def _shared_throwaway_stack(config: pytest.Config) -> DeployedStack:
    run_dir = _run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(run_dir / "stack.lock"), timeout=900):
        stack_file, error_file = run_dir / "stack.json", run_dir / "stack.error"
        if error_file.exists():
            pytest.fail(f"the shared stack failed to deploy:\n{error_file.read_text()}", pytrace=False)
        if stack_file.exists():
            data = json.loads(stack_file.read_text())
            target = Target.from_record(data["target"])
            return DeployedStack(target, StackOutputs(data["outputs"], data["invoke_url"]),
                                 data["workspace"])
        try:
            target = _target_from_options(config)
            if target.kind == "local":
                server = localaws_process.start(log_file=run_dir / "localaws.log", detach=True)
                server.save(run_dir / "localaws.json")
                target = Target("local", server.endpoint, target.region)
            target.check_reachable()
            run_id = os.environ["HARNESS_RUN_ID"]
            deployer = Deployer(target, on_command=_record_phase)
            deployer.prepare()
            workspace = Workspace(throwaway_name(run_id, SHARED_WORKER), deployer, run_id)
            (run_dir / "workspace.json").write_text(
                json.dumps({"workspace": workspace.name, "target": target.to_record()})
            )
            save_record(workspace.name, target, run_id)
            outputs = workspace.up(_stack_vars(config))
        except BaseException as exc:
            error_file.write_text(str(exc))
            raise
        stack_file.write_text(json.dumps({
            "target": target.to_record(), "outputs": outputs.values,
            "invoke_url": outputs.invoke_url, "workspace": workspace.name,
        }))
        return DeployedStack(target, outputs, workspace.name)


@pytest.fixture(scope="session")
def deployed_stack(pytestconfig: pytest.Config) -> DeployedStack:
    """The deployed upload stack: a named workspace, or this run's shared throwaway one."""
    name = pytestconfig.getoption("--workspace")
    try:
        return _named_stack(pytestconfig, name) if name else _shared_throwaway_stack(pytestconfig)
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def stack_outputs(deployed_stack: DeployedStack) -> StackOutputs:
    return deployed_stack.outputs


def _record_upload(size: int, seconds: float, status: int) -> None:
    if status != 200 or size < 64 * 1024:  # throughput of small bodies is latency, not bandwidth
        return
    try:
        with (_run_dir() / "uploads.jsonl").open("a") as handle:
            handle.write(json.dumps({"bytes": size, "seconds": round(seconds, 6)}) + "\n")
    except OSError:
        pass


@pytest.fixture
def upload_client(deployed_stack: DeployedStack) -> UploadClient:
    return UploadClient(deployed_stack.outputs.invoke_url, deployed_stack.outputs.bucket_name,
                        on_upload=_record_upload)


@pytest.fixture(scope="session")
def s3_client(deployed_stack: DeployedStack) -> Any:
    return deployed_stack.client("s3")


@pytest.fixture(scope="session")
def s3_readback(deployed_stack: DeployedStack, s3_client: Any) -> S3ReadBack:
    return S3ReadBack(s3_client, deployed_stack.outputs.bucket_name)


@pytest.fixture
def object_key(request: pytest.FixtureRequest) -> str:
    """A key no other test (or worker) uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "solo")
    return f"checks/{worker}/{request.node.name[:60]}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def assumption(request: pytest.FixtureRequest) -> Any:
    """`assumption(id, held, observed)`: record what the target did against an unconfirmed AWS behaviour."""

    def observe(assumption_id: str, held: bool, observed: str) -> None:
        assumptions.record(_run_dir() / ASSUMPTION_LOG, assumption_id, held, observed, request.node.nodeid)

    return observe


@pytest.fixture
def scratch_bucket(deployed_stack: DeployedStack, request: pytest.FixtureRequest) -> Any:
    """A second bucket for this check, tagged with the run, emptied and removed afterwards on every path."""
    s3 = deployed_stack.client("s3")
    created: list[str] = []

    def create() -> str:
        name = scratch.create_bucket(s3, deployed_stack.outputs.region, os.environ["HARNESS_RUN_ID"],
                                     deployed_stack.workspace, request.node.name,
                                     _run_dir() / SCRATCH_REGISTRY, deployed_stack.target.to_record())
        created.append(name)
        return name

    yield create
    for name in created:
        scratch.empty_and_delete_bucket(s3, name)


# --- teardown and summary (controller only) ---------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is None or not _is_controller(config):
        return
    results = config._harness_results  # type: ignore[attr-defined]
    entry = results.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
    entry["seconds"] = round(entry["seconds"] + report.duration, 3)
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and hasattr(report, "wasxfail") and entry["outcome"] != "failed":
        entry["outcome"] = "xfailed"
        entry["reason"] = report.wasxfail
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"


_CONFIG: dict[str, pytest.Config] = {}


class _PhaseProgress(threading.Thread):
    """Prints each Terraform phase as it finishes, whichever process ran it (controller only)."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__(daemon=True, name="harness-progress")
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.stopped = threading.Event()
        self.seen = 0

    def poll(self) -> None:
        phases_file = _run_dir() / "phases.jsonl"
        if self.reporter is None or not phases_file.exists():
            return
        lines = phases_file.read_text().splitlines()
        for line in lines[self.seen:]:
            item = json.loads(line)
            self.reporter.ensure_newline()
            self.reporter.write_line(f"harness: terraform {item['phase']} finished in {item['seconds']:.2f}s")
        self.seen = len(lines)

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            try:
                self.poll()
            except (OSError, ValueError):
                continue

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=2)
        self.poll()


def _explicit_target(config: pytest.Config) -> Target | None:
    """The target named on the command line, if any (the local target starts its own server)."""
    if not (config.getoption("--target") or config.getoption("--endpoint")) or config.getoption("--workspace"):
        return None
    target = _target_from_options(config)
    return None if target.kind == "local" else target


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an endpoint with a deviations profile, the checks its deviations break are expected failures."""
    kind = config.getoption("--target")
    profile = deviations.PROFILES.get(kind or "")
    if profile is None:
        return
    version = deviations.endpoint_version(_target_from_options(config).endpoint or "")
    strict = profile.verified_on(version)
    for item in items:
        matched = profile.matching(item.nodeid)
        if matched:
            item.add_marker(pytest.mark.xfail(reason=deviations.xfail_reason(profile, matched, version),
                                              strict=strict, raises=AssertionError))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config
    if _is_controller(session.config):
        # One clear line when the named target cannot be used, instead of every check
        # erroring with the same message.
        try:
            target = _explicit_target(session.config)
            if target is not None:
                target.check_reachable()
        except HarnessError as exc:
            pytest.exit(f"harness: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        progress = _PhaseProgress(session.config)
        session.config._harness_progress = progress  # type: ignore[attr-defined]
        progress.start()


def _teardown_run(config: pytest.Config, messages: list[str]) -> None:
    """Destroy the run's throwaway workspace and stop its local AWS; say what happened in `messages`."""
    run_dir = _run_dir()
    workspace_file = run_dir / "workspace.json"
    server = localaws_process.LocalAwsProcess.load(run_dir / "localaws.json")
    keep = config.getoption("--keep")
    # Scratch buckets first (a worker killed mid-check never removed its own), whether or
    # not the stack is kept: they belong to checks, not to the stack.
    try:
        removed = scratch.remove_registered(
            run_dir / SCRATCH_REGISTRY,
            lambda where: (Target.from_record(where) if where else _target_from_options(config)).client("s3"))
    except Exception as exc:  # botocore's errors: say so, and still tear the stack down
        removed = []
        messages.append(f"teardown failed: a scratch bucket of this run could not be removed ({exc}); remove it "
                        f"with `harness sweep --run-id {run_dir.name} --older-than 0s --target ...`")
    if removed:
        messages.append(f"removed {len(removed)} scratch bucket(s) a check left: {', '.join(removed)}")
    if workspace_file.exists():
        data = json.loads(workspace_file.read_text())
        target = Target.from_record(data["target"])
        if keep:
            messages.append(
                f"kept workspace {data['workspace']} on {target.describe()}; remove it with: "
                f"harness down --workspace {data['workspace']}"
                + ("  (the local AWS keeps running for it)" if server else "")
            )
            return
        deployer = Deployer(target, on_command=_record_phase)
        deployer.prepare()
        workspace = Workspace(data["workspace"], deployer, os.environ["HARNESS_RUN_ID"])
        teardown(workspace, _stack_vars(config), log=messages.append)
        messages.append(f"destroyed and deleted workspace {workspace.name}")
    if server and not keep:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _is_controller(config):
        return
    messages: list[str] = []
    progress = getattr(config, "_harness_progress", None)
    try:
        _teardown_run(config, messages)
        if any(message.startswith("teardown failed") for message in messages):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if progress is not None:
            progress.stop()
    except KeyboardInterrupt:
        if not any("still there" in message for message in messages):
            messages.append("teardown interrupted: run `harness sweep` to remove what is left")
    except HarnessError as exc:
        messages.append(f"teardown failed: {exc}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        run_dir = _run_dir()
        config._harness_assumptions = assumptions.outcomes(  # type: ignore[attr-defined]
            run_dir / ASSUMPTION_LOG, _run_target_kind(config, run_dir))
        if run_dir.exists() and not config.getoption("--keep"):
            _write_summary(config, run_dir)
            if not (run_dir / "workspace.json").exists() or "destroyed" in " ".join(messages):
                shutil.rmtree(run_dir, ignore_errors=True)
        config._harness_messages = messages  # type: ignore[attr-defined]




def _write_summary(config: pytest.Config, run_dir: Path) -> None:
    target_path = config.getoption("--harness-summary")
    if not target_path:
        return
    from harness import toolchain

    phases: dict[str, list[float]] = {}
    phases_file = run_dir / "phases.jsonl"
    if phases_file.exists():
        for line in phases_file.read_text().splitlines():
            item = json.loads(line)
            phases.setdefault(item["phase"], []).append(item["seconds"])
    results = config._harness_results  # type: ignore[attr-defined]
    uploads = [json.loads(line) for line in (run_dir / "uploads.jsonl").read_text().splitlines()] \
        if (run_dir / "uploads.jsonl").exists() else []
    total_bytes, total_seconds = sum(u["bytes"] for u in uploads), sum(u["seconds"] for u in uploads)
    summary = {
        "run_id": os.environ.get("HARNESS_RUN_ID"),
        "started": config._harness_started,  # type: ignore[attr-defined]
        "seconds": round(time.time() - config._harness_started, 3),  # type: ignore[attr-defined]
        "versions": toolchain.package_versions(),
        "terraform": toolchain.resolve_terraform().version,
        "phases": {name: {"count": len(v), "total_seconds": round(sum(v), 3)} for name, v in phases.items()},
        "checks": results,
        "uploads": {"count": len(uploads), "bytes": total_bytes, "seconds": round(total_seconds, 3),
                    "MiB_per_s": round(total_bytes / 1048576 / total_seconds, 2) if total_seconds else None},
        "counts": {o: sum(1 for r in results.values() if r["outcome"] == o)
                   for o in ("passed", "failed", "skipped", "xfailed")},
        "target": _run_target_kind(config, run_dir),
        "assumptions": config._harness_assumptions,  # type: ignore[attr-defined]
    }
    Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    Path(target_path).write_text(json.dumps(summary, indent=2))


def _run_target_kind(config: pytest.Config, run_dir: Path) -> str:
    for name in ("stack.json", "workspace.json"):
        if (run_dir / name).exists():
            return str(json.loads((run_dir / name).read_text())["target"]["kind"])
    return _target_from_options(config).kind


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for message in getattr(config, "_harness_messages", []):
        terminalreporter.write_line(f"harness: {message}")
    for item in getattr(config, "_harness_assumptions", []):
        if item["outcome"] == assumptions.NOT_RUN:
            continue
        observed = "; ".join(item["observed"])
        terminalreporter.write_line(
            f"harness: assumption {item['id']} (unconfirmed on AWS): {item['meaning']}; observed: {observed}")
