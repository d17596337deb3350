"""The runner's logic that needs no process: which changes a stopped command left unfinished, and the
bound it keeps as the docs and the help state it (tests/toolchain/test_runner_stand_in.py runs it)."""

import pytest

from harness.terraform.runner import unfinished_changes


def test_unfinished_changes_are_those_started_and_not_completed():
    lines = ["a.b: Creating...\n", "a.c: Modifying... [id=c]\n", "a.b: Still creating... [10s elapsed]\n",
             "a.c: Modifications complete after 1s [id=c]\n", "a.d: Destroying... [id=d]\n"]
    assert unfinished_changes(lines) == ["a.b", "a.d"]


def test_the_docs_and_the_help_state_the_bound_the_runner_keeps(capsys):
    from harness.cli import main
    from harness.paths import project_root
    from harness.terraform.runner import INTERRUPT_GRACE_SECONDS, STOP_BOUND_SECONDS

    readme = " ".join((project_root() / "docs" / "workspaces.md").read_text().split())
    assert f"stopped after {INTERRUPT_GRACE_SECONDS:.0f} s" in readme
    assert f"ends at most {STOP_BOUND_SECONDS:.0f} s after the timeout" in readme
    with pytest.raises(SystemExit):
        main(["up", "--help"])  # argparse prints the help and exits before anything runs
    assert f"ends at most {STOP_BOUND_SECONDS:.0f}s after its timeout" in " ".join(capsys.readouterr().out.split())
