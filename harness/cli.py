"""The `harness` command line: setup, doctor, localaws, up, outputs, workspaces, check, down, ...

Errors the harness understands are printed as one paragraph with what to do, exit 2,
no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

from harness import __version__, paths
from harness.errors import HarnessError, WorkspaceMissingError
from harness.lifecycle import run
from harness.lifecycle.workspace import (
    THROWAWAY_PREFIX,
    Workspace,
    delete_record,
    list_records,
    load_record,
    new_run_id,
    save_record,
    validate_workspace_name,
)
from harness.localaws import process as localaws_process
from harness.options import RunOptions, add_localaws_options, add_readiness_options, add_target_options
from harness.plumbing.signals import tear_down_on_sigterm
from harness.targets import deviations
from harness.targets.target import Target
from harness.terraform import provider_server, runner, stack_variables, toolchain


def _options(args: argparse.Namespace) -> RunOptions:
    """The run's settings from the arguments and the environment's defaults, validated once."""
    return RunOptions.from_values(lambda name: getattr(args, name, None), os.environ)


def _explicit_target(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "target", None) or getattr(args, "endpoint", None))


def _progress(phase: str, seconds: float, split: dict[str, float] | None = None) -> None:
    if phase == provider_server.START_PHASE:
        print(f"  served provider started: {seconds:.2f}s", file=sys.stderr, flush=True)
        return
    detail = (f" ({split['before_changes']:.2f}s before the first change, {split['changes']:.2f}s of changes)"
              if split else "")
    print(f"  terraform {phase}: {seconds:.2f}s{detail}", file=sys.stderr, flush=True)


def _named(args: argparse.Namespace, creating: bool = False, serve_provider: bool = False) -> Workspace:
    """The named workspace; `serve_provider` for several Terraform commands (the caller releases it)."""
    name = validate_workspace_name(args.workspace)
    return run.open_named_workspace(name, _options(args), _explicit_target(args), creating, on_command=_progress,
                                    serve_provider=serve_provider)


def cmd_setup(args: argparse.Namespace) -> int:
    tools = toolchain.prepare(force=args.force)
    for key, value in tools.describe().items():
        print(f"{key:24} {value}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    tools = toolchain.prepare()
    report: dict[str, Any] = {"harness": __version__, **tools.describe(),
                              "packages": toolchain.package_versions()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for name, version in value.items():
                    print(f"  {name:28} {version}")
            else:
                print(f"{key:24} {value}")
    return 0


def cmd_localaws(args: argparse.Namespace) -> int:
    from harness.localaws.__main__ import faults_from_args
    from harness.localaws.server import serve_forever

    return serve_forever(args.host, args.port, faults=faults_from_args(args, os.environ))


def cmd_up(args: argparse.Namespace) -> int:
    workspace = _named(args, creating=True, serve_provider=True)
    target = workspace.deployer.target
    options = workspace.deployer.options
    record = load_record(workspace.name) or {}
    try:
        print(f"applying workspace {workspace.name} on {target.describe()}", file=sys.stderr)
        changed = stack_variables.changes(record.get("stack_vars") or {}, options.stack_vars)
        for line in stack_variables.describe_changes(changed):
            print(f"  stack variable {line}", file=sys.stderr)
        if record and not changed:
            print(f"  stack variables as last applied: {stack_variables.describe(options.stack_vars)}",
                  file=sys.stderr)
        run_id = record.get("run_id") or new_run_id()
        workspace.run_id = run_id
        save_record(workspace.name, target, run_id, options.backend_url)  # before the apply: sweep finds it
        try:
            outputs = workspace.up(options.stack_vars)
        except BaseException:
            if changed and record:
                print(f"the workspace still remembers the variables it was last applied with; run the same "
                      f"`harness up --workspace {workspace.name}` again to finish the change", file=sys.stderr)
            raise
        save_record(workspace.name, target, run_id, options.backend_url, options.stack_vars)
    finally:
        workspace.deployer.release_provider()
    if options.readiness_gate:
        ready = run.readiness_gate(target, outputs, options.ready_timeout)
        print(f"the API answered as intended after {ready.seconds:.1f}s ({ready.attempts} probes)", file=sys.stderr)
    print(json.dumps(outputs.to_dict(), indent=2))
    return 0


def cmd_outputs(args: argparse.Namespace) -> int:
    workspace = _named(args)
    print(json.dumps({**workspace.outputs().to_dict(),
                      "harness_stack_vars": workspace.deployer.options.stack_vars}, indent=2))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    """A named workspace's recent API Gateway access-log lines, one per request (harness/client/access_logs.py)."""
    from harness.client import access_logs
    from harness.lifecycle.sweep import parse_duration

    since = parse_duration(args.since, "--since")
    if not 0 < since <= access_logs.MAX_SINCE_SECONDS:
        raise HarnessError(f"--since {args.since} is outside 1s..{access_logs.MAX_SINCE_SECONDS // 86400}d",
                           "use e.g. 10m, 2h or 1d")
    status = access_logs.parse_status_filter(args.status)
    if not 0 < args.limit <= access_logs.MAX_RECENT:
        raise HarnessError(f"--limit {args.limit} is outside 1..{access_logs.MAX_RECENT}", "use e.g. --limit 50")
    workspace = _named(args)
    if not workspace.exists():
        raise WorkspaceMissingError(f"workspace {workspace.name!r} does not exist",
                                    f"create it with `harness up --workspace {workspace.name}`")
    group = access_logs.log_group(workspace.outputs().values, workspace.name)
    found = access_logs.recent(workspace.deployer.target.client("logs"), group, since, status, args.limit)
    for line in found.lines:
        print(line.describe())
    if not found.lines:
        print(f"no access-log line in the last {args.since}" + (f" with status {status}" if status else "")
              + f" (log group {group})", file=sys.stderr)
        why_none = deviations.no_access_log_lines(workspace.deployer.target.kind)
        if why_none is not None:
            print(why_none, file=sys.stderr)
    if not found.complete:
        print(f"the last {args.since} hold more lines than are read ({access_logs.PAGE_LIMIT * access_logs.MAX_PAGES}, "
              "oldest first): the newest are not shown; use a shorter --since", file=sys.stderr)
    return 0


