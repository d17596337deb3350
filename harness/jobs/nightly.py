"""Nightly regression runs: one record per run in `reports/history.jsonl`, and the rules
that say what regressed since the runs before.

A run is the e2e suite on a fresh throwaway workspace (real pytest, JUnit XML alongside),
then drift on a named workspace if one is given. Regressions, each of which makes the run
exit non-zero:
- a check that passed in the previous run fails now;
- drift (or pending changes) on the named workspace;
- a phase (init, apply, checks, destroy) slower than `factor` x its median over the last
  `window` runs (only once at least `MIN_RUNS_FOR_TIMING` earlier runs have that phase).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.lifecycle.workspace import child_run_environment
from harness.options import RunOptions
from harness.reporting import runs
from harness.reporting.history import PHASES, append_record, load_history
from harness.terraform import toolchain

MIN_RUNS_FOR_TIMING = 3


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.project_root(), capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except OSError:
        return None


def phase_timings(summary: dict[str, Any]) -> dict[str, float]:
    phases = {name: summary["phases"].get(name, {}).get("total_seconds", 0.0)
              for name in ("init", "apply", "ready", "destroy")}
    terraform_total = sum(item.get("total_seconds", 0.0) for item in summary["phases"].values())
    phases["checks"] = round(max(summary["seconds"] - terraform_total, 0.0), 3)
    return phases


def find_regressions(record: dict[str, Any], history: list[dict[str, Any]], factor: float,
                     window: int) -> list[dict[str, Any]]:
    """What got worse in `record` compared with the runs in `history` (oldest first)."""
    regressions: list[dict[str, Any]] = []
    if history:
        previous = history[-1]["checks"]
        for check, result in sorted(record["checks"].items()):
            if result["outcome"] == "failed" and previous.get(check, {}).get("outcome") == "passed":
                regressions.append({"kind": "check", "name": check, "detail": "passed in the previous run, fails now"})
    if record.get("drift"):
        regressions.append({"kind": "drift", "name": record.get("drift_workspace"),
                            "detail": f"{len(record['drift'])} finding(s)"})
    recent = history[-window:]
    for phase in PHASES:
        earlier = [r["phases"][phase] for r in recent if phase in r.get("phases", {})]
        current = record["phases"].get(phase)
        if current is None or len(earlier) < MIN_RUNS_FOR_TIMING:
            continue
        median = statistics.median(earlier)
        if median > 0 and current > factor * median:
            regressions.append({"kind": "timing", "name": phase,
                                "detail": f"{current:.2f}s > {factor} x median {median:.2f}s of last {len(earlier)}"})
    return regressions


def run_suite(extra_args: list[str], junit: Path) -> tuple[dict[str, Any], int]:
    """The e2e suite in a child pytest; returns its summary and exit code."""
    with tempfile.TemporaryDirectory() as scratch:
        summary_file = Path(scratch) / "summary.json"
        env = child_run_environment()
        command = [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider", "-n", "2",
                   "--harness-run-kind", "nightly", f"--junitxml={junit}", f"--harness-summary={summary_file}",
                   *extra_args]
        completed = subprocess.run(command, cwd=paths.project_root(), env=env, timeout=3600)
        if not summary_file.exists():
            return {"checks": {}, "phases": {}, "seconds": 0.0, "uploads": {}}, completed.returncode
        return json.loads(summary_file.read_text()), completed.returncode


def run(options: RunOptions, workspace: str | None = None, factor: float = 2.0,
        window: int = 7, history_file: Path | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    history = load_history(history_file)
    tools = toolchain.prepare()
    junit = paths.reports_dir() / "nightly-junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    summary, suite_exit = run_suite(options.to_args(), junit)
    record: dict[str, Any] = {
        "time": started,
        "commit": _git_commit(),
        "versions": {"terraform": tools.binary.version, "provider": tools.describe()["provider"],
                     "python": sys.version.split()[0]},
        "target": summary.get("target", options.target_kind),
        "suite_exit_code": suite_exit,
        # Which suite run this is, and how it ended: a suite that wrote no summary (killed,
        # or its session failed to start) is named by its exit code alone.
        "run_id": (summary.get("run") or {}).get("id") or summary.get("run_id"),
        "suite_status": (summary.get("run") or {}).get("status") or runs.status_from_exit(suite_exit),
        "checks": summary["checks"],
        "phases": phase_timings(summary) if summary["phases"] else {},
        "upload_MiB_per_s": summary.get("uploads", {}).get("MiB_per_s"),
        "assumptions": summary.get("assumptions", []),
        "drift_workspace": workspace,
        "drift": drift_findings(workspace, options) if workspace else [],
    }
    record["regressions"] = find_regressions(record, history, factor, window)
    append_record(record, history_file)
    return record, history


def drift_findings(workspace: str, options: RunOptions) -> list[dict[str, Any]]:
    """Drift of the named workspace, in this process (the same library call `harness drift` makes)."""
    from harness.lifecycle import drift
    from harness.lifecycle.run import open_named_workspace

    try:
        found = drift.check(open_named_workspace(workspace, options, explicit_target=False), options.stack_vars)
    except HarnessError as exc:
        return [{"kind": "error", "address": workspace, "attribute": "drift check failed",
                 "before": None, "after": str(exc)[-500:]}]
    return [finding.to_dict() for finding in found]
