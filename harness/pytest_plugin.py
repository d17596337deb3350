"""The pytest plugin (entry point `pytest11`): options, fixtures, and teardown that always runs.

Options: the target options shared with the CLI (harness/options.py: --target,
--endpoint, --region, --profile, --backend, --lock-timeout, --stack-var), plus
--workspace NAME (use an existing named workspace; no apply unless --apply; never
destroyed), --keep (keep the throwaway workspace), --harness-summary PATH.

The controller reads the options once into a `RunOptions` and a run id; xdist workers
get both through `workerinput`. The run itself (its directory, the shared throwaway stack,
teardown) is `harness.lifecycle.run.Run`; this module only wires it into pytest: fixtures for the
checks, expected failures for a foreign endpoint's known deviations, the summary and
the terminal lines.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.client.readback import S3ReadBack
from harness.client.stack_outputs import StackOutputs
from harness.client.upload_client import UploadClient, for_stack
from harness.errors import HarnessError
from harness.lifecycle.run import (
    ASSUMPTIONS_FILE,
    LEASE_RENEW_SECONDS,
    PHASES_FILE,
    BackgroundDeploy,
    DeployedStack,
    Run,
    missing_workspace,
)
from harness.lifecycle.workspace import load_record, new_run_id, validate_workspace_name
from harness.options import RunOptions, add_localaws_options, add_readiness_options, add_target_options
from harness.plumbing import jsonl
from harness.plumbing.signals import tear_down_on_sigterm
from harness.reporting import timings
from harness.targets import assumptions, deviations

RUN_KEY = pytest.StashKey[Run]()
RESULTS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
STARTED_KEY = pytest.StashKey[float]()
MESSAGES_KEY = pytest.StashKey[list[str]]()
ASSUMPTIONS_KEY = pytest.StashKey[list[dict[str, Any]]]()
PROGRESS_KEY = pytest.StashKey["_PhaseProgress"]()
SESSIONSTART_KEY = pytest.StashKey[float]()
TEARDOWN_KEY = pytest.StashKey[float]()
SPANS_KEY = pytest.StashKey[dict[str, list[tuple[float, float]]]]()
DEPLOY_EARLY_KEY = pytest.StashKey[bool]()
DEPLOY_KEY = pytest.StashKey[BackgroundDeploy]()
TORN_DOWN_KEY = pytest.StashKey[bool]()
WORKERINPUT_KEY = "harness_run"
RUN_ID_ENV = "HARNESS_RUN_ID"  # lets a caller choose the run id (tests that interrupt a run)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "S3 upload API end-to-end harness")
    add_target_options(group.addoption)
    add_readiness_options(group.addoption)
    add_localaws_options(group.addoption)
    group.addoption("--workspace", default=None,
                    help="run against this existing named workspace (never destroyed)")
    group.addoption("--apply", action="store_true", help="with --workspace: apply it first")
    group.addoption("--keep", action="store_true",
                    help="keep the throwaway workspace (prints how to remove it)")
    group.addoption("--harness-summary", default=None,
                    help="write a JSON summary (checks, phase timings, assumptions, versions) here")


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def deploy_at_session_start(config: pytest.Config) -> None:
    """For a checks directory's conftest (`pytest_configure`): every check there needs the stack.

    The controller then applies the throwaway stack as the session starts, in a thread,
    while pytest collects and xdist starts its workers, instead of in the first check
    that asks for it. A conftest is loaded that early only when the command line names
    its directory (`pytest tests/e2e`), so a session of other tests deploys nothing. Not
    with --workspace (a named workspace is only applied on request, by the checks) or
    --collect-only.
    """
    config.stash[DEPLOY_EARLY_KEY] = True


def pytest_configure(config: pytest.Config) -> None:
    if _is_controller(config):
        try:
            options = RunOptions.from_values(lambda name: config.getoption(name), os.environ,
                                             keep=config.getoption("--keep"))
        except HarnessError as exc:
            raise pytest.UsageError(str(exc)) from None
        # A target named on the command line that cannot be used: one clear line, instead
        # of every check erroring with the same message. (The local target starts its own.)
        explicit = config.getoption("--target") or config.getoption("--endpoint")
        name = config.getoption("--workspace")
        if name:
            _check_named_workspace(name, options, bool(explicit))
        if explicit and options.target_kind != "local" and not name:
            try:
                options.target().check_reachable()
            except HarnessError as exc:
                raise pytest.UsageError(f"harness: {exc}") from None
        run = Run(os.environ.get(RUN_ID_ENV) or new_run_id(), options)
        config.stash[RESULTS_KEY] = {}
        config.stash[SPANS_KEY] = {}
        config.stash[STARTED_KEY] = time.time()
        config.pluginmanager.register(_ResultCollector(config.stash[RESULTS_KEY], config.stash[SPANS_KEY]),
                                      "harness-results")
    else:
        data = config.workerinput[WORKERINPUT_KEY]  # type: ignore[attr-defined]  # set by xdist on a worker; pytest's Config does not declare it
        run = Run(data["run_id"], RunOptions.from_json(data["options"]))
    config.stash[RUN_KEY] = run
    tear_down_on_sigterm()


def _check_named_workspace(name: str, options: RunOptions, explicit_target: bool) -> None:
    """--workspace checked as the CLI checks it, in one line: a valid name, and on the local
    target a workspace that exists (its record; other targets are asked when the stack is opened)."""
    try:
        validate_workspace_name(name)
        if not explicit_target and options.target_kind == "local" and load_record(name) is None:
            raise missing_workspace(name)
    except HarnessError as exc:
        raise pytest.UsageError(f"harness: {exc}") from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's run id and options to each worker."""
    run = node.config.stash[RUN_KEY]
    node.workerinput[WORKERINPUT_KEY] = {"run_id": run.id, "options": run.options.to_json()}


