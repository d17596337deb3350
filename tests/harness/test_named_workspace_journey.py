"""A named workspace as a user lives with it: variables remembered, checked, changed, dropped.

Runs the `harness` command and pytest as a user would, under a temporary data directory
(records, the persistent local AWS), on the local target.
"""

import json
import os
import re
import subprocess

import pytest
import requests

from harness.lifecycle.workspace import new_run_id
from harness.localaws.process import LocalAwsProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(harness_cli, tmp_path_factory):
    """The journey's own data directory: `harness workspaces` lists what this module made, nothing else."""
    return harness_cli.private(tmp_path_factory.mktemp("harness-data"))


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def workspace(cli):
    name = f"live-{new_run_id()}"
    up = cli.harness("up", "--workspace", name, "--stack-var", "throttle_rate_limit=20")
    assert up.returncode == 0, up.stderr
    assert "stack variable throttle_rate_limit: (stack default) -> 20" in up.stderr
    try:
        yield name
    finally:
        down = cli.harness("down", "--workspace", name)
        assert down.returncode == 0, down.stderr


def test_a_misspelled_stack_var_is_refused_before_anything_runs(cli):
    result = cli.harness("up", "--workspace", "never", "--stack-var", 'authorisation="AWS_IAM"')
    assert result.returncode == 2
    lines = error_lines(result)
    assert lines[0] == "error: --stack-var 'authorisation': the stack declares no variable of that name"
    assert "did you mean --stack-var authorization=...?" in lines[1]
    assert len(lines) == 2
    assert not (cli.data_dir / "workspaces" / "never.json").exists()
    assert "never" not in cli.harness("workspaces", "--json").stdout


def test_the_workspace_remembers_its_variables(cli, workspace):
    outputs = json.loads(cli.harness("outputs", "--workspace", workspace).stdout)
    assert outputs["harness_stack_vars"] == {"throttle_rate_limit": 20}
    listed = json.loads(cli.harness("workspaces", "--json").stdout)
    assert listed[workspace]["stack_vars"] == {"throttle_rate_limit": 20}
    table = cli.harness("workspaces").stdout
    assert re.search(rf"^{workspace}\s+named\s+local .*vars: throttle_rate_limit=20$", table, re.MULTILINE), table

    # Drift compares against what is deployed, not against the stack's defaults...
    assert cli.harness("drift", "--workspace", workspace).returncode == 0
    # ...which would differ: dropping the variable for one drift run shows the pending change.
    against_defaults = cli.harness("drift", "--workspace", workspace, "--json",
                               "--unset-stack-var", "throttle_rate_limit")
    assert against_defaults.returncode == 2, against_defaults.stderr
    findings = json.loads(against_defaults.stdout)["findings"]
    assert findings and all(f["kind"] == "pending" for f in findings)
    assert any("throttl" in json.dumps(f) or "rate_limit" in json.dumps(f) for f in findings), findings

    # `up` without --stack-var keeps the remembered value instead of reverting it.
    again = cli.harness("up", "--workspace", workspace)
    assert again.returncode == 0, again.stderr
    assert "stack variables as last applied: throttle_rate_limit=20" in again.stderr
    assert cli.harness("drift", "--workspace", workspace).returncode == 0


def test_dropping_a_variable_is_explicit_and_said(cli, workspace):
    result = cli.harness("up", "--workspace", workspace, "--unset-stack-var", "throttle_rate_limit",
                     "--stack-var", "throttle_burst_limit=40")
    assert result.returncode == 0, result.stderr
    assert "stack variable throttle_rate_limit: 20 -> (stack default)" in result.stderr
    assert "stack variable throttle_burst_limit: (stack default) -> 40" in result.stderr
    outputs = json.loads(cli.harness("outputs", "--workspace", workspace).stdout)
    assert outputs["harness_stack_vars"] == {"throttle_burst_limit": 40}
    assert cli.harness("drift", "--workspace", workspace).returncode == 0


