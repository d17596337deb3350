"""The shipped CI definitions pass actionlint and zizmor (offline) with no findings, and pin every action."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import paths

ROOT = paths.project_root()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (make setup installs the dev dependencies)")
    return str(found)


def test_the_two_workflows_are_there():
    assert [w.name for w in WORKFLOWS] == ["e2e.yml", "nightly.yml"]


def test_actionlint_has_no_findings():
    result = subprocess.run([_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_has_no_findings_even_pedantic():
    result = subprocess.run([_tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress",
                             str(ROOT / ".github" / "workflows")], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "No findings" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_tag_named(workflow):
    text = workflow.read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert PINNED.match(action), f"{workflow.name}: {action} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d+(\.\d+)*", comment), f"{workflow.name}: {action} does not name its tag"


def test_nightly_runs_on_a_schedule_with_oidc_and_never_overlaps():
    nightly = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    triggers = nightly[True]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert nightly["permissions"] == {} and nightly["concurrency"]["cancel-in-progress"] is False
    job = nightly["jobs"]["nightly"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert "${{ matrix.region }}" in job["env"]["HARNESS_BACKEND"]  # one state key per leg
    assert "${{ matrix.provider }}" in job["env"]["HARNESS_BACKEND"]
    steps = job["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert "vars." in credentials["with"]["role-to-assume"]
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])
    assert "harness sweep" in steps[-1]["run"] and steps[-1]["if"] == "${{ always() }}"


def test_gitlab_example_has_the_same_two_jobs():
    gitlab = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())
    assert {"e2e", "nightly"} <= set(gitlab)
    assert gitlab["e2e"]["script"] == ["make e2e"]
    nightly = gitlab["nightly"]
    assert nightly["resource_group"] and "id_tokens" in nightly
    assert any("harness sweep" in line for line in nightly["after_script"])
