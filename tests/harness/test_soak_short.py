"""A short soak: full cycles leave nothing behind on the local AWS."""

import json
import subprocess
import sys

import pytest

from harness import paths
from harness.workspace import child_run_environment

pytestmark = pytest.mark.slow


def test_short_soak_has_no_leaks_and_no_failures(tmp_path):
    env = {**child_run_environment(), "HARNESS_REPORTS_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "harness.cli", "soak", "--cycles", "3", "--max-seconds", "300"],
                            cwd=paths.project_root(), env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "soak.json").read_text())
    assert (report["cycles_run"], report["failures"], report["leaks"]) == (3, 0, 0)
    for cycle in report["cycles"]:
        assert cycle["leftovers"] == {"workspaces": 0, "buckets": 0, "roles": 0, "rest_apis": 0}
        assert cycle["rss_mb"] > 0