def _run(config: pytest.Config) -> Run:
    return config.stash[RUN_KEY]


@pytest.fixture(scope="session")
def harness_run(pytestconfig: pytest.Config) -> Run:
    return _run(pytestconfig)


@pytest.fixture(scope="session")
def deployed_stack(harness_run: Run, pytestconfig: pytest.Config) -> DeployedStack:
    """The deployed upload stack: a named workspace, or this run's shared throwaway one."""
    name = pytestconfig.getoption("--workspace")
    try:
        if name:
            explicit = bool(pytestconfig.getoption("--target") or pytestconfig.getoption("--endpoint"))
            return harness_run.named_stack(name, pytestconfig.getoption("--apply"), explicit)
        return harness_run.shared_stack()
    except HarnessError as exc:
        if name and _is_controller(pytestconfig):
            # Every check would fail with the same message: say it once and stop the session.
            pytest.exit(f"harness: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def stack_outputs(deployed_stack: DeployedStack) -> StackOutputs:
    return deployed_stack.outputs


@pytest.fixture
def upload_client(deployed_stack: DeployedStack, harness_run: Run) -> UploadClient:
    """The upload client, carrying the API key or a SigV4 signature when the stack's caller check asks for it."""
    outputs = deployed_stack.outputs
    credentials = deployed_stack.target.session().get_credentials() if outputs.authorization == "AWS_IAM" else None
    try:
        return for_stack(outputs, credentials, on_upload=harness_run.record_upload)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)


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
def assumption(harness_run: Run, request: pytest.FixtureRequest) -> Any:
    """`assumption(id, held, observed)`: record what the target did against an unconfirmed AWS behaviour."""

    def observe(assumption_id: str, held: bool, observed: str) -> None:
        harness_run.dir.mkdir(parents=True, exist_ok=True)
        assumptions.record(harness_run.file(ASSUMPTIONS_FILE), assumption_id, held, observed, request.node.nodeid)

    return observe


@pytest.fixture
def scratch_bucket(deployed_stack: DeployedStack, harness_run: Run, request: pytest.FixtureRequest) -> Any:
    """A second bucket for this check, tagged with the run, emptied and removed afterwards on every path."""
    created: list[str] = []

    def create() -> str:
        created.append(harness_run.create_scratch_bucket(deployed_stack, request.node.name))
        return created[-1]

    yield create
    for name in created:
        harness_run.remove_scratch(deployed_stack, "bucket", name)


