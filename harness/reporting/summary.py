"""`harness summary`: a run's results as markdown for CI job summaries and merge-request notes.

Reads what a run already wrote, nothing else: the e2e summary JSON (`make e2e` writes
`reports/e2e-summary.json`: checks, Terraform phases, uploads, and, when present, the
assumptions list with an outcome per target) and the nightly history
(`reports/history.jsonl`: the last record's regressions and drift). Either may be
missing; both missing is an error. `--github-annotations` prints one GitHub workflow
`::error` command per failed or erroring test case of a JUnit XML file instead, so a
CI job gets annotations without a third-party action.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.plumbing import jsonl
from harness.reporting import runs
from harness.reporting.history import HISTORY_FILE

SUMMARY_FILE = "e2e-summary.json"
JUNIT_FILE = "e2e-junit.xml"
OUTCOMES = ("passed", "failed", "skipped")
PHASE_ORDER = ("init", "apply", "checks", "destroy")
MAX_LISTED = 50  # a job summary is capped at 1 MiB; a broken stack fails every check
MAX_LOG_LINES = 10  # access-log lines shown per failed check


def _cell(value: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(value: object) -> str:
    text = str(value).replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def load_summary(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise HarnessError(f"the e2e summary {path} is not JSON ({exc})",
                           "run `make e2e` again; it rewrites the file") from exc


def _counts_line(counts: dict[str, int], run: runs.RunIdentity) -> str:
    """The counts, led by the run's status when they do not tell it (interrupted, errored)."""
    text = f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    return f"{run.status.upper()} after {text}" if run.status in runs.INCOMPLETE else text


def _checks_section(summary: dict[str, Any], later_nightly: dict[str, Any] | None = None) -> list[str]:
    """The e2e run's checks; `later_nightly`: the nightly record this section is shown next to, if newer."""
    checks: dict[str, dict[str, Any]] = summary.get("checks", {})
    counts = {o: sum(1 for c in checks.values() if c.get("outcome") == o) for o in OUTCOMES}
    run = runs.RunIdentity.from_summary(summary)
    incomplete = run.status in runs.INCOMPLETE
    mark = "❌" if counts["failed"] else ("⚠️" if incomplete or not counts["passed"] else "✅")
    lines = [f"## {mark} e2e checks, {runs.label(run)}: {_counts_line(counts, run)} "
             f"({summary.get('seconds', 0):.1f} s)", ""]
    note = runs.incomplete_note(run)
    if note:
        lines += [f"**{note}.**", ""]
    if later_nightly is not None:
        lines += [f"> This e2e section is an earlier run than the nightly run below "
                  f"({runs.utc(later_nightly.get('time'))}): `make nightly` records its own suite in the history, "
                  f"not in {SUMMARY_FILE}.", ""]
    versions = summary.get("versions", {})
    details = [f"Terraform {summary['terraform']}" if summary.get("terraform") else None,
               f"moto {versions['moto']}" if versions.get("moto") else None,
               f"Python {versions['python']}" if versions.get("python") else None,
               f"target {summary['target']}" if summary.get("target") else None]
    if any(details):
        lines += [", ".join(d for d in details if d), ""]
    lines += _failed_checks(checks)
    skipped = sorted(name for name, c in checks.items() if c.get("outcome") == "skipped")
    if skipped:
        lines += ["<details><summary>Skipped checks</summary>", ""]
        lines += [f"- {_code(name)}" for name in skipped[:MAX_LISTED]]
        lines += ["", "</details>", ""]
    return lines


