"""The `make test-localstack` job (`harness localstack run-suite`), and the `harness localstack`
commands that install, start, stop and inspect LocalStack.

The job installs LocalStack (harness/targets/localstack/), starts it cold on a free
loopback port, runs the e2e suite with `--target localstack`, a named workspace's
up / drift (clean) / out-of-band tag edit / drift (found) / down, and counts what is left
on the endpoint; one line per step, LocalStack stopped and its files removed on every
path (Ctrl-C and SIGTERM included), exit status non-zero if any step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.plumbing import signals
from harness.targets.localstack.install import VERSION, install, venv_dir
from harness.targets.localstack.leftovers import count_leftovers
from harness.targets.localstack.process import READY_TIMEOUT_SECONDS, LocalStack, start, stop_orphans
from harness.targets.target import Target

CHILD_TEARDOWN_SECONDS = 180.0  # a step's own teardown (terraform destroy) after an interrupt
PROBLEMS_SHOWN = 30  # failed/erroring tests listed under the e2e step; the JUnit file has all


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<14} {self.seconds:7.1f}s  {self.detail}"


def junit_problems(junit: Path) -> list[str]:
    """`nodeid: kind: first line of the message` for each failed or erroring test case."""
    try:
        tree = ET.parse(junit)
    except (OSError, ET.ParseError):
        return []
    problems = []
    for case in tree.iter("testcase"):
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                message = (element.get("message") or element.text or "").strip().splitlines()
                name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
                problems.append(f"{name}: {kind}: {message[0][:200] if message else ''}")
    return problems


def _run(argv: list[str], log: Path) -> tuple[int, str]:
    """Run a step with its output shown and kept; return its exit code and its verdict line.

    The verdict is the last line saying what happened: pytest's `N passed` line, the
    harness's `workspace NAME: ...` line, else the last non-blank line. The step runs in
    its own process group, so a terminal Ctrl-C reaches only this process, which passes
    exactly one SIGINT on (pytest and the harness tear down on the first SIGINT, and a
    second one would cut that teardown short) and waits for the teardown, bounded,
    before LocalStack is stopped.
    """
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        child = subprocess.Popen(argv, cwd=paths.project_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, process_group=0)
        last = b""
        assert child.stdout is not None
        try:
            for line in child.stdout:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
                out.write(line)
                text = line.strip()
                verdict = text.startswith((b"workspace ", b"=", b"destroyed", b"error:")) or b": error:" in text
                if text[:1].isalnum() or verdict:
                    last = text if verdict or not last.startswith((b"workspace ", b"=")) else last
            code = child.wait()
        except BaseException:
            with signals.signals_deferred():
                print(f"waiting up to {CHILD_TEARDOWN_SECONDS:.0f}s for `{' '.join(argv[:4])} ...` to tear down",
                      file=sys.stderr, flush=True)
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(timeout=CHILD_TEARDOWN_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
            raise
    return code, last.decode(errors="replace").strip()


def run_suite(target_kind: str = "localstack", cli_target_kind: str = "localstack", workers: str = "2",
              workspace: str = "ls-drift", cold: bool = False, port: int = 0,
              pytest_args: list[str] | None = None, say: Callable[[str], None] = print) -> int:
    """Install, start, run e2e + up/drift/down + leftover count, stop, remove; 0 only if all passed."""
    reports = paths.reports_dir()
    reports.mkdir(parents=True, exist_ok=True)
    log = reports / "localstack-steps.log"
    log.write_text("")
    bin_dir = Path(sys.executable).parent
    harness_cli = [str(bin_dir / "harness")] if (bin_dir / "harness").exists() else \
        [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]
    steps: list[Step] = []

    def step(name: str, began: float, ok: bool, detail: str) -> None:
        steps.append(Step(name, ok, time.monotonic() - began, detail))
        say(steps[-1].line())

    handle: LocalStack | None = None
    interrupted = False
    with signals.sigterm_as_interrupt():
        try:
            began = time.monotonic()
            try:
                done = install()
                step("install", began, True, f"LocalStack {VERSION} "
                     + ("installed" if done.fresh else "already installed (stamp matches pins)"))
            except HarnessError as exc:
                step("install", began, False, str(exc).replace("\n", " "))
                return _finish(steps, say)
            began = time.monotonic()
            try:
                handle = start(port=port, warm_up=not cold)
            except HarnessError as exc:
                step("start", began, False, str(exc).splitlines()[0])
                say(str(exc))
                return _finish(steps, say)
            warm = ", ".join(f"{k} {v:.2f}s" for k, v in handle.warm_seconds.items()) or "skipped (--cold)"
            step("start", began, True, f"{handle.endpoint} pid {handle.pid}: ready {handle.ready_seconds:.1f}s; "
                 f"first calls: {warm}; RSS {handle.rss_mb():.0f} MB")
            endpoint = handle.endpoint

            began = time.monotonic()
            junit = reports / "localstack-junit.xml"
            junit.unlink(missing_ok=True)
            code, last = _run([sys.executable, "-m", "pytest", "tests/e2e", "-n", workers, "-p", "no:cacheprovider",
                               "--target", target_kind, "--endpoint", endpoint, f"--junitxml={junit}",
                               "--harness-run-kind", "localstack",
                               f"--harness-summary={reports / 'localstack-summary.json'}", *(pytest_args or [])],
                              log)
            step("e2e", began, code == 0, f"pytest exit {code}: {last}")
            problems = junit_problems(junit)
            for problem in problems[:PROBLEMS_SHOWN]:
                say(f"     {problem}")
            if len(problems) > PROBLEMS_SHOWN:
                say(f"     ... and {len(problems) - PROBLEMS_SHOWN} more (see {junit})")

            target_args = ["--target", cli_target_kind, "--endpoint", endpoint]
            began = time.monotonic()
            code, last = _run([*harness_cli, "up", "--workspace", workspace, *target_args], log)
            step("up", began, code == 0, f"harness up exit {code}: {last}")
            if code == 0:
                began = time.monotonic()
                code, last = _run([*harness_cli, "drift", "--workspace", workspace], log)
                step("drift", began, code == 0, f"harness drift exit {code}: {last}")
                began = time.monotonic()
                _tag_bucket_out_of_band(endpoint, workspace)
                code, last = _run([*harness_cli, "drift", "--workspace", workspace, "--json"], log)
                step("drift-found", began, code == 2 and '"tags"' in _log_tail(log),
                     f"after an out-of-band tag edit, harness drift exit {code} (2 expected, tags named)")
            began = time.monotonic()  # down even after a failed up: it may have created half a stack
            code, last = _run([*harness_cli, "down", "--workspace", workspace, *target_args], log)
            step("down", began, code == 0, f"harness down exit {code}: {last}")

            # Every module variable changed in place on one live workspace; the steps LocalStack's
            # deviations profile names are reported, not failed (tests/harness/test_change_matrix.py).
            began = time.monotonic()
            code, last = _run([sys.executable, "-m", "pytest", "tests/harness/test_change_matrix.py", "-s",
                               "-p", "no:cacheprovider", "-p", "no:xdist", "--target", target_kind,
                               "--endpoint", endpoint], log)
            step("change-matrix", began, code == 0, f"pytest exit {code}: {last}")

            began = time.monotonic()
            left = count_leftovers(endpoint)
            step("leftovers", began, left.total == 0, left.describe())
            say(f"     LocalStack RSS now {handle.rss_mb():.0f} MB (peak {handle.rss_mb('VmHWM'):.0f} MB)")
        except KeyboardInterrupt:
            interrupted = True
            steps.append(Step("interrupted", False, 0.0, "by a signal; stopping LocalStack"))
            say(steps[-1].line())
        finally:
            if handle is not None:
                began = time.monotonic()
                with contextlib.suppress(OSError):
                    shutil.copyfile(handle.log_file, reports / "localstack.log")
                with signals.signals_deferred():  # a second Ctrl-C must not leave LocalStack running
                    handle.stop()
                clean = not handle.run_dir.exists() and not handle.group_pids()
                step("stop", began, clean, f"pid {handle.pid} stopped, {handle.run_dir} removed"
                     if clean else f"left behind: pids {handle.group_pids()}, dir {handle.run_dir}")
    code = _finish(steps, say)
    return 130 if interrupted else code


def _tag_bucket_out_of_band(endpoint: str, workspace: str) -> None:
    """Edit the named workspace's bucket tags behind Terraform's back (drift must find it)."""
    s3 = Target("endpoint", endpoint).client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])
        except s3.exceptions.ClientError:
            continue
        if {"Key": "harness:workspace", "Value": workspace} in tags:
            s3.put_bucket_tagging(Bucket=bucket["Name"], Tagging={"TagSet": [
                *tags, {"Key": "owner", "Value": "out-of-band"}]})


def _log_tail(log: Path, size: int = 200_000) -> str:
    text = log.read_text(errors="replace")
    return text[-size:]


def _finish(steps: list[Step], say: Callable[[str], None]) -> int:
    failed = [s.name for s in steps if not s.ok]
    say(f"test-localstack: {len(steps) - len(failed)} of {len(steps)} steps passed"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


# --- `harness localstack ...` ------------------------------------------------------------

def add_parser(sub: Any) -> None:
    """Register `harness localstack {install,start,stop,leftovers,run-suite}` on the CLI's subparsers."""
    parser = sub.add_parser("localstack", help="LocalStack on this machine: install, start, stop, leftovers, "
                            "and the `make test-localstack` job (run-suite)")
    commands = parser.add_subparsers(dest="localstack_command", required=True)
    commands.add_parser("install", help=f"install LocalStack {VERSION} into {venv_dir()}")
    start_cmd = commands.add_parser("start", help="start it detached; prints the endpoint (stop with `stop`)")
    start_cmd.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    start_cmd.add_argument("--cold", action="store_true", help="skip the warm-up calls")
    start_cmd.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_SECONDS)
    commands.add_parser("stop", help="stop every LocalStack this checkout started whose owner is gone "
                                     "(and every detached one) and remove its files")
    commands.add_parser("leftovers", help="count buckets, REST APIs and roles on --endpoint").add_argument(
        "--endpoint", required=True)
    suite = commands.add_parser("run-suite", help="the `make test-localstack` job")
    suite.add_argument("--target", default="localstack", help="pytest --target kind (default localstack)")
    suite.add_argument("--cli-target", default="localstack", help="harness up/down --target kind")
    suite.add_argument("--workers", default="2")
    suite.add_argument("--workspace", default="ls-drift")
    suite.add_argument("--port", type=int, default=0)
    suite.add_argument("--cold", action="store_true", help="no warm-up: the suite meets a cold LocalStack")
    suite.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    parser.set_defaults(func=cmd_localstack)


