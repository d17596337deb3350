"""The pytest plugin (entry point `pytest11`): options, fixtures, and teardown that always runs.

Options: the target options shared with the CLI (harness/options.py: --target,
--endpoint, --region, --profile, --backend, --lock-timeout, --stack-var), plus
--workspace NAME (use an existing named workspace; no apply unless --apply; never
destroyed), --keep (keep the throwaway workspace), --harness-summary PATH, --harness-run-kind
KIND (what started the run, named with its id and start in the summary and the JUnit report).

`pytest_configure` reads the options once into a `RunOptions` and a run id (xdist workers
get both through `workerinput`) and registers one `HarnessSession` object: its hooks share
its attributes (results, the session-start deploy, the progress thread, the teardown
report), as pytest-xdist's `DSession` does. The run itself (its directory, the shared
throwaway stack, teardown) is `harness.lifecycle.run.Run`; this module only wires it into
pytest: fixtures for the checks, expected failures for a foreign endpoint's known
deviations, the summary, and the lines a person reads on the terminal.

The `upload_client` fixture records each answer's request ids in the running check's user
properties; at the session's end, before teardown, the controller looks up the access-log
lines of the failed checks' requests once (harness/client/access_logs.py) and adds them to
the terminal, the summary and the JUnit report. A session without a failed check looks
nothing up.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.client import access_logs
from harness.client.readback import S3ReadBack
from harness.client.stack_outputs import StackOutputs
from harness.client.upload_client import RequestIds, UploadClient, for_stack
from harness.errors import HarnessError
from harness.lifecycle.run import (
    ASSUMPTIONS_FILE,
    LEASE_RENEW_SECONDS,
    PHASES_FILE,
    READY_PHASE,
    BackgroundDeploy,
    DeployedStack,
    Run,
    StackWaitInterrupted,
    TeardownInterrupted,
    TeardownReport,
    missing_workspace,
)
from harness.lifecycle.workspace import load_record, new_run_id, validate_workspace_name
from harness.options import RunOptions, add_localaws_options, add_readiness_options, add_target_options
from harness.plumbing import jsonl
from harness.plumbing.signals import tear_down_on_sigterm
from harness.reporting import junit, runs, timings
from harness.targets import assumptions, deviations

PLUGIN_NAME = "harness-session"
WORKERINPUT_KEY = "harness_run"
RUN_ID_ENV = "HARNESS_RUN_ID"  # lets a caller choose the run id (tests that interrupt a run)
# Set by a checks directory's conftest, whose `pytest_configure` may run before ours.
DEPLOY_EARLY_KEY = pytest.StashKey[bool]()
# A check's answers as the upload client saw them (RequestIds.to_json), in its user properties:
# they travel with its reports to the controller (xdist too) and into the JUnit report.
REQUEST_PROPERTY = "harness_request"
ACCESS_LOG_PROPERTY = "harness_access_log"
# Requests recorded per check: a check that sends more (concurrency, rate limits) keeps its first ones.
MAX_RECORDED_REQUESTS = 200


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
    group.addoption("--harness-run-kind", default=runs.DEFAULT_KIND,
                    help="what started this session, named in its reports (e2e, nightly, localstack, bench)")


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
    controller = not hasattr(config, "workerinput")
    if controller:
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
    else:
        data = config.workerinput[WORKERINPUT_KEY]  # type: ignore[attr-defined]  # set by xdist on a worker; pytest's Config does not declare it
        run = Run(data["run_id"], RunOptions.from_json(data["options"]))
    config.pluginmanager.register(HarnessSession(config, run, controller), PLUGIN_NAME)
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


def exit_status(status: int, report: TeardownReport) -> int:
    """The session's exit status once its run is torn down (the typed report decides, not its wording).

    A session that passed, or collected nothing, fails when its teardown failed and counts
    as interrupted when a Ctrl-C cut the teardown short. Any other status already says the
    session did not pass, and stays.
    """
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return status
    if report.interrupted:
        return pytest.ExitCode.INTERRUPTED
    if report.failed:
        return pytest.ExitCode.TESTS_FAILED
    return status


def phase_line(phase: str, seconds: float) -> str:
    """A progress line says what it timed: a Terraform command, or the readiness gate (which is not one)."""
    if phase == READY_PHASE:
        return f"the API answered as intended after {seconds:.2f}s"
    return f"terraform {phase} took {seconds:.2f}s"


def ending_line(run_id: str, report: TeardownReport, directory_left: bool, interrupted: bool = True) -> str:
    """The last line of a session that did not finish: what its teardown cleaned up, and what is still there."""
    parts = ["interrupted" if interrupted else "the session ended before its finish"]
    if report.removed:
        parts.append(f"cleaned up {', '.join(report.removed)}")
    if report.left:
        parts.append(f"still there: {'; '.join(report.left)}")
    elif directory_left:
        parts.append(f"its run directory is left: `harness sweep --run-id {run_id}` removes it")
    else:
        parts.append(f"nothing of run {run_id} is left")
    return "; ".join(parts)


class HarnessSession:
    """The harness in one pytest process (the controller, an xdist worker, or the only process).

    Registered as a plugin at configure. The controller alone deploys at session start,
    says progress, collects results and tears the run down, once, through `tear_down`.
    """

    def __init__(self, config: pytest.Config, run: Run, controller: bool) -> None:
        self.config = config
        self.run = run
        self.controller = controller
        self.named_workspace: str | None = config.getoption("--workspace")
        self.apply_named: bool = config.getoption("--apply")
        self.explicit_target = bool(config.getoption("--target") or config.getoption("--endpoint"))
        self.summary_path: str | None = config.getoption("--harness-summary")
        self.kind: str = config.getoption("--harness-run-kind")
        self.exitstatus: int | None = None
        self.started = time.time()
        self.session_started: float | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, list[RequestIds]] = {}  # each check's answers, from its reports
        self.access_log: dict[str, access_logs.CheckLog] = {}  # failed checks' lines, fetched at the end
        self.access_log_problem: str | None = None  # why they could not be fetched
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self.deploy: BackgroundDeploy | None = None
        self.progress: _Progress | None = None
        self.report: TeardownReport | None = None  # set once `tear_down` has begun: it runs once
        self.interrupted = False
        self.teardown_seconds: float | None = None
        self.assumptions: list[dict[str, Any]] = []
        self._terminal = threading.Lock()
        self._holding = False
        self._held: list[str] = []

    # --- the terminal ---------------------------------------------------------------------

    def say(self, line: str) -> None:
        """A `harness:` line on the terminal, on a line of its own; from any thread.

        While this process collects or runs checks, the line waits for the end of the step
        under way: pytest captures the terminal into a check's output (which a passing
        check's report drops), and a check's progress letters continue its file's line.
        """
        with self._terminal:
            if self._holding:
                self._held.append(line)
            else:
                self._write([line])

    def _write(self, lines: list[str], nodeid: str | None = None) -> None:
        """`lines` on lines of their own; then, with `nodeid`, that check's file name to continue its progress."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            for line in lines:
                print(f"harness: {line}", file=sys.stderr, flush=True)
            return
        reporter.ensure_newline()
        # ensure_newline knows only the lines pytest starts with a file name; xdist's progress
        # (".....  [100%]") has none, so the writer's own column decides.
        if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
            reporter.line("")
        if nodeid is not None and reporter.showfspath and not reporter.showlongtestinfo:
            # Progress letters are written after the file name pytest printed when the check
            # started: print it again (its own newline ends the last harness line).
            reporter.write("\n".join(f"harness: {line}" for line in lines))
            reporter.write_fspath_result(nodeid, "")
            return
        for line in lines:
            reporter.write_line(f"harness: {line}")

    def _flush(self, nodeid: str | None = None) -> None:
        with self._terminal:
            held, self._held = self._held, []
            if held:
                self._write(held, nodeid)

    @contextlib.contextmanager
    def _held_back(self) -> Iterator[None]:
        with self._terminal:
            self._holding = True
        try:
            yield
        finally:
            with self._terminal:
                self._holding = False
            self._flush()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self) -> Generator[None, object, object]:
        with self._held_back():
            return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self) -> Generator[None, object, object]:
        if self.config.pluginmanager.get_plugin("dsession") is not None:
            return (yield)  # the xdist controller runs no check: its lines go out as they come
        with self._held_back():
            return (yield)

    def _check_step(self, item: pytest.Item) -> Generator[None, None, None]:
        """A check's setup, call or teardown: the lines held back go out when it ends."""
        nodeid: str | None = item.nodeid
        try:
            return (yield)
        except (KeyboardInterrupt, pytest.exit.Exception):
            nodeid = None  # the session ends here: no progress letter follows on the check's line
            raise
        finally:
            self._flush(nodeid)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        return (yield from self._check_step(item))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        return (yield from self._check_step(item))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        return (yield from self._check_step(item))

    # --- xdist, collection, the stack -------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist: hand the controller's run id and options to each worker."""
        node.workerinput[WORKERINPUT_KEY] = {"run_id": self.run.id, "options": self.run.options.to_json()}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """On an endpoint with a deviations profile, the checks its deviations break are expected failures."""
        options = self.run.options
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

    def pytest_collection_finish(self) -> None:
        """The moment this process (a worker, or the only process) is ready to run checks: worker start-up ends."""
        if not self.controller or self.config.pluginmanager.get_plugin("dsession") is None:
            self.run.record_timing("collected")

    def deployed_stack(self) -> DeployedStack:
        """A named workspace, or this run's shared throwaway stack (for the `deployed_stack` fixture)."""
        try:
            if self.named_workspace:
                stack = self.run.named_stack(self.named_workspace, self.apply_named, self.explicit_target)
            else:
                stack = self.run.shared_stack()
            if self.progress is not None:
                self.progress.poll()  # the stack's lines before the first check's progress letter
            return stack
        except StackWaitInterrupted as exc:
            if not self.controller:
                raise
            # Ends the session as a Ctrl-C does, reported by the harness, not by the lock's code.
            pytest.exit(f"harness: {exc}", returncode=pytest.ExitCode.INTERRUPTED)
        except HarnessError as exc:
            if self.named_workspace and self.controller:
                # Every check would fail with the same message: say it once and stop the session.
                pytest.exit(f"harness: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
            pytest.fail(str(exc), pytrace=False)

    # --- the session (controller only) -------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if not self.controller:
            return
        self.session_started = time.time()
        self.progress = _Progress(self.run, self.say)
        self.progress.start()
        # Sessions that run no check deploy nothing: listing, fixtures, setup plans.
        runs_no_check = any(getattr(self.config.option, name, False)
                            for name in ("collectonly", "showfixtures", "show_fixtures_per_test", "setupplan"))
        if self.config.stash.get(DEPLOY_EARLY_KEY, False) and not self.named_workspace and not runs_no_check:
            self.deploy = self.run.deploy_in_background()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Each check's outcome and duration, as the controller sees the reports (xdist or not)."""
        if not self.controller:
            return
        self.spans.setdefault(report.nodeid, []).append((report.start, report.stop))
        recorded = [RequestIds.from_json(str(value)) for name, value in report.user_properties
                    if name == REQUEST_PROPERTY]
        if recorded:  # each phase's report carries the check's properties so far
            self.requests[report.nodeid] = recorded
        entry = self.results.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
        entry["seconds"] = round(entry["seconds"] + report.duration, 3)
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and hasattr(report, "wasxfail") and entry["outcome"] != "failed":
            entry["outcome"] = "xfailed"
            entry["reason"] = report.wasxfail
        elif report.skipped and entry["outcome"] != "failed":
            entry["outcome"] = "skipped"

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
        """Tear down before every other plugin finishes (the summary is written then); once the
        JUnit report is written (junitxml's own finish), name the run in it."""
        if not self.controller:
            return (yield)
        stop = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.NO_TESTS_COLLECTED)
        self.interrupted = self.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        self.exitstatus = int(exitstatus)
        if not stop:
            self._fetch_access_log()
        report = self.tear_down(stop=stop, session_finished=True)
        self.interrupted = self.interrupted or report.interrupted
        session.exitstatus = exit_status(session.exitstatus, report)
        self.exitstatus = int(session.exitstatus)
        try:
            return (yield)
        finally:
            self._annotate_junit()

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """A Ctrl-C or SIGTERM, or a `pytest.exit` that ends the session as one (also before its finish)."""
        exc = excinfo.value
        if isinstance(exc, KeyboardInterrupt) or (
                isinstance(exc, pytest.exit.Exception) and exc.returncode == pytest.ExitCode.INTERRUPTED):
            self.interrupted = True

    def pytest_terminal_summary(self, exitstatus: int) -> None:
        if not self.controller:
            return
        for nodeid, lines in self._access_log_text().items():
            self.say(f"access log of {nodeid}:")
            for line in lines:
                self.say(f"  {line}")
        if self.report is not None and not self.interrupted:
            for message in self.report.messages:
                self.say(message)
        for item in self.assumptions:
            if item["outcome"] == assumptions.NOT_RUN:
                continue
            observed = "; ".join(item["observed"])
            self.say(f"assumption {item['id']} (unconfirmed on AWS): {item['meaning']}; observed: {observed}")

    def pytest_unconfigure(self) -> None:
        """An interrupted session ends with the harness's lines, after pytest's: what its teardown cleaned up,
        what is left.

        A session that never reached its finish (a later session-start hook failed, or Ctrl-C
        came while xdist started its workers) is torn down here.
        """
        if not self.controller or self.session_started is None:
            return
        reached_finish = self.report is not None
        report = self.tear_down(stop=True, session_finished=False)
        if reached_finish and not self.interrupted:
            return
        for message in report.messages:
            self.say(message)
        self.say(ending_line(self.run.id, report, self.run.dir.exists(), self.interrupted or report.interrupted))

    def tear_down(self, stop: bool, session_finished: bool) -> TeardownReport:
        """The one end of the run: finish (or `stop`) the session-start deploy, tear the run down,
        stop the progress thread, write the summary (`session_finished`), remove the run directory.

        Called from the session's finish and from unconfigure; runs once, and a second call
        returns the first one's report.
        """
        if self.report is not None:
            return self.report
        self.report = TeardownReport()
        started = time.perf_counter()
        try:
            self._finish_deploy(stop)
            self.report = self.run.teardown()
        except TeardownInterrupted as exc:
            self.report = exc.report
        except KeyboardInterrupt:  # a second Ctrl-C while the deploy was being stopped: no teardown ran
            self.report.interrupt(self.run.id)
        finally:
            self.teardown_seconds = time.perf_counter() - started
            if self.progress is not None:
                self.progress.stop()
            if session_finished:
                self.assumptions = assumptions.outcomes(self.run.file(ASSUMPTIONS_FILE), self.run.target_kind())
                if self.run.dir.exists() and not self.run.options.keep:
                    self._write_summary()
            self.run.remove_directory(self.report.destroyed)
        return self.report

    def _finish_deploy(self, stop: bool) -> None:
        """Wait for the session-start deploy; `stop` it first (interrupted, or nothing ran that needs it).

        A Ctrl-C while waiting for it stops it (one SIGINT per Terraform command) rather
        than skipping the teardown that follows.
        """
        if self.deploy is None:
            return
        try:
            self.deploy.finish(interrupted=stop)
        except KeyboardInterrupt:
            self.deploy.finish(interrupted=True)

    # --- the summary ------------------------------------------------------------------------

    def identity(self) -> runs.RunIdentity:
        """This session's run as its reports name it: id, kind, start, and how it ended (so far)."""
        status = self.exitstatus
        if status is not None and self.report is not None:
            status = exit_status(status, self.report)
        return runs.RunIdentity(self.run.id, self.kind, self.started,
                                runs.status_from_exit(status, self.interrupted))

    def _annotate_junit(self) -> None:
        """The JUnit report (--junitxml) names its run in suite properties; a failed check gets its access-log lines."""
        path = self.config.getoption("xmlpath", None)
        if not path or not Path(path).exists():
            return
        cases = {nodeid: junit.CaseNotes([(ACCESS_LOG_PROPERTY, line) for line in lines],
                                         "API Gateway access log of this check's requests:\n" + "\n".join(lines))
                 for nodeid, lines in self._access_log_text().items()}
        junit.annotate(Path(path), junit.run_properties(self.identity()), cases)

    # --- the access log of failed checks ----------------------------------------------------

    def _failed_requests(self) -> dict[str, list[RequestIds]]:
        return {nodeid: self.requests.get(nodeid, []) for nodeid, result in self.results.items()
                if result["outcome"] == "failed"}

    def _fetch_access_log(self) -> None:
        """Once, before the stack is destroyed: the access-log lines of every failed check's requests,
        with one bounded wait for all (harness/client/access_logs.py). A run without a failed
        check that sent a request makes no lookup at all."""
        wanted = {nodeid: requests for nodeid, requests in self._failed_requests().items() if requests}
        if not wanted:
            return
        try:
            stack = (self.run.named_stack(self.named_workspace, False, self.explicit_target)
                     if self.named_workspace else self.run.recorded_stack())
            if stack is None:
                self.access_log_problem = "the stack was never deployed"
                return
            why_none = deviations.no_access_log_lines(stack.target.kind)
            if why_none is not None:
                self.access_log_problem = f"no access-log line: {why_none}"
                return
            group = access_logs.log_group(stack.outputs.values, stack.workspace)
            self.access_log = access_logs.lines_for_requests(stack.client("logs"), group, wanted, self.started)
        except Exception as exc:  # a report's extra must never fail the session; it says what went wrong
            self.access_log_problem = f"access-log lines not fetched: {str(exc).splitlines()[0] if str(exc) else exc!r}"

    def _access_log_text(self) -> dict[str, list[str]]:
        """Each failed check's access-log lines for a person (or why there are none); a check that sent no
        request through the upload client has none to show."""
        shown = {}
        for nodeid, requests in self._failed_requests().items():
            if nodeid in self.access_log:
                shown[nodeid] = self.access_log[nodeid].text_lines()
            elif requests and self.access_log_problem:
                shown[nodeid] = [self.access_log_problem]
        return shown

    def _write_summary(self) -> None:
        if not self.summary_path:
            return
        from harness.terraform import toolchain

        run, results = self.run, self.results
        for nodeid, lines in self._access_log_text().items():
            found = self.access_log.get(nodeid)
            results[nodeid]["access_log"] = found.to_json() if found else [{"text": line} for line in lines]
        uploads = run.uploads()
        total_bytes, total_seconds = sum(u["bytes"] for u in uploads), sum(u["seconds"] for u in uploads)
        summary = {
            "run": self.identity().to_dict(),
            "run_id": run.id,
            "started": self.started,
            "seconds": round(time.time() - self.started, 3),
            "versions": toolchain.package_versions(),
            "terraform": toolchain.resolve_terraform().version,
            "target": run.target_kind(),
            "phases": {name: {"count": len(v), "total_seconds": round(sum(v), 3)} for name, v in run.phases().items()},
            "checks": results,
            "uploads": {"count": len(uploads), "bytes": total_bytes, "seconds": round(total_seconds, 3),
                        "MiB_per_s": round(total_bytes / 1048576 / total_seconds, 2) if total_seconds else None},
            "counts": {o: sum(1 for r in results.values() if r["outcome"] == o)
                       for o in ("passed", "failed", "skipped", "xfailed")},
            "assumptions": self.assumptions,
            "timings": self._timings(),
        }
        Path(self.summary_path).parent.mkdir(parents=True, exist_ok=True)
        Path(self.summary_path).write_text(json.dumps(summary, indent=2))

    def _timings(self) -> dict[str, Any]:
        """Where this run's time went, and its ratio to the floor (harness/reporting/timings.py)."""
        run = self.run
        recorded = run.timings()
        ready_at = recorded.get("stack_ready", [None])[0]
        born = timings.process_started_at()
        session_started = self.session_started or self.started
        collected = recorded.get("collected", [])
        longest = max((timings.check_duration(s, ready_at) for s in self.spans.values()), default=0.0)
        return timings.breakdown(
            wall=time.time() - (born or self.started),
            phases=run.phases(), longest_check=longest,
            checks=timings.check_span((span for s in self.spans.values() for span in s), ready_at),
            teardown=self.teardown_seconds,
            process_startup=None if born is None else session_started - born,
            worker_startup=max(collected) - session_started if collected else None,
            toolchain=sum(recorded.get("toolchain", [])) or None,
            provider_start=sum(recorded.get("provider_start", [])) or None,
            splits=run.phase_splits(),
        )