def cmd_workspaces(args: argparse.Namespace) -> int:
    """The workspaces this checkout has records of: name, target, stack variables, age."""
    records = list_records()
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("no workspaces recorded here; create one with `harness up --workspace NAME`")
        return 0
    now = time.time()
    for name, record in records.items():
        target = Target.from_record(record["target"]).describe()
        kind = "throwaway" if name.startswith(THROWAWAY_PREFIX) else "named"
        applied = record.get("applied") or record.get("created") or now
        print(f"{name:24} {kind:9} {target:44} applied {_age(now - applied):>5} ago  "
              f"vars: {stack_variables.describe(record.get('stack_vars') or {})}")
    return 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def cmd_check(args: argparse.Namespace) -> int:
    name = validate_workspace_name(args.workspace)
    # REMAINDER keeps the `--` that separates our options from pytest's; pytest would take it as a path.
    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    command = [sys.executable, "-m", "pytest", str(paths.project_root() / "tests" / "e2e"),
               "--workspace", name, *extra]
    return subprocess.call(command)


def cmd_down(args: argparse.Namespace) -> int:
    try:
        workspace = _named(args, serve_provider=True)
    except WorkspaceMissingError as exc:
        print(f"{exc.message}; nothing to destroy\n  -> `harness workspaces` lists the ones that exist",
              file=sys.stderr)
        return 0
    target = workspace.deployer.target
    record = load_record(workspace.name) or {}
    try:
        if not workspace.exists():
            print(f"workspace {workspace.name} does not exist; nothing to destroy", file=sys.stderr)
        else:
            workspace.down(workspace.deployer.options.stack_vars)
            print(f"destroyed and deleted workspace {workspace.name}", file=sys.stderr)
    finally:
        workspace.deployer.release_provider()
    delete_record(workspace.name)
    if workspace.name.startswith(THROWAWAY_PREFIX) and record.get("run_id"):
        # A throwaway workspace kept with --keep: its run's local AWS, providers and directory go with it.
        for message in run.Run(record["run_id"], workspace.deployer.options).release_kept().messages:
            print(message, file=sys.stderr)
        return 0
    state = paths.data_dir() / run.PERSISTENT_LOCALAWS_FILE
    server = localaws_process.LocalAwsProcess.load(state)
    records = paths.workspaces_dir().glob("*.json") if paths.workspaces_dir().exists() else []
    others = [r for r in records if server and server.endpoint in r.read_text()]
    if server and target.kind == "local" and target.endpoint == server.endpoint and not others:
        server.stop()
        state.unlink(missing_ok=True)
        print("stopped the local AWS (no named workspace uses it any more)", file=sys.stderr)
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """Break a stale state lock left by a killed run (Terraform's force-unlock)."""
    workspace = _named(args)
    workspace.runner.force_unlock(args.lock_id)
    print(f"released lock {args.lock_id} of workspace {workspace.name}", file=sys.stderr)
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    """Exit 0 clean, 2 drift or pending changes, 1 error."""
    from harness.lifecycle import drift

    try:
        workspace = _named(args, serve_provider=True)
        try:
            found = drift.check(workspace, workspace.deployer.options.stack_vars)
        finally:
            workspace.deployer.release_provider()
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(drift.report(workspace.name, found), indent=2, default=str))
    else:
        print(drift.render(workspace.name, found))
    return 2 if found else 0


