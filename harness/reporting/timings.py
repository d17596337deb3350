"""Where a run's time goes, and how far it is above its floor (pure arithmetic, no I/O but /proc).

A run splits into: process start-up (the pytest process's birth to session start), worker
start-up (session start to the last xdist worker having collected), toolchain preparation
(toolchain and `init` check), each Terraform command (from the run's phases), the
readiness wait, checks (wall of the check phase) and teardown.

The **floor** is what no harness can avoid: the Terraform commands that cannot be skipped
(apply, destroy, and the output read) plus the longest single check. A run's ratio is its
wall time over that floor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from harness.plumbing import procfs

# The Terraform commands every run must pay for: without an apply there is nothing to check,
# without a destroy something is left, without the output read the checks have no URL.
FLOOR_COMMANDS = ("apply", "destroy", "output")


def floor_seconds(phases: Mapping[str, Iterable[float]], longest_check: float) -> float:
    """Sum of the unskippable Terraform commands (every run of each) plus the longest single check."""
    return round(sum(sum(phases.get(name, ())) for name in FLOOR_COMMANDS) + max(0.0, longest_check), 3)


# Terraform's plain output: one line when a resource change starts, one when it completes.
def ratio_to_floor(wall: float, floor: float) -> float | None:
    return round(wall / floor, 3) if floor > 0 else None


def check_span(reports: Iterable[tuple[float, float]], ready_at: float | None) -> float:
    """Wall time of the check phase: from the stack being ready (or the first check) to the last check's end.

    `reports` are (start, stop) epoch pairs of every setup/call/teardown report.
    """
    spans = list(reports)
    if not spans:
        return 0.0
    begin = min(start for start, _ in spans)
    if ready_at is not None:
        begin = max(begin, ready_at)
    return round(max(0.0, max(stop for _, stop in spans) - begin), 3)


def check_duration(reports: Iterable[tuple[float, float]], ready_at: float | None) -> float:
    """One check's own time (setup, call, teardown); time spent before the stack was ready is not its own.

    The first check on each worker waits for the shared stack inside its setup: that wait is
    the deploy's cost, already counted in the Terraform commands and the readiness wait.
    """
    total = 0.0
    for start, stop in reports:
        if ready_at is not None:
            start = max(start, min(ready_at, stop))
        total += max(0.0, stop - start)
    return round(total, 3)


def process_started_at(pid: int | None = None) -> float | None:
    """Epoch seconds at which a process was created (Linux /proc); None elsewhere.

    Its age comes from the boot-time clock both sides share (/proc's start time is in
    clock ticks since boot); `btime` in /proc/stat has whole seconds only.
    """
    ticks = procfs.start_ticks(pid or os.getpid())
    if ticks is None:
        return None
    try:
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):  # no boot-time clock or tick rate here
        return None
    return time.time() - max(0.0, age)


def breakdown(*, wall: float, phases: Mapping[str, list[float]], longest_check: float,
              checks: float | None, teardown: float | None, process_startup: float | None = None,
              worker_startup: float | None = None, toolchain: float | None = None,
              provider_start: float | None = None,
              splits: Mapping[str, list[dict[str, float]]] | None = None) -> dict[str, Any]:
    """The `timings` section of the summary and of each bench cycle.

    `splits`: per command, `change_split` of each run of it (summed per part).
    """
    floor = floor_seconds(phases, longest_check)
    terraform = {name: round(sum(values), 3) for name, values in phases.items() if name != "ready"}
    counts = {name: len(values) for name, values in phases.items() if name != "ready"}

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "wall_seconds": round(wall, 3),
        "process_startup": rounded(process_startup),
        "worker_startup": rounded(worker_startup),
        "toolchain": rounded(toolchain),
        "provider_start": rounded(provider_start),
        "terraform": terraform,
        "terraform_split": {name: {part: round(sum(split[part] for split in values), 3)
                                   for part in ("before_changes", "changes", "after_changes")}
                            for name, values in (splits or {}).items() if values},
        "terraform_processes": counts,
        "ready": round(sum(phases.get("ready", [])), 3),
        "checks": rounded(checks),
        "teardown": rounded(teardown),
        "longest_check": round(longest_check, 3),
        "floor": {"seconds": floor, "commands": list(FLOOR_COMMANDS), "plus": "longest single check"},
        "ratio_to_floor": ratio_to_floor(wall, floor),
    }
