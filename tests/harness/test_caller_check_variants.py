"""Each caller check applied on the local AWS: the whole e2e suite green behind it, its refusals
and throttling observed, and nothing left after teardown.

Each case is a child pytest run with its own run id and `--stack-var`s, as a user would run
it (docs/caller-checks.md). The whole suite runs with the default throttle (50/s, burst
100); throttling and the quota are checked in a run of the authorization checks alone with
low limits, because a stage throttled to 2/s would (rightly) refuse the rest of the suite.
"""

import json

import pytest
from test_lifecycle import assert_nothing_left, run_child

from harness.lifecycle.workspace import new_run_id

pytestmark = pytest.mark.slow
LOW_THROTTLE = ["--stack-var", "throttle_rate_limit=2", "--stack-var", "throttle_burst_limit=4"]
SMALL_QUOTA = ["--stack-var", 'usage_plan_quota={"limit": 12, "period": "DAY"}']


def _run(harness_cli, tmp_path, *args):
    run_id = new_run_id()
    summary_file = tmp_path / f"summary-{run_id}.json"
    result = run_child(harness_cli, run_id, *args, "--harness-summary", str(summary_file))
    summary = json.loads(summary_file.read_text())
    assert_nothing_left(run_id)
    return result, summary


def _outcomes(summary, fragment):
    return {nodeid.split("::")[-1]: item["outcome"] for nodeid, item in summary["checks"].items()
            if fragment in nodeid}


@pytest.mark.parametrize("variant", ["AWS_IAM", "API_KEY"])
def test_whole_e2e_suite_is_green_behind_the_caller_check(variant, tmp_path, harness_cli):
    result, summary = _run(harness_cli, tmp_path, "tests/e2e", "--stack-var", f'authorization="{variant}"')
    assert result.returncode == 0, result.stdout[-3000:]
    assert summary["counts"]["failed"] == 0
    assert summary["counts"]["passed"] >= 60, summary["counts"]
    checks = _outcomes(summary, "test_authorization.py")
    refusals = {
        "AWS_IAM": ["test_authorization_unsigned_request_is_refused", "test_authorization_wrong_signature_is_refused",
                    "test_authorization_caller_without_invoke_is_refused"],
        "API_KEY": ["test_authorization_missing_api_key_is_forbidden", "test_authorization_wrong_api_key_is_forbidden"],
    }[variant]
    for name in [*refusals, "test_authorization_authorised_caller_uploads_byte_identical"]:
        assert checks[name] == "passed", (name, checks)


def test_throttle_and_quota_are_observed_behind_api_keys(tmp_path, harness_cli):
    result, summary = _run(harness_cli, tmp_path, "tests/e2e/test_authorization.py",
                           "--stack-var", 'authorization="API_KEY"', *LOW_THROTTLE, *SMALL_QUOTA)
    assert result.returncode == 0, result.stdout[-3000:]
    checks = _outcomes(summary, "test_authorization.py")
    assert checks["test_authorization_burst_above_the_throttle_gets_429s"] == "passed", checks
    assert checks["test_authorization_usage_plan_quota_gets_limit_exceeded"] == "passed", checks


def test_throttle_is_observed_behind_iam(tmp_path, harness_cli):
    result, summary = _run(harness_cli, tmp_path, "tests/e2e/test_authorization.py", "-k", "burst or authorised",
                           "--stack-var", 'authorization="AWS_IAM"', *LOW_THROTTLE)
    assert result.returncode == 0, result.stdout[-3000:]
    checks = _outcomes(summary, "test_authorization.py")
    assert checks["test_authorization_burst_above_the_throttle_gets_429s"] == "passed", checks


def test_resource_policy_refuses_callers_outside_the_source_ranges(tmp_path, harness_cli):
    """Only 127.0.0.2 may call: the gate (which probes from 127.0.0.1) is off for this run."""
    result, summary = _run(harness_cli, tmp_path, "tests/e2e/test_authorization.py", "-k", "resource_policy",
                           "--stack-var", 'allowed_source_cidrs=["127.0.0.2/32"]', "--no-readiness-gate")
    assert result.returncode == 0, result.stdout[-3000:]
    checks = _outcomes(summary, "test_authorization.py")
    assert checks["test_authorization_resource_policy_refuses_callers_outside_the_ranges"] == "passed", checks