class _Progress(threading.Thread):
    """Says each Terraform command and the readiness gate as they finish, whichever process ran them;
    renews the run's lease."""

    def __init__(self, run: Run, say: Callable[[str], None]) -> None:
        super().__init__(daemon=True, name="harness-progress")
        self.harness_run = run
        self.say = say
        self.phases_file = run.file(PHASES_FILE)
        self.stopped = threading.Event()
        self.seen = 0
        self.polling = threading.Lock()  # polled by the thread and, when the stack is ready, by the session

    def poll(self) -> None:
        with self.polling:
            if not self.phases_file.exists():
                return
            items = jsonl.read(self.phases_file)
            for item in items[self.seen:]:
                self.say(phase_line(item["phase"], item["seconds"]))
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


# --- fixtures -------------------------------------------------------------------------------
# Module-level: pytest deprecates session-scoped fixtures defined as methods. Each asks the
# session object for what it holds.


def _session(config: pytest.Config) -> HarnessSession:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if not isinstance(plugin, HarnessSession):  # registered by pytest_configure, before any fixture runs
        raise RuntimeError(f"the {PLUGIN_NAME} plugin is not registered")
    return plugin


@pytest.fixture(scope="session")
def harness_run(pytestconfig: pytest.Config) -> Run:
    return _session(pytestconfig).run