def _failed_checks(checks: dict[str, dict[str, Any]]) -> list[str]:
    """The failed checks, each with API Gateway's access-log lines of its requests when the run fetched them."""
    failed = sorted(name for name, c in checks.items() if c.get("outcome") == "failed")
    if not failed:
        return []
    lines = ["### Failed checks", ""]
    for name in failed[:MAX_LISTED]:
        lines.append(f"- {_code(name)} ({checks[name].get('seconds', 0):.2f} s)")
        logged = checks[name].get("access_log") or []
        if logged:
            lines.append("  - API Gateway access log:")
            lines += [f"    - {_code(entry.get('text', ''))}" for entry in logged[:MAX_LOG_LINES]]
            if len(logged) > MAX_LOG_LINES:
                lines.append(f"    - … and {len(logged) - MAX_LOG_LINES} more (see the e2e summary JSON)")
    if len(failed) > MAX_LISTED:
        lines.append(f"- … and {len(failed) - MAX_LISTED} more (see the JUnit report)")
    return [*lines, ""]


def _phases_section(summary: dict[str, Any]) -> list[str]:
    phases: dict[str, dict[str, Any]] = summary.get("phases", {})
    if not phases:
        return []
    order = [p for p in PHASE_ORDER if p in phases] + sorted(set(phases) - set(PHASE_ORDER))
    lines = ["### Terraform phases", "", "| phase | runs | seconds |", "|---|---:|---:|"]
    lines += [f"| {_cell(p)} | {phases[p].get('count', 0)} | {phases[p].get('total_seconds', 0):.2f} |"
              for p in order]
    uploads = summary.get("uploads") or {}
    if uploads.get("count"):
        rate = uploads.get("MiB_per_s")
        lines += ["", f"Uploads: {uploads['count']} ({uploads.get('bytes', 0) / 1048576:.1f} MiB"
                  + (f", {rate} MiB/s" if rate is not None else "") + ")"]
    return [*lines, ""]


def _assumptions_section(summary: dict[str, Any]) -> list[str]:
    """Unconfirmed AWS behaviour the checks rely on, with what this run's target did (targets/assumptions.py)."""
    assumptions = [a for a in summary.get("assumptions") or [] if a.get("outcome") != "not-run"]
    if not assumptions:
        return []
    target = assumptions[0].get("target", "?")
    lines = ["### Unconfirmed AWS assumptions", "",
             f"| assumption | on {_cell(target)} | observed | what it means |", "|---|---|---|---|"]
    for item in assumptions:
        lines.append(f"| {_code(item.get('id', '?'))} | {_cell(item.get('outcome', ''))} | "
                     f"{_cell('; '.join(item.get('observed', [])))} | {_cell(item.get('meaning', ''))} |")
    refuted = [a for a in assumptions if a.get("target") == "aws" and a.get("outcome") == "differed"]
    if refuted:
        lines += ["", "**Refuted on AWS:** " + ", ".join(_code(a.get("id", "?")) for a in refuted)
                  + ": update docs/aws-behaviour.md and the local AWS"]
    return [*lines, ""]