def cmd_nightly(args: argparse.Namespace) -> int:
    from harness.jobs import nightly
    from harness.reporting import report
    from harness.reporting.history import history_path

    if args.workspace:
        validate_workspace_name(args.workspace)
    report.require_plotting()  # before the run, not after it
    record, history = nightly.run(_options(args), args.workspace, args.factor, args.window)
    output = report.write(paths.reports_dir() / "index.html")
    counts = {o: sum(1 for c in record["checks"].values() if c["outcome"] == o) for o in ("passed", "failed")}
    print(f"nightly: run {record.get('run_id') or '(no id recorded)'} {record['suite_status']}: {counts['passed']} "
          f"passed, {counts['failed']} failed; record #{len(history) + 1} in {history_path()}; report {output}")
    for regression in record["regressions"]:
        print(f"REGRESSION [{regression['kind']}] {regression['name']}: {regression['detail']}")
    if record["suite_exit_code"] not in (0, 1):
        print(f"the e2e suite did not complete (pytest exit {record['suite_exit_code']})", file=sys.stderr)
        return 1
    return 1 if record["regressions"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.reporting import report

    print(report.write(paths.reports_dir() / "index.html"))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.lifecycle import sweep

    older_than = sweep.parse_duration(args.older_than)
    options = _options(args)
    fallback = options.target() if _explicit_target(args) else None
    removed = sweep.sweep(older_than, args.dry_run, args.run_id, options=options, target=fallback)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {removed} throwaway workspace(s)")
    if fallback is not None:
        target = fallback
        target.check_reachable()
        tagged = sweep.sweep_tagged(target, older_than, args.dry_run, args.run_id, options=options)
        print(f"{verb} {tagged} tagged resource(s) without state on {target.describe()}")
    else:
        print("resources without state were not searched: pass --target aws (or --endpoint URL) to find "
              "them by their harness:* tags")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from harness.jobs import soak

    output = paths.reports_dir() / "soak.json"
    report = soak.run(args.cycles, args.max_seconds, output, faults=args.faults, profile=args.localaws_profile)
    print(f"soak: {report['cycles_run']}/{report['cycles_requested']} cycles, {report['failures']} failure(s), "
          f"{report['leaks']} leak(s); local AWS RSS {report['rss_start_mb']} MB at start, "
          f"{min(report['rss_after_cycles_mb'], default=0)}-{max(report['rss_after_cycles_mb'], default=0)} MB "
          f"after cycles (second-half growth {report['rss_growth_second_half_mb']} MB); {output}")
    if args.faults or args.localaws_profile:
        kinds = ", ".join(f"{kind} {count}" for kind, count in report["faults_injected"].items()) or "none"
        print(f"faults injected: {kinds}; {report['false_passes']} false pass(es); "
              f"{report['expected_failures']} upload(s) failed as their fault required")
    return 1 if report["failures"] or report["leaks"] or report["false_passes"] else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.jobs import bench

    output = paths.reports_dir() / ("bench-smoke.json" if args.smoke else "bench.json")
    if args.smoke:
        report = bench.run(cycles=1, repeats=1, workers=(), smoke=True, output=output,
                           endpoints=tuple(args.endpoint), endpoint_kind=args.endpoint_kind,
                           localstack=args.localstack)
    else:
        report = bench.run(cycles=args.cycles, repeats=args.repeats, output=output,
                           workers=tuple(args.workers), e2e_rounds=args.e2e_rounds,
                           endpoints=tuple(args.endpoint), endpoint_kind=args.endpoint_kind,
                           localstack=args.localstack)
    print(bench.table(report))
    print(f"\nwritten: {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    parser.add_argument("--version", action="store_true",
                        help="print Terraform, provider and package versions (same as doctor)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every Terraform command")
    sub = parser.add_subparsers(dest="command")

    setup = sub.add_parser("setup", help="prepare Terraform, the provider mirror and CLI config")
    setup.add_argument("--force", action="store_true", help="rebuild the provider mirror")
    setup.set_defaults(func=cmd_setup)

    doctor = sub.add_parser("doctor", help="show the toolchain and package versions")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)

    local = sub.add_parser("localaws", help="run the local AWS in the foreground")
    from harness.localaws.__main__ import add_arguments as add_localaws_arguments

    add_localaws_arguments(local)
    local.set_defaults(func=cmd_localaws)

    for name, func, text in (
        ("up", cmd_up, "apply the stack into a named workspace"),
        ("outputs", cmd_outputs, "print a workspace's outputs"),
        ("down", cmd_down, "destroy a named workspace and delete it"),
    ):
        command = sub.add_parser(name, help=text, epilog=runner.COMMAND_TIMEOUT_HELP)
        command.add_argument("--workspace", required=True)
        add_target_options(command.add_argument)
        if name == "up":
            add_readiness_options(command.add_argument)
            add_localaws_options(command.add_argument)
        command.set_defaults(func=func)

    logs = sub.add_parser("logs", help="a named workspace's recent API Gateway access-log lines, one per request")
    logs.add_argument("--workspace", required=True)
    logs.add_argument("--since", default="10m", help="lines of this last period (30s, 10m, 2h, 1d; default 10m)")
    logs.add_argument("--status", default=None, metavar="5xx|4xx|NNN", help="only answers with this status or class")
    logs.add_argument("--limit", type=int, default=50, help="at most this many lines, the newest (default 50)")
    add_target_options(logs.add_argument)
    logs.set_defaults(func=cmd_logs)

    workspaces = sub.add_parser("workspaces", help="list the workspaces recorded here: target, variables, age")
    workspaces.add_argument("--json", action="store_true")
    workspaces.set_defaults(func=cmd_workspaces)

    unlock = sub.add_parser("unlock", help="break a stale state lock a killed run left (as the lock error prints)")
    unlock.add_argument("--workspace", required=True)
    unlock.add_argument("--lock-id", required=True)
    add_target_options(unlock.add_argument)
    unlock.set_defaults(func=cmd_unlock)

    drift_cmd = sub.add_parser("drift", help="report drift and pending changes of a named workspace")
    drift_cmd.add_argument("--workspace", required=True)
    drift_cmd.add_argument("--json", action="store_true")
    add_target_options(drift_cmd.add_argument)
    drift_cmd.set_defaults(func=cmd_drift)

    nightly_cmd = sub.add_parser("nightly", help="one regression run: e2e suite, drift, history record")
    nightly_cmd.add_argument("--workspace", help="named workspace to check for drift")
    add_target_options(nightly_cmd.add_argument)
    nightly_cmd.add_argument("--factor", type=float, default=2.0, help="phase slowdown that counts as regression")
    nightly_cmd.add_argument("--window", type=int, default=7, help="runs the phase median is taken over")
    nightly_cmd.set_defaults(func=cmd_nightly)

    report_cmd = sub.add_parser("report", help="render reports/index.html from the history")
    report_cmd.set_defaults(func=cmd_report)

    sweep_cmd = sub.add_parser("sweep", help="remove what killed runs left: throwaway workspaces, run dirs, "
                               "tagged resources without state")
    sweep_cmd.add_argument("--older-than", default="1h", help="only leftovers older than this (30m, 2h, 1d)")
    sweep_cmd.add_argument("--run-id", help="only what this run left")
    sweep_cmd.add_argument("--dry-run", action="store_true", help="say what would be removed")
    add_target_options(sweep_cmd.add_argument)
    sweep_cmd.set_defaults(func=cmd_sweep)

    soak_cmd = sub.add_parser("soak", help="N full up-check-down cycles: leaks, failures, memory")
    soak_cmd.add_argument("--cycles", type=int, default=10, help="cycles to run (max 500)")
    soak_cmd.add_argument("--max-seconds", type=float, default=3600, help="stop after this long")
    soak_cmd.add_argument("--faults", default=None, metavar="SPEC",
                          help="faults the soak's local AWS injects (harness/localaws/faults.py), e.g. "
                               "'s3.put:slowdown@rate=0.2,data:reset@rate=0.05;seed=42'")
    soak_cmd.add_argument("--localaws-profile", default=None, metavar="SPEC",
                          help="propagation profile of the soak's local AWS, e.g. aws-like:role=3s,stage=2s")
    soak_cmd.set_defaults(func=cmd_soak)

    bench = sub.add_parser("bench", help="benchmark a full cycle, throughput, memory, scaling")
    bench.add_argument("--cycles", type=int, default=5, help="full cycles to time (max 20)")
    bench.add_argument("--repeats", type=int, default=9, help="uploads per size and side")
    bench.add_argument("--smoke", action="store_true", help="tiny run: checks the output only")
    bench.add_argument("--endpoint", action="append", default=[], metavar="URL",
                       help="also measure this AWS-compatible endpoint, side by side (repeatable)")
    bench.add_argument("--endpoint-kind", choices=("endpoint", "localstack"), default="endpoint",
                       help="how to reach --endpoint's APIs (localstack: its path-based invoke URL)")
    bench.add_argument("--localstack", action="store_true",
                       help="also start LocalStack (installed by `harness localstack install`), "
                            "measure it side by side, stop it")
    bench.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                       help="e2e suite worker counts to time (1 = serial); none to skip")
    bench.add_argument("--e2e-rounds", type=int, default=3, help="e2e suite runs per worker count (medians)")
    bench.set_defaults(func=cmd_bench)

    from harness.reporting import (
        summary,  # `harness summary --markdown`; its options live in harness/reporting/summary.py
    )

    summary.add_parser(sub)
    from harness.jobs import localstack_suite  # `harness localstack ...`; its options live in that module

    localstack_suite.add_parser(sub)

    check = sub.add_parser("check", help="run the e2e checks against a named workspace")
    check.add_argument("--workspace", required=True)
    check.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    tear_down_on_sigterm()
    if args.version:
        args.json = False
        return cmd_doctor(args)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  -> {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
