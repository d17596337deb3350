"""JSON-lines files: one writer and one reader for every `*.jsonl` the harness keeps.

A run killed mid-write leaves a torn last line; the reader skips a line that is not JSON
(and says nothing), so one killed run never hides the records before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def append(path: Path, item: dict[str, Any]) -> None:
    """Add one record as one line (created with its folder if missing).

    After a torn last line the record starts a line of its own, so only the torn one is lost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        torn = handle.tell() > 0 and (handle.seek(-1, 2), handle.read(1))[1] != b"\n"
        handle.write((("\n" if torn else "") + json.dumps(item, sort_keys=True) + "\n").encode())


def read(path: Path) -> list[dict[str, Any]]:
    """Every whole record, in order; [] for a missing file; torn or blank lines skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            records.append(item)
    return records