# --- expected failures on foreign endpoints -----------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an endpoint with a deviations profile, the checks its deviations break are expected failures."""
    options = _run(config).options
    profile = deviations.PROFILES.get(options.target_kind)
    if profile is None:
        return
    version = deviations.endpoint_version(options.target().endpoint or "")
    strict = profile.verified_on(version)
    for item in items:
        matched = profile.matching(item.nodeid)
        if matched:
            # Only a check's own verdict is the expected failure; an error reaching the
            # endpoint (or a bug in the check) still fails the run.
            item.add_marker(pytest.mark.xfail(reason=deviations.xfail_reason(profile, matched, version),
                                              strict=strict, raises=(AssertionError, pytest.fail.Exception)))


# --- progress, teardown and summary (controller only) ---------------------------------------


class _PhaseProgress(threading.Thread):
    """Prints each Terraform phase as it finishes, whichever process ran it; renews the run's lease."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__(daemon=True, name="harness-progress")
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.harness_run = _run(config)
        self.phases_file = self.harness_run.file(PHASES_FILE)
        self.stopped = threading.Event()
        self.seen = 0

    def poll(self) -> None:
        if self.reporter is None or not self.phases_file.exists():
            return
        items = jsonl.read(self.phases_file)
        for item in items[self.seen:]:
            self.reporter.ensure_newline()
            self.reporter.write_line(f"harness: terraform {item['phase']} finished in {item['seconds']:.2f}s")
        self.seen = len(items)

    def run(self) -> None:
        renewed = time.monotonic()
        while not self.stopped.wait(0.25):
            try:
                self.poll()
                if time.monotonic() - renewed > LEASE_RENEW_SECONDS:
                    renewed = time.monotonic()
                    self.harness_run.renew_lease()
            except Exception:  # progress and lease renewal must never end the session
                continue

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=2)
        self.poll()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if not _is_controller(config):
        return
    config.stash[SESSIONSTART_KEY] = time.time()
    progress = _PhaseProgress(config)
    config.stash[PROGRESS_KEY] = progress
    progress.start()
    # Sessions that run no check deploy nothing: listing, fixtures, setup plans.
    runs_no_check = any(getattr(config.option, name, False)
                        for name in ("collectonly", "showfixtures", "show_fixtures_per_test", "setupplan"))
    if config.stash.get(DEPLOY_EARLY_KEY, False) and not config.getoption("--workspace") and not runs_no_check:
        config.stash[DEPLOY_KEY] = _run(config).deploy_in_background()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The moment this process (a worker, or the only process) is ready to run checks: worker start-up ends."""
    run = _run(session.config)
    if not _is_controller(session.config) or session.config.pluginmanager.get_plugin("dsession") is None:
        run.record_timing("collected")


class _ResultCollector:
    """Each check's outcome and duration, as the controller sees the reports (xdist or not)."""

    def __init__(self, results: dict[str, dict[str, Any]], spans: dict[str, list[tuple[float, float]]]) -> None:
        self.results = results
        self.spans = spans

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.spans.setdefault(report.nodeid, []).append((report.start, report.stop))
        entry = self.results.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
        entry["seconds"] = round(entry["seconds"] + report.duration, 3)
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and hasattr(report, "wasxfail") and entry["outcome"] != "failed":
            entry["outcome"] = "xfailed"
            entry["reason"] = report.wasxfail
        elif report.skipped and entry["outcome"] != "failed":
            entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _is_controller(config):
        return
    run = _run(config)
    messages: list[str] = []
    destroyed = False
    teardown_started = time.perf_counter()
    config.stash[TORN_DOWN_KEY] = True
    try:
        _finish_deploy(config, stop=exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.NO_TESTS_COLLECTED))
        destroyed = run.teardown(messages)
        if any(message.startswith("teardown failed") for message in messages):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    except KeyboardInterrupt:
        if not any("still there" in message for message in messages):
            messages.append("teardown interrupted: run `harness sweep` to remove what is left")
    finally:
        config.stash[TEARDOWN_KEY] = time.perf_counter() - teardown_started
        progress = config.stash.get(PROGRESS_KEY, None)
        if progress is not None:
            progress.stop()
        config.stash[ASSUMPTIONS_KEY] = assumptions.outcomes(run.file(ASSUMPTIONS_FILE), run.target_kind())
        if run.dir.exists() and not run.options.keep:
            _write_summary(config, run)
        run.remove_directory(destroyed)
        config.stash[MESSAGES_KEY] = messages