@pytest.fixture(scope="session")
def deployed_stack(pytestconfig: pytest.Config) -> DeployedStack:
    """The deployed upload stack: a named workspace, or this run's shared throwaway one."""
    return _session(pytestconfig).deployed_stack()


@pytest.fixture(scope="session")
def stack_outputs(deployed_stack: DeployedStack) -> StackOutputs:
    return deployed_stack.outputs


@pytest.fixture
def upload_client(deployed_stack: DeployedStack, harness_run: Run, request: pytest.FixtureRequest) -> UploadClient:
    """The upload client, carrying the API key or a SigV4 signature when the stack's caller check asks for it.

    Each answer's request ids go into the check's own record (its user properties), which
    its reports carry to the controller: a failed check's access-log lines are found by them.
    """
    outputs = deployed_stack.outputs
    credentials = deployed_stack.target.session().get_credentials() if outputs.authorization == "AWS_IAM" else None
    properties = request.node.user_properties

    def record(ids: RequestIds) -> None:
        if sum(1 for name, _ in properties if name == REQUEST_PROPERTY) < MAX_RECORDED_REQUESTS:
            properties.append((REQUEST_PROPERTY, ids.to_json()))

    try:
        return for_stack(outputs, credentials, on_upload=harness_run.record_upload, on_response=record)
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
