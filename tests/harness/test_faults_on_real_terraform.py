"""Real Terraform and real HTTP against a local AWS on a bad day (harness/localaws/faults.py).

Each case is a child pytest run, as a user would start it, with its own run id; afterwards
nothing may be left (state, record, run directory, local AWS process).

- control-plane faults during apply and destroy: the provider's own retries (429 and
  `Throttling` are retried by the AWS SDK inside the provider) and the harness's declared
  RETRYABLE_ERRORS get the run through;
- the aws-like profile: the whole e2e suite is green because the readiness gate waits;
  without the gate the first checks meet the 403/500 of a stage or role not yet live;
- a role that never becomes assumable: the gate's one error names it and the time waited.
"""

import json

import pytest
from test_lifecycle import assert_nothing_left, run_child

from harness.lifecycle.workspace import new_run_id

pytestmark = pytest.mark.slow


def test_control_plane_faults_during_apply_and_destroy_are_survived_and_leave_nothing(harness_cli):
    run_id = new_run_id()
    # Rate-based, so destroy gets its share as well as apply; seeded, so the run is reproducible.
    spec = "apigw:throttle@rate=0.2,apigw:conflict@count=2,iam:throttle@rate=0.2,sts:throttle@count=1;seed=5"
    result = run_child(harness_cli, run_id, "tests/e2e/test_oversize.py", "--localaws-faults", spec, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    line = next(line for line in result.stdout.splitlines() if "faults injected:" in line)
    injected = dict(item.rsplit(" ", 1) for item in line.split("faults injected: ", 1)[1].split(", "))
    assert int(injected["apigw:throttle"]) > 0 and int(injected["iam:throttle"]) > 0, line
    assert injected["apigw:conflict"] == "2", line
    assert f"destroyed and deleted workspace t-{run_id}-main" in result.stdout
    assert_nothing_left(run_id)


def test_aws_like_profile_whole_e2e_suite_is_green_because_of_the_gate(tmp_path, harness_cli):
    run_id = new_run_id()
    summary_file = tmp_path / "summary.json"
    result = run_child(harness_cli, run_id, "tests/e2e", "-n", "2", "--localaws-profile",
                       "aws-like:role=4s,stage=3s,flap=1", "--harness-summary", str(summary_file), timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["counts"]["failed"] == 0 and summary["counts"]["passed"] > 40
    # Time-to-ready is in the summary, and it is the profile's delay, not the instant default
    # (two probes 0.25 s apart): the stage is created at the end of apply and answers 403 for 3 s.
    assert summary["phases"]["ready"]["count"] == 1
    assert summary["phases"]["ready"]["total_seconds"] >= 1.0, summary["phases"]
    assert "local AWS profile aws-like:role=4s,stage=3s,flap=1" in result.stdout
    assert_nothing_left(run_id)


def test_aws_like_profile_without_the_gate_is_red_with_the_gateways_answer(harness_cli):
    run_id = new_run_id()
    result = run_child(harness_cli, run_id, "tests/e2e/test_integrity.py", "-k", "body_arrives_unchanged",
                       "--localaws-profile", "aws-like:role=5s,stage=5s,flap=1", "--no-readiness-gate", timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Missing Authentication Token" in output or "Internal server error" in output, output[-3000:]
    assert "the API answered as intended" not in output  # the gate did not run
    assert_nothing_left(run_id)


def test_gate_names_the_role_when_it_never_becomes_assumable(harness_cli):
    run_id = new_run_id()
    result = run_child(harness_cli, run_id, "tests/e2e/test_oversize.py", "--localaws-profile",
                       "aws-like:role=600s,stage=0s,flap=0", "--ready-timeout", "6", timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "the API never became ready: the integration role cannot be assumed yet (IAM propagation)" in output
    assert "waited " in output and "raise --ready-timeout" in output
    assert f"destroyed and deleted workspace t-{run_id}-main" in result.stdout  # teardown still ran
    assert_nothing_left(run_id)