def _finish_deploy(config: pytest.Config, stop: bool) -> None:
    """Wait for the session-start deploy; `stop` it first (interrupted, or nothing ran that needs it).

    A Ctrl-C while waiting for it stops it (one SIGINT per Terraform command) rather
    than skipping the teardown that follows.
    """
    deploy = config.stash.get(DEPLOY_KEY, None)
    if deploy is None:
        return
    try:
        deploy.finish(interrupted=stop)
    except KeyboardInterrupt:
        deploy.finish(interrupted=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    """If the session never reached its finish (a later session-start hook failed, or Ctrl-C came while xdist
    started its workers), the session-start deploy is still stopped and torn down here."""
    if not _is_controller(config) or DEPLOY_KEY not in config.stash or config.stash.get(TORN_DOWN_KEY, False):
        return
    config.stash[TORN_DOWN_KEY] = True
    run = _run(config)
    messages: list[str] = []
    destroyed = False
    try:
        _finish_deploy(config, stop=True)
        destroyed = run.teardown(messages)
    except KeyboardInterrupt:
        messages.append("teardown interrupted: run `harness sweep` to remove what is left")
    finally:
        progress = config.stash.get(PROGRESS_KEY, None)
        if progress is not None:
            progress.stop()
        run.remove_directory(destroyed)
        for message in messages:
            print(f"harness: {message}", file=sys.stderr, flush=True)


def _write_summary(config: pytest.Config, run: Run) -> None:
    target_path = config.getoption("--harness-summary")
    if not target_path:
        return
    from harness.terraform import toolchain

    results = config.stash[RESULTS_KEY]
    uploads = run.uploads()
    total_bytes, total_seconds = sum(u["bytes"] for u in uploads), sum(u["seconds"] for u in uploads)
    started = config.stash[STARTED_KEY]
    summary = {
        "run_id": run.id,
        "started": started,
        "seconds": round(time.time() - started, 3),
        "versions": toolchain.package_versions(),
        "terraform": toolchain.resolve_terraform().version,
        "target": run.target_kind(),
        "phases": {name: {"count": len(v), "total_seconds": round(sum(v), 3)} for name, v in run.phases().items()},
        "checks": results,
        "uploads": {"count": len(uploads), "bytes": total_bytes, "seconds": round(total_seconds, 3),
                    "MiB_per_s": round(total_bytes / 1048576 / total_seconds, 2) if total_seconds else None},
        "counts": {o: sum(1 for r in results.values() if r["outcome"] == o)
                   for o in ("passed", "failed", "skipped", "xfailed")},
        "assumptions": config.stash[ASSUMPTIONS_KEY],
        "timings": _timings(config, run),
    }
    Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    Path(target_path).write_text(json.dumps(summary, indent=2))


def _timings(config: pytest.Config, run: Run) -> dict[str, Any]:
    """Where this run's time went, and its ratio to the floor (harness/reporting/timings.py)."""
    recorded = run.timings()
    ready_at = recorded.get("stack_ready", [None])[0]
    spans = config.stash[SPANS_KEY]
    born = timings.process_started_at()
    session_started = config.stash.get(SESSIONSTART_KEY, config.stash[STARTED_KEY])
    collected = recorded.get("collected", [])
    longest = max((timings.check_duration(s, ready_at) for s in spans.values()), default=0.0)
    return timings.breakdown(
        wall=time.time() - (born or config.stash[STARTED_KEY]),
        phases=run.phases(), longest_check=longest,
        checks=timings.check_span((span for s in spans.values() for span in s), ready_at),
        teardown=config.stash.get(TEARDOWN_KEY, None),
        process_startup=None if born is None else session_started - born,
        worker_startup=max(collected) - session_started if collected else None,
        toolchain=sum(recorded.get("toolchain", [])) or None,
        provider_start=sum(recorded.get("provider_start", [])) or None,
        splits=run.phase_splits(),
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for message in config.stash.get(MESSAGES_KEY, []):
        terminalreporter.write_line(f"harness: {message}")
    for item in config.stash.get(ASSUMPTIONS_KEY, []):
        if item["outcome"] == assumptions.NOT_RUN:
            continue
        observed = "; ".join(item["observed"])
        terminalreporter.write_line(
            f"harness: assumption {item['id']} (unconfirmed on AWS): {item['meaning']}; observed: {observed}")
