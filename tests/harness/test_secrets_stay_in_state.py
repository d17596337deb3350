"""The API key's value never leaves Terraform's state: not in run files, records, reports,
logs, JUnit, `harness outputs`, or any new file of the checkout; and `harness down` of a
kept throwaway workspace removes its run directory.

One child pytest run applies the API_KEY variant on the local AWS with two xdist workers
(which read the shared stack's outputs the way every worker does) and keeps the stack;
the key is then read from the workspace's state file and searched for, byte for byte, in
every file the run could have written: all of the run's data directory (state aside) and
reports directory, and every file of the checkout written since the run began.
"""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow
ROOT = paths.project_root()


def state_api_key(state_file: Path) -> str:
    """The key as Terraform's state holds it (the local backend's state file of the workspace)."""
    state = json.loads(state_file.read_text())
    keys = [instance["attributes"]["value"] for resource in state["resources"]
            if resource["type"] == "aws_api_gateway_api_key" for instance in resource["instances"]]
    assert len(keys) == 1 and len(keys[0]) >= 20, "the API_KEY variant has one generated key"
    return str(keys[0])


def files_holding(secret: bytes, roots: list[Path], since: float, skip: Path) -> list[str]:
    """Files under `roots` (the checkout: only those written since `since`) that contain `secret`."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink() or skip in path.parents or ".git" in path.parts:
                continue
            if root == ROOT and path.stat().st_mtime < since:
                continue
            if secret in path.read_bytes():
                found.append(str(path))
    return found


@pytest.fixture
def scratch_dir():
    """Outside pytest's basetemp: the child pytest runs rotate old basetemps away, and the stack's
    .terraform links into the data directory's provider cache while the test runs."""
    path = Path(tempfile.mkdtemp(prefix="harness-secrets-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_api_key_stays_in_terraform_state(scratch_dir, harness_cli, monkeypatch):
    tmp_path = scratch_dir
    run_id = new_run_id()
    workspace = f"t-{run_id}-main"
    data, reports = tmp_path / "data", tmp_path / "reports"
    cli = harness_cli.private(data, HARNESS_REPORTS_DIR=str(reports)).with_env(HARNESS_RUN_ID=run_id)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data))  # where the state is looked for: the run's data directory
    state_dir = LocalState(paths.stack_dir()).state_file(workspace).parent
    started = time.time() - 1
    kept = cli.pytest("-q", "-n", "2", "--keep", "tests/e2e/test_authorization.py", "tests/e2e/test_keys.py",
                      "--stack-var", 'authorization="API_KEY"', "--junitxml", str(reports / "junit.xml"),
                      "--harness-summary", str(reports / "e2e-summary.json"), "-o", "junit_logging=all",
                      timeout=600)
    try:
        assert kept.returncode == 0, kept.stdout[-3000:]
        assert f"harness down --workspace {workspace}" in kept.stdout + kept.stderr
        key = state_api_key(state_dir / "terraform.tfstate")
        secret = key.encode()

        run_dir = data / "runs" / run_id
        stack_file = json.loads((run_dir / "stack.json").read_text())
        assert stack_file["withheld"] == ["api_key_value"]
        # Failure messages name where the key is, never the key (pytest would print both sides).
        written = stack_file["outputs"]["api_key_value"] is not None
        assert not written, "stack.json holds the API key"

        shown = cli.harness("outputs", "--workspace", workspace, timeout=120)
        assert shown.returncode == 0, shown.stderr
        masked = json.loads(shown.stdout)["api_key_value"] == "(sensitive)"
        assert masked, "harness outputs does not mask api_key_value"

        printed = [name for name, text in (("pytest stdout", kept.stdout), ("pytest stderr", kept.stderr),
                                           ("outputs stdout", shown.stdout), ("outputs stderr", shown.stderr))
                   if key in text]
        assert printed == []
        assert files_holding(secret, [data, reports, ROOT], started, state_dir) == []
        # The JUnit report was searched; a kept run writes no e2e-summary.json (its run is not over).
        assert (reports / "junit.xml").exists()
    finally:
        down = cli.harness("down", "--workspace", workspace)
    assert down.returncode == 0, down.stderr
    assert not (data / "runs" / run_id).exists(), "harness down of a kept throwaway removes its run directory"
    assert not state_dir.exists()
    printed = key in down.stdout + down.stderr
    assert not printed, "harness down printed the API key"
    assert files_holding(secret, [data, reports, ROOT], started, state_dir) == []
    assert not os.listdir(data / "workspaces")
