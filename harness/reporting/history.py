"""The nightly history (`reports/history.jsonl`): one record per regression run, read by the
nightly rules, the job summary and the HTML report alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import paths
from harness.plumbing import jsonl

HISTORY_FILE = "history.jsonl"
# The phases a record times, in the order a run goes through them.
PHASES = ("init", "apply", "ready", "checks", "destroy")


def history_path() -> Path:
    return paths.reports_dir() / HISTORY_FILE


def load_history(path: Path | None = None) -> list[dict[str, Any]]:
    return jsonl.read(path or history_path())


def append_record(record: dict[str, Any], path: Path | None = None) -> None:
    jsonl.append(path or history_path(), record)
