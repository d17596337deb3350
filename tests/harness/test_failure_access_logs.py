"""A failed check's report shows API Gateway's access-log lines of its requests; a green run
makes no log lookup at all.

Child runs of e2e checks on the local AWS, as a user runs them: two broken on purpose, one
green. In one, every integration `PutObject` answers S3's 503 SlowDown (`--localaws-faults
's3.put:slowdown@rate=1'`, docs/faults.md): S3 answered, so the line has the integration's
status and no error message. In the other, API Gateway cannot assume the integration role
(it has not propagated: `--localaws-profile aws-like:role=60s`): the integration is never
called, and the line has the gateway's and the integration's error messages. The readiness
gate, whose probe uploads too, is off in both. The local AWS records every AWS API request it serves (moto's recorder,
`MOTO_ENABLE_RECORDING`, in the local AWS process itself): the calls that read log events
are counted there, not in a mock.
"""

import json
import xml.etree.ElementTree as ET

import pytest
from test_lifecycle import assert_nothing_left, run_child

from harness import cli
from harness.lifecycle.workspace import new_run_id

pytestmark = pytest.mark.slow
CHECKS = ["tests/e2e/test_integrity.py", "-k", "body_arrives_unchanged and (one-byte or pdf or random-1KiB)"]
BROKEN = ["--localaws-faults", "s3.put:slowdown@rate=1", "--no-readiness-gate", "-p", "no:xdist"]
# On two xdist workers: the request ids reach the controller with each check's reports.
UNASSUMABLE_ROLE = ["--localaws-profile", "aws-like:role=60s,stage=0s,flap=0", "--no-readiness-gate", "-n", "2"]
# CloudWatch Logs actions that read a group's events (CloudWatch Logs API reference); Terraform's
# own calls (CreateLogGroup, DescribeLogGroups, ListTagsForResource, DeleteLogGroup) manage the group.
LOOKUPS = ("Logs_20140328.FilterLogEvents", "Logs_20140328.GetLogEvents", "Logs_20140328.StartQuery")


def _logs_calls(recording):
    targets = []
    for line in recording.read_text().splitlines() if recording.exists() else []:
        headers = {k.lower(): v for k, v in json.loads(line)["headers"].items()}
        if headers.get("x-amz-target", "").startswith("Logs_"):
            targets.append(headers["x-amz-target"])
    return targets


@pytest.fixture(scope="module")
def runs(tmp_path_factory, harness_cli):
    """(result, summary, junit path, log calls) of the broken run and of the green one."""
    done = {}
    for name, extra in (("broken", BROKEN), ("unassumable", UNASSUMABLE_ROLE), ("green", ["-p", "no:xdist"])):
        folder = tmp_path_factory.mktemp(name)
        recording = folder / "recording.jsonl"
        run_id = new_run_id()
        # Read by the local AWS the child run starts.
        recorded = harness_cli.with_env(MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=str(recording))
        result = run_child(recorded, run_id, *CHECKS, *extra, f"--harness-summary={folder / 'summary.json'}",
                           f"--junitxml={folder / 'junit.xml'}")
        assert_nothing_left(run_id)
        done[name] = (result, json.loads((folder / "summary.json").read_text()), folder, _logs_calls(recording))
    return done


def _failed(summary):
    return {nodeid: check for nodeid, check in summary["checks"].items() if check["outcome"] == "failed"}


def test_each_failed_check_reports_the_gateways_line_with_the_integrations_status_and_error(runs):
    result, summary, _, calls = runs["broken"]
    assert result.returncode == 1, result.stdout[-3000:]
    failed = _failed(summary)
    assert len(failed) == 3 and summary["run"]["status"] == "failed", summary["checks"]
    for nodeid, check in failed.items():
        logged = [entry for entry in check["access_log"] if entry.get("line")]
        assert logged, (nodeid, check["access_log"])
        for entry in logged:
            line = entry["line"]
            # The answer's ids are the line's ids; S3's 503 is the integration's status.
            assert line["requestId"] == entry["requestId"] and line["extendedRequestId"] == entry["extendedRequestId"]
            assert line["status"] == str(entry["status"]) and line["integration.status"] == "503", line
            assert "integration 503" in entry["text"] and f"request {line['requestId']}" in entry["text"]
            for field, label in (("error.message", "error: "), ("integrationErrorMessage", "integration error: ")):
                if line.get(field) not in (None, "", "-"):
                    assert f"{label}{line[field]}" in entry["text"], entry
        # The terminal: under the check's name, its lines.
        assert f"harness: access log of {nodeid}:" in result.stdout, result.stdout[-3000:]
        assert f"harness:   {logged[0]['text']}" in result.stdout
    # One lookup for all of them (the lines are there at once on the local AWS: one wait, one poll).
    assert sum(1 for call in calls if call in LOOKUPS) == 1, calls


def test_a_call_the_gateway_could_not_make_shows_its_error_messages(runs):
    result, summary, _, _ = runs["unassumable"]
    assert result.returncode == 1, result.stdout[-3000:]
    failed = _failed(summary)
    assert len(failed) == 3, summary["checks"]
    for check in failed.values():
        entries = [entry for entry in check["access_log"] if entry.get("line")]
        assert entries, check["access_log"]
        for entry in entries:
            line = entry["line"]
            assert line["status"] == "500" and line["integration.status"] == "-", line
            assert f"error: {line['error.message']}" in entry["text"] and line["error.message"] not in ("", "-")
            assert f"integration error: {line['integrationErrorMessage']}" in entry["text"]
            assert "assume the provided role" in line["integrationErrorMessage"]
            assert f"error: {line['error.message']}" in result.stdout


def test_junit_and_markdown_show_the_failed_checks_lines(runs, capsys):
    _, summary, folder, _ = runs["broken"]
    cases = {case.get("name"): case for case in ET.parse(folder / "junit.xml").getroot().iter("testcase")}
    for nodeid, check in _failed(summary).items():
        case = cases[nodeid.split("::")[-1]]
        properties = [p.get("value") for p in case.iterfind("properties/property")
                      if p.get("name") == "harness_access_log"]
        texts = [entry["text"] for entry in check["access_log"]]
        assert properties == texts and any("integration 503" in text for text in texts)
        assert "API Gateway access log of this check's requests:" in case.findtext("system-err")
        # The answers' ids, recorded while the check ran, are in its JUnit record too.
        requests = [json.loads(p.get("value")) for p in case.iterfind("properties/property")
                    if p.get("name") == "harness_request"]
        assert {r["requestId"] for r in requests} >= {e["requestId"] for e in check["access_log"]}
    assert cli.main(["summary", "--markdown", "--summary", str(folder / "summary.json"),
                     "--history", str(folder / "no-history.jsonl")]) == 0
    text = capsys.readouterr().out
    assert "### Failed checks" in text and text.count("  - API Gateway access log:") == 3
    assert "integration 503" in text


def test_a_green_run_makes_no_log_lookup(runs):
    result, summary, _, calls = runs["green"]
    assert result.returncode == 0, result.stdout[-3000:]
    assert summary["counts"]["passed"] == 3 and not _failed(summary)
    assert "access_log" not in json.dumps(summary["checks"])
    # The recording sees this run's CloudWatch Logs calls (Terraform manages the group), and none reads lines.
    assert any(call.endswith("CreateLogGroup") for call in calls), calls
    assert not [call for call in calls if call in LOOKUPS], calls