def test_pytest_checks_the_workspace_at_configure(cli, workspace):
    bad_name = cli.pytest("tests/e2e", "--workspace", "Demo")
    assert bad_name.returncode == pytest.ExitCode.USAGE_ERROR
    assert [line for line in bad_name.stderr.splitlines() if line.startswith("ERROR")] == [
        "ERROR: harness: the workspace name 'Demo' is not allowed: use 1-32 lowercase letters, digits and hyphens, "
        "starting with a letter or digit (it becomes part of S3 bucket and IAM role names)"]
    assert "--workspace demo" in bad_name.stderr  # advice the CLI accepts

    missing = cli.pytest("tests/e2e", "--workspace", "nosuch")
    assert missing.returncode == pytest.ExitCode.USAGE_ERROR
    assert "workspace 'nosuch' does not exist here" in missing.stderr
    assert "harness up --workspace nosuch" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 2

    present = cli.pytest("tests/e2e/test_keys.py", "--workspace", workspace, "-q")
    assert present.returncode == 0, present.stdout[-2000:]


def test_narrowing_the_source_ranges_takes_effect_with_up(cli, workspace):
    """The resource policy follows `allowed_source_cidrs` through `harness up`: the deployment
    depends on the policy and hashes it, because AWS applies a policy change only with the next
    deployment ("Create and attach an API Gateway resource policy to an API",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-create-attach.html).
    Loopback callers are let in by 127.0.0.0/8, then refused once the ranges exclude them."""

    def put(key: str) -> requests.Response:
        outputs = json.loads(cli.harness("outputs", "--workspace", workspace).stdout)
        return requests.put(f"{outputs['harness_invoke_url']}/{outputs['bucket_name']}/{key}", data=b"x",
                            timeout=30)

    allowed = cli.harness("up", "--workspace", workspace, "--stack-var", 'allowed_source_cidrs=["127.0.0.0/8"]')
    assert allowed.returncode == 0, allowed.stderr
    assert put("policy-allowed").status_code == 200
    assert cli.harness("drift", "--workspace", workspace).returncode == 0

    # The readiness gate probes from loopback too, which the narrowed policy refuses by design.
    narrowed = cli.harness("up", "--workspace", workspace, "--no-readiness-gate",
                           "--stack-var", 'allowed_source_cidrs=["10.0.0.0/8"]')
    assert narrowed.returncode == 0, narrowed.stderr
    assert 'stack variable allowed_source_cidrs: ["127.0.0.0/8"] -> ["10.0.0.0/8"]' in narrowed.stderr
    refused = put("policy-refused")
    assert refused.status_code == 403, refused.text
    assert cli.harness("drift", "--workspace", workspace).returncode == 0

    # Back to every address, so the workspace's other checks still reach it.
    reopened = cli.harness("up", "--workspace", workspace, "--unset-stack-var", "allowed_source_cidrs")
    assert reopened.returncode == 0, reopened.stderr
    assert put("policy-reopened").status_code == 200


def test_down_and_drift_of_a_workspace_that_does_not_exist(cli):
    down = cli.harness("down", "--workspace", "nosuch")
    assert down.returncode == 0
    assert "workspace 'nosuch' does not exist here" in down.stderr and "nothing to destroy" in down.stderr
    assert "creates it" not in down.stderr
    drift = cli.harness("drift", "--workspace", "nosuch")
    assert drift.returncode == 1
    assert "workspace 'nosuch' does not exist here" in drift.stderr


def test_a_kept_throwaway_workspace_is_removed_whole_by_the_down_it_prints(tmp_path, harness_cli):
    run_id = new_run_id()
    cli = harness_cli.private(tmp_path)
    kept = cli.pytest("tests/e2e/test_keys.py", "--keep", "-q", env={"HARNESS_RUN_ID": run_id})
    assert kept.returncode == 0, kept.stdout[-2000:]
    hint = re.search(r"harness down --workspace (t-[a-z0-9-]+)", kept.stdout + kept.stderr)
    assert hint, kept.stdout[-2000:]
    run_dir = tmp_path / "runs" / run_id
    server = LocalAwsProcess.load(run_dir / "localaws.json")
    assert server is not None and server.alive()

    down = cli.harness("down", "--workspace", hint.group(1))
    assert down.returncode == 0, down.stderr
    assert f"destroyed and deleted workspace {hint.group(1)}" in down.stderr
    assert not run_dir.exists()
    assert not server.alive()
    assert not os.listdir(tmp_path / "workspaces")
    swept = cli.harness("sweep", "--older-than", "0s", "--dry-run", "--run-id", run_id)
    assert "would remove 0 throwaway workspace(s)" in swept.stdout, swept.stdout
