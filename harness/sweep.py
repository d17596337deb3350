"""Sweep: find and remove what killed runs left behind.

A run killed with SIGKILL cannot tear down. What it leaves is found by name and age:
- throwaway workspaces (`t-<run-id>-<worker>`) in the stack's state, older than a limit:
  destroyed on the target their record names, then deleted; when that target was a
  local AWS that no longer answers, its resources died with it, so only the state and
  record are removed (said so in the output);
- run directories under `.harness/runs/` whose workspaces are gone: their local AWS, if
  still running, is stopped and the directory removed.
Named workspaces, `default`, and anything without the `t-` prefix are never touched.

Not done yet (issue 6): resources that have no state at all, found by their `harness:*`
tags through the tagging API.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import paths
from harness.errors import HarnessError
from harness.localaws import process as localaws_process
from harness.targets import Target
from harness.workspace import THROWAWAY_PREFIX, Deployer, Workspace, delete_record, load_record

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    match = DURATION.match(text.strip())
    if not match:
        raise HarnessError(f"--older-than {text!r} is not a duration", "use e.g. 30m, 2h or 1d")
    return int(match.group(1)) * UNITS[match.group(2)]


@dataclass
class Leftover:
    workspace: str
    age_seconds: float
    target: Target | None


def throwaway_leftovers(older_than: float, run_id: str | None = None,
                        stack_dir: Path | None = None) -> list[Leftover]:
    state_root = (stack_dir or paths.stack_dir()) / "terraform.tfstate.d"
    found = []
    if not state_root.exists():
        return found
    now = time.time()
    for directory in sorted(state_root.iterdir()):
        if not directory.name.startswith(THROWAWAY_PREFIX) or not directory.is_dir():
            continue
        if run_id and not directory.name.startswith(f"{THROWAWAY_PREFIX}{run_id}-"):
            continue
        age = now - max((p.stat().st_mtime for p in directory.iterdir()), default=directory.stat().st_mtime)
        if age < older_than:
            continue
        record = load_record(directory.name)
        target = Target.from_record(record["target"]) if record else None
        found.append(Leftover(directory.name, age, target))
    return found


def _reachable(target: Target) -> bool:
    try:
        target.check_reachable()
        return True
    except HarnessError:
        return False


def sweep(older_than: float, dry_run: bool, run_id: str | None = None, say: Callable[[str], None] = print) -> int:
    """Remove leftovers; return how many workspaces were (or would be) removed."""
    removed = 0
    for leftover in throwaway_leftovers(older_than, run_id):
        where = leftover.target.describe() if leftover.target else "an unknown target (no record)"
        if dry_run:
            say(f"would remove {leftover.workspace} ({leftover.age_seconds / 60:.0f} min old) on {where}")
            removed += 1
            continue
        if leftover.target is None:
            say(f"skipped {leftover.workspace}: no record of its target; "
                f"remove it with `harness down --workspace {leftover.workspace} --target ...`")
            continue
        deployer = Deployer(leftover.target)
        deployer.prepare()
        workspace = Workspace(leftover.workspace, deployer, "sweep")
        if _reachable(leftover.target):
            workspace.down()
            say(f"destroyed and deleted {leftover.workspace} on {where}")
        elif leftover.target.is_local_endpoint and leftover.target.kind == "local":
            deployer.runner.run("workspace delete", leftover.workspace, with_workspace=False, force=True)
            say(f"deleted state of {leftover.workspace}: its local AWS ({leftover.target.endpoint}) is gone, "
                "and its resources with it")
        else:
            say(f"skipped {leftover.workspace}: {where} does not answer; retry when it does")
            continue
        delete_record(leftover.workspace)
        removed += 1
    still_in_state = [lo.workspace for lo in throwaway_leftovers(0, run_id)]
    for run_dir in sorted(paths.runs_dir().glob("*")) if paths.runs_dir().exists() else []:
        if run_id and run_dir.name != run_id:
            continue
        if any(name.startswith(f"{THROWAWAY_PREFIX}{run_dir.name}-") for name in still_in_state):
            continue
        if time.time() - run_dir.stat().st_mtime < older_than:
            continue
        server = localaws_process.LocalAwsProcess.load(run_dir / "localaws.json")
        if dry_run:
            say(f"would remove run directory {run_dir.name}" + (f" and stop its local AWS (pid {server.pid})"
                                                                   if server and server.alive() else ""))
            continue
        if server and server.alive():
            server.stop()
            say(f"stopped the local AWS of run {run_dir.name} (pid {server.pid})")
        shutil.rmtree(run_dir, ignore_errors=True)
        say(f"removed run directory {run_dir.name}")
    return removed
