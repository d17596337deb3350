"""What Linux's /proc says about a process: its state letter, when it started, its process
group, its command line and its memory.

One reader of `/proc/<pid>/...` for the modules that watch processes they did not
necessarily start (harness/plumbing/children.py, pytest's own start). None (or nothing)
wherever /proc is missing or the process is gone.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """`/proc/<pid>/stat` after the command name (which may hold spaces and parentheses): [state, ppid, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def state(pid: int) -> str | None:
    """The process state letter (R, S, Z, ...), None if unknown."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot: with the pid, it names one process."""
    fields = stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))):
            with contextlib.suppress(IndexError, ValueError):
                if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                    found.append(int(entry.name))
    return found


def cmdline(pid: int) -> bytes | None:
    """The command line, arguments separated by NUL bytes."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def status_kb(pid: int, field: str) -> int | None:
    """A `/proc/<pid>/status` figure in kB (VmRSS: resident now, VmHWM: its high-water mark)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return None