def cmd_localstack(args: argparse.Namespace) -> int:
    """`harness localstack ...`: 0 done, 1 leftovers found or a suite step failed, 2 bad input (HarnessError)."""
    if args.localstack_command == "install":
        done = install()
        print(f"LocalStack {VERSION} in {venv_dir()} ({'installed' if done.fresh else 'already installed'}, "
              f"{done.seconds:.1f}s)")
    elif args.localstack_command == "start":
        handle = start(port=args.port, warm_up=not args.cold, ready_timeout=args.ready_timeout)
        handle.owner = 0  # detached: it outlives this command until `stop`
        handle.save()
        warm = ", ".join(f"{k} {v:.2f}s" for k, v in handle.warm_seconds.items()) or "skipped"
        print(f"LocalStack {handle.endpoint} pid {handle.pid}: ready in {handle.ready_seconds:.1f}s; "
              f"first calls: {warm}; RSS {handle.rss_mb():.0f} MB; log {handle.log_file}")
    elif args.localstack_command == "stop":
        print(f"{stop_orphans(include_detached=True)} LocalStack run(s) cleaned")
    elif args.localstack_command == "leftovers":
        left = count_leftovers(args.endpoint)
        print(left.describe())
        return 1 if left.total else 0
    else:
        return run_suite(args.target, args.cli_target, args.workers, args.workspace, args.cold, args.port,
                         args.pytest_args)
    return 0
