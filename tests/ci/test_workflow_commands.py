"""The e2e workflow's commands, run in order on the embedded local AWS the way the runner runs them.

Every `run:` line of the shipped CI definitions must be a command docs/ci.md documents
(the command and each option it passes), so what CI does is what a user can do.
"""

import os
import re
import shlex
import subprocess

import pytest
import yaml

from harness import paths

ROOT = paths.project_root()
CI_PAGE = (ROOT / "docs" / "ci.md").read_text()
GITHUB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]  # GitHub's `shell: bash`


def _workflow_runs(name: str) -> list[tuple[str, dict[str, str]]]:
    """(run line, step env) of every run step of the workflow's jobs, in order."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    runs = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                runs.append((step["run"].strip(), {**job.get("env", {}), **step.get("env", {})}))
    return runs


def _gitlab_lines() -> list[str]:
    gitlab = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())
    return [line for job in ("e2e", "nightly") for key in ("before_script", "script", "after_script")
            for line in gitlab[job].get(key, [])]


def _documented(line: str) -> tuple[str, list[str]]:
    """The command (executable and subcommand) and the options a run line uses."""
    words = shlex.split(re.split(r"\s(?:>>|>|\|\|)\s", line)[0])
    words[0] = words[0].removeprefix(".venv/bin/")
    command = " ".join(w for w in words[:2] if not w.startswith("-"))
    return command, [w.split("=", 1)[0] for w in words if w.startswith("--")]


HARNESS_LINES = ([line for line, _ in _workflow_runs("e2e.yml") + _workflow_runs("nightly.yml")]
                 + [line for line in _gitlab_lines() if line.startswith(("make ", ".venv/bin/"))])


@pytest.mark.parametrize("line", HARNESS_LINES)
def test_every_ci_command_is_documented_on_the_ci_page(line):
    command, options = _documented(line)
    assert command.startswith(("make ", "harness ")), f"{line!r} is not a make target or harness command"
    assert f"`{command}" in CI_PAGE or f"{command} " in CI_PAGE, f"docs/ci.md does not document `{command}`"
    for option in options:
        assert option in CI_PAGE, f"docs/ci.md does not document {option} (used by {line!r})"


@pytest.mark.slow
def test_e2e_workflow_commands_run_in_order_on_the_local_aws(tmp_path):
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_RUN", "PYTEST_XDIST", "PYTEST_ADDOPTS"))}
    outputs = []
    for line, env in _workflow_runs("e2e.yml"):
        assert "${{" not in line, f"{line!r} expands an expression in the shell (template injection)"
        completed = subprocess.run([*GITHUB_SHELL, line], cwd=ROOT, capture_output=True, text=True, timeout=600,
                                   env={**base, **env, "GITHUB_STEP_SUMMARY": str(step_summary), "CI": "true"})
        assert completed.returncode == 0, f"{line!r} exited {completed.returncode}:\n{completed.stdout[-3000:]}" \
                                          f"\n{completed.stderr[-3000:]}"
        outputs.append(completed.stdout)
    assert next(line for line, _ in _workflow_runs("e2e.yml")) == "make e2e"
    assert re.search(r"=+ \d+ passed", outputs[0])
    assert not any(line.startswith("::error") for line in outputs[1].splitlines())  # nothing failed
    summary = step_summary.read_text()
    assert re.match(r"## ✅ e2e checks, run `\w+` \(e2e, [^)]+\): \d+ passed, 0 failed", summary), summary[:300]
    assert "### Terraform phases" in summary and "| apply | 1 |" in summary
    assert (paths.reports_dir() / "e2e-junit.xml").exists()  # the session's reports directory, not the checkout's
