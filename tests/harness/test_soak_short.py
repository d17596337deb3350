"""A short soak: full cycles leave nothing behind on the local AWS."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_short_soak_has_no_leaks_and_no_failures(tmp_path, harness_cli):
    result = harness_cli.harness("soak", "--cycles", "3", "--max-seconds", "300",
                                 env={"HARNESS_REPORTS_DIR": str(tmp_path)}, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "soak.json").read_text())
    assert (report["cycles_run"], report["failures"], report["leaks"]) == (3, 0, 0)
    for cycle in report["cycles"]:
        assert cycle["leftovers"] == {"workspaces": 0, "buckets": 0, "roles": 0, "rest_apis": 0}
        assert cycle["rss_mb"] > 0


FAULTS = ("s3.put:slowdown@rate=0.2,s3.put:internal@rate=0.1,s3.put:latency=50ms,apigw:throttle@rate=0.1,"
          "apigw:conflict@count=2,iam:throttle@count=2,data:reset@rate=0.1;seed=42")


def test_short_fault_soak_reports_faults_per_kind_no_false_pass_and_no_leak(tmp_path, harness_cli):
    result = harness_cli.harness("soak", "--cycles", "2", "--max-seconds", "300", "--faults", FAULTS,
                                 env={"HARNESS_REPORTS_DIR": str(tmp_path)}, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "faults injected: s3.put:slowdown" in result.stdout and "0 false pass(es)" in result.stdout
    report = json.loads((tmp_path / "soak.json").read_text())
    assert (report["cycles_run"], report["failures"], report["leaks"], report["false_passes"]) == (2, 0, 0, 0)
    injected = report["faults_injected"]
    assert injected["apigw:conflict"] == 2 and injected["iam:throttle"] == 2 and injected["apigw:throttle"] > 0
    # Every upload that met an S3 error or a reset was seen failing by the client.
    assert report["expected_failures"] > 0
    assert report["expected_failures"] <= injected["s3.put:slowdown"] + injected["s3.put:internal"] + \
        injected["data:reset"]