def _nightly_section(history: list[dict[str, Any]]) -> list[str]:
    if not history:
        return []
    last, earlier = history[-1], history[:-1]
    checks = last.get("checks", {})
    counts = {o: sum(1 for c in checks.values() if c.get("outcome") == o) for o in OUTCOMES}
    run = runs.RunIdentity.from_nightly_record(last)
    commit = (last.get("commit") or "")[:12] or "unknown commit"
    regressions = last.get("regressions", [])
    mark = "❌" if regressions else ("⚠️" if run.status in runs.INCOMPLETE else "✅")
    lines = [f"## {mark} Nightly run #{len(history)}, {runs.label(run)}, commit {_code(commit)}", "",
             f"{_counts_line(counts, run)}; suite exit code {last.get('suite_exit_code', '?')}", ""]
    note = runs.incomplete_note(run)
    if note:
        lines += [f"**{note}.**", ""]
    versions = last.get("versions") or {}
    if versions:
        lines += ["Versions: " + ", ".join(f"{k} {_cell(v)}" for k, v in sorted(versions.items())), ""]
    lines += _failed_checks(checks)
    lines += ["### Regressions", ""]
    if regressions:
        lines += ["| kind | what | detail |", "|---|---|---|"]
        lines += [f"| {_cell(r.get('kind'))} | {_cell(r.get('name'))} | {_cell(r.get('detail'))} |"
                  for r in regressions[:MAX_LISTED]]
    else:
        lines.append("None against the previous run" + (" (first run: nothing to compare)" if not earlier else "")
                     + ".")
    lines.append("")
    phases = last.get("phases") or {}
    if phases:
        lines += ["| phase | seconds | median of earlier runs |", "|---|---:|---:|"]
        for phase in [p for p in PHASE_ORDER if p in phases]:
            before = [r["phases"][phase] for r in earlier if phase in (r.get("phases") or {})]
            median = f"{statistics.median(before):.2f}" if before else "–"
            lines.append(f"| {phase} | {phases[phase]:.2f} | {median} |")
        lines.append("")
    workspace = last.get("drift_workspace")
    drift = last.get("drift") or []
    lines += ["### Drift", ""]
    if not workspace:
        lines.append("Not checked (no `--workspace` given to the nightly run).")
    elif not drift:
        lines.append(f"Workspace {_code(workspace)}: clean (no drift, no pending changes).")
    else:
        lines += [f"Workspace {_code(workspace)}: {len(drift)} finding(s)", "",
                  "| kind | resource | attribute |", "|---|---|---|"]
        lines += [f"| {_cell(f.get('kind'))} | {_cell(f.get('address'))} | {_cell(f.get('attribute'))} |"
                  for f in drift[:MAX_LISTED]]
    return [*lines, ""]


def markdown(summary: dict[str, Any] | None, history: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    if summary is not None:
        run = runs.RunIdentity.from_summary(summary)
        later = history[-1] if history and float(history[-1].get("time") or 0) > run.started \
            and history[-1].get("run_id") != run.id else None
        lines += _checks_section(summary, later) + _phases_section(summary) + _assumptions_section(summary)
    lines += _nightly_section(history)
    return "\n".join(lines).rstrip() + "\n"


def _escape_command(value: str, property_value: bool = False) -> str:
    """GitHub workflow-command escaping: a message can never start a second command."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if property_value else value


def github_annotations(junit: Path) -> list[str]:
    """One `::error` command per failed or erroring test case of a JUnit XML file."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as exc:
        raise HarnessError(f"the JUnit report {junit} cannot be read ({exc})",
                           "run `make e2e` first; it writes reports/e2e-junit.xml") from exc
    commands = []
    for case in root.iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            title = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            message = problem.get("message") or (problem.text or "").strip().splitlines()[-1:] or ["failed"]
            text = message if isinstance(message, str) else message[0]
            commands.append(f"::error title={_escape_command(title, True)}::{_escape_command(text[:2000])}")
    return commands


def cmd_summary(args: argparse.Namespace) -> int:
    if args.github_annotations:
        for line in github_annotations(Path(args.junit)):
            print(line)
        return 0
    summary_path, history_path = Path(args.summary), Path(args.history)
    summary, history = load_summary(summary_path), jsonl.read(history_path)
    if summary is None and not history:
        raise HarnessError(f"nothing to summarise: neither {summary_path} nor {history_path} exists",
                           "run `make e2e` (or `make nightly`) first, or pass --summary/--history")
    sys.stdout.write(markdown(summary, history))
    return 0


def add_parser(sub: Any) -> None:
    """Register `harness summary` on the CLI's subparsers."""
    reports = paths.reports_dir()
    parser = sub.add_parser("summary", help="markdown summary of the last e2e run and nightly history "
                            "(for $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--markdown", action="store_true", help="markdown output (the default)")
    parser.add_argument("--summary", default=str(reports / SUMMARY_FILE), help="e2e summary JSON")
    parser.add_argument("--history", default=str(reports / HISTORY_FILE), help="nightly history JSONL")
    parser.add_argument("--github-annotations", action="store_true",
                        help="print GitHub ::error commands for the failed cases of --junit instead")
    parser.add_argument("--junit", default=str(reports / JUNIT_FILE), help="JUnit XML for --github-annotations")
    parser.set_defaults(func=cmd_summary)
