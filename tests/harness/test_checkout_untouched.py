"""Runs leave the checkout alone: a named workspace's up, checks and down, and a throwaway run of
a few e2e checks, under a temporary data directory, add nothing to the checkout but build caches.

What the checkout holds is read from `git status --porcelain --ignored` (an untracked or
ignored directory is one entry), with the harness's own
ignored folders (`.harness/`, `reports/`) listed entry by entry, before and after. Allowed
to appear: the build caches (`.venv/`, `__pycache__/`, `*.egg-info/`, `.pytest_cache/`,
`.ruff_cache/`, `.mypy_cache/`), the toolchain cache `.harness/toolchain/` and set-up's tools
(`.harness/tools/`), and the `harness_*.tf` files
generated into the stack (the same for every run). Not allowed: any run data, and above all
Terraform's `terraform.tfstate.d/` or `.terraform/` in the stack.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id

pytestmark = pytest.mark.slow
ROOT = paths.project_root()
# The harness's own ignored folders: listed entry by entry, since git names them as one.
LISTED_WHOLE = (".harness", "reports")
ALLOWED = (".venv/", "*__pycache__/", "*.egg-info/", ".pytest_cache/", ".ruff_cache/", ".mypy_cache/",
           ".harness/toolchain", ".harness/tools", "terraform/stacks/*/harness_*.tf")


def checkout_entries() -> set[str]:
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True).stdout
    entries = {line[3:] for line in status.splitlines() if line[:2] in ("??", "!!")}
    for folder in LISTED_WHOLE:
        if (ROOT / folder).is_dir():
            entries.discard(f"{folder}/")
            entries |= {path.relative_to(ROOT).as_posix() for path in _entries(ROOT / folder)}
    return entries


def _entries(folder: Path) -> list[Path]:
    """`.harness/` one level deep (the toolchain cache is large), `reports/` whole."""
    return list(folder.iterdir()) if folder.name == ".harness" else list(folder.rglob("*"))


def allowed(entry: str) -> bool:
    return any(fnmatch.fnmatch(entry, pattern) for pattern in ALLOWED)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_up_checks_down_and_a_throwaway_run_add_nothing_to_the_checkout(tmp_path, harness_cli):
    cli = harness_cli.private(tmp_path / "data", HARNESS_REPORTS_DIR=str(tmp_path / "reports"))
    before = checkout_entries()
    name = f"clean-{new_run_id()}"
    try:
        up = cli.harness("up", "--workspace", name)
        assert up.returncode == 0, up.stderr[-3000:]
        checks = cli.pytest("tests/e2e/test_keys.py", "--workspace", name, "-q")
        assert checks.returncode == 0, checks.stdout[-3000:]
    finally:
        down = cli.harness("down", "--workspace", name)
    assert down.returncode == 0, down.stderr[-3000:]
    throwaway = cli.pytest("tests/e2e/test_oversize.py", "-q")
    assert throwaway.returncode == 0, throwaway.stdout[-3000:]

    new = checkout_entries() - before
    assert sorted(entry for entry in new if not allowed(entry)) == []  # e.g. terraform/stacks/e2e/.terraform/
    # Where it went instead: the data directory.
    assert (tmp_path / "data" / "terraform" / "e2e" / ".terraform").is_dir()
    assert (tmp_path / "data" / "state" / "e2e").is_dir()
