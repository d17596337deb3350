"""What Linux's /proc says about a process: its state letter and when it started.

One reader of `/proc/<pid>/stat` for the modules that watch processes they did not
necessarily start (the local AWS, LocalStack, served providers, pytest's own start).
None wherever /proc is missing or the process is gone.
"""

from __future__ import annotations

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
