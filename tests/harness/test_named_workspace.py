"""A named, long-lived workspace: up, checks that leave it intact, down."""

import json
import os
import subprocess
import sys

import pytest

from harness import paths
from harness.workspace import new_run_id

pytestmark = pytest.mark.slow


def run(*command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_RUN", "PYTEST_XDIST"))}
    return subprocess.run([sys.executable, "-m", *command], cwd=paths.project_root(), env=env,
                          capture_output=True, text=True, timeout=300)


def test_up_check_keeps_it_then_down_removes_it():
    name = f"named-{new_run_id()}"
    up = run("harness.cli", "up", "--workspace", name)
    try:
        assert up.returncode == 0, up.stderr
        outputs = json.loads(up.stdout)
        checks = run("pytest", "tests/e2e", "-k", "integrity", "--workspace", name, "-q", "-p", "no:cacheprovider")
        assert checks.returncode == 0, checks.stdout[-2000:]
        assert " passed" in checks.stdout and "destroyed" not in checks.stdout
        still = run("harness.cli", "outputs", "--workspace", name)
        assert still.returncode == 0 and json.loads(still.stdout)["bucket_name"] == outputs["bucket_name"]
    finally:
        down = run("harness.cli", "down", "--workspace", name)
    assert down.returncode == 0, down.stderr
    assert f"destroyed and deleted workspace {name}" in down.stderr
    assert not (paths.stack_dir() / "terraform.tfstate.d" / name).exists()
    assert not (paths.workspaces_dir() / f"{name}.json").exists()
    gone = run("harness.cli", "outputs", "--workspace", name)
    assert gone.returncode == 2 and "error:" in gone.stderr and "Traceback" not in gone.stderr
