"""The process tree under a pid, read from /proc (for tests that interrupt child runs)."""

import os
from pathlib import Path


def descendants(root: int) -> list[tuple[int, list[str]]]:
    """(pid, argv) of every process below `root`."""
    children: dict[int, list[int]] = {}
    argvs: dict[int, list[str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argvs[int(proc.name)] = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(proc.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child)
            found.append((child, argvs.get(child, [])))
    return found


def terraform_commands(root: int) -> list[str]:
    """The subcommands of the `terraform` (or bundled, or tofu) processes below `root`."""
    return [argv[1] for _, argv in descendants(root)
            if len(argv) > 1 and Path(argv[0]).name.startswith(("terraform", "harness-terraform", "tofu"))]


def with_environment(name: str, value: str) -> list[tuple[int, list[str]]]:
    """(pid, argv) of every process whose environment has name=value (e.g. a run's HARNESS_RUN_ID)."""
    wanted = f"{name}={value}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if wanted in (proc / "environ").read_bytes().split(b"\0"):
                found.append((int(proc.name), (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")))
        except OSError:
            continue
    return found
