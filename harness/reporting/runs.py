"""Which run a report describes: its identity (id, kind, start time) and how it ended.

Every report section names the run it shows (`harness summary --markdown`, the JUnit
suite properties, the HTML report), so a section of an older `make e2e` next to a new
nightly record says so, and a run that was interrupted or errored is never shown as a
bare "0 passed, 0 failed". One `RunIdentity` is written into `reports/e2e-summary.json`
(key `run`) and each nightly record; this module reads it back, also from files written
before it existed (then only the id and start time are known).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

# How a session ended, from pytest's exit code (pytest.ExitCode: 0 OK, 1 TESTS_FAILED,
# 2 INTERRUPTED, 3 INTERNAL_ERROR, 4 USAGE_ERROR, 5 NO_TESTS_COLLECTED).
PASSED, FAILED, INTERRUPTED, ERRORED, NO_CHECKS = "passed", "failed", "interrupted", "errored", "no checks collected"
EXIT_STATUSES = {0: PASSED, 1: FAILED, 2: INTERRUPTED, 5: NO_CHECKS}
# A status the counts of a report do not tell: the run stopped early or never ran its checks.
INCOMPLETE = (INTERRUPTED, ERRORED, NO_CHECKS)
DEFAULT_KIND = "e2e"
UNKNOWN_KIND = "kind not recorded"


@dataclass(frozen=True)
class RunIdentity:
    """A run as a report names it: `id`, `kind` (what started it: e2e, nightly, localstack,
    bench), `started` (epoch seconds) and `status` (PASSED ... NO_CHECKS)."""

    id: str
    kind: str
    started: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "started_utc": utc(self.started)}

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> RunIdentity:
        """The run an e2e summary JSON describes (older files: only `run_id` and `started`)."""
        run = summary.get("run") or {}
        return cls(str(run.get("id") or summary.get("run_id") or "unknown"),
                   str(run.get("kind") or UNKNOWN_KIND),
                   float(run.get("started") or summary.get("started") or 0.0),
                   str(run.get("status") or status_from_counts(summary.get("checks") or {})))

    @classmethod
    def from_nightly_record(cls, record: dict[str, Any]) -> RunIdentity:
        """The run a nightly history record describes (older records: time and exit code only)."""
        status = record.get("suite_status") or status_from_exit(record.get("suite_exit_code"))
        return cls(str(record.get("run_id") or "id not recorded"), "nightly", float(record.get("time") or 0.0),
                   str(status))


def status_from_exit(exit_code: int | None, interrupted: bool = False) -> str:
    """The run's status from its pytest exit code (None: unknown, e.g. the child never started)."""
    if interrupted:
        return INTERRUPTED
    if exit_code is None:
        return ERRORED
    return EXIT_STATUSES.get(exit_code, ERRORED)


def status_from_counts(checks: dict[str, dict[str, Any]]) -> str:
    """A best guess for a summary written before runs recorded their status."""
    if not checks:
        return NO_CHECKS
    return FAILED if any(c.get("outcome") == "failed" for c in checks.values()) else PASSED


def utc(epoch: float | None) -> str:
    if not epoch:
        return "unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def label(run: RunIdentity) -> str:
    """`run abc123 (nightly, 2026-12-04 18:00:00 UTC)`, in markdown."""
    return f"run `{run.id}` ({run.kind}, {utc(run.started)})"


def incomplete_note(run: RunIdentity) -> str | None:
    """One sentence for a run whose counts do not tell the whole story; None for a finished run."""
    if run.status == INTERRUPTED:
        return ("INTERRUPTED: the run stopped before its end (Ctrl-C, SIGTERM or a stack that never became ready); "
                "the counts cover only the checks that ran")
    if run.status == ERRORED:
        return "ERRORED: the session itself failed (internal or usage error, or no summary was written); " \
               "the counts cover only the checks that ran"
    if run.status == NO_CHECKS:
        return "NO CHECKS: the session collected no check"
    return None
