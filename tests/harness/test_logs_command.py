"""`harness logs`, tried as a new user would: bad values first, then a workspace's own lines,
then the same workspace with access logging turned off.

Each command is the real CLI in a child process (`harness_cli`) on the local AWS.
"""

import json

import pytest
from test_bad_input import assert_clear_error, traces_of

from harness.client.upload_client import EXTENDED_REQUEST_ID_HEADER, REQUEST_ID_HEADER, UploadClient, encode_key
from harness.lifecycle.workspace import new_run_id

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("args", "expected"), [
    (["--since", "10x"], "--since '10x' is not a duration"),
    (["--since", "0s"], "--since 0s is outside 1s..30d"),
    (["--since", "31d"], "--since 31d is outside 1s..30d"),
    (["--status", "5x"], "--status '5x' is not a status or class"),
    (["--limit", "0"], "--limit 0 is outside 1..1000"),
    ([], "does not exist"),
])
def test_bad_values_and_a_missing_workspace_are_one_clear_error(args, expected, harness_cli):
    name = f"logs-{new_run_id()}"
    assert_clear_error(harness_cli.harness("logs", "--workspace", name, *args), expected)
    assert traces_of(name) == []


def test_a_workspaces_lines_then_the_same_stack_without_access_logging(harness_cli):
    harness = harness_cli.harness
    name = f"logs-{new_run_id()}"
    try:
        up = harness("up", "--workspace", name)
        assert up.returncode == 0, up.stderr[-3000:]
        outputs = json.loads(up.stdout)
        assert outputs["access_log_group_name"]
        client = UploadClient(outputs["harness_invoke_url"], outputs["bucket_name"])
        keys = [f"logs/{n}.txt" for n in range(2)]
        answers = [client.put(key, b"hello", "text/plain") for key in keys]
        assert [a.status_code for a in answers] == [200, 200]

        shown = harness("logs", "--workspace", name)
        assert shown.returncode == 0, shown.stderr[-3000:]
        lines = shown.stdout.splitlines()
        for key, answer in zip(keys, answers, strict=True):
            request_id = answer.headers[REQUEST_ID_HEADER]
            assert request_id and answer.headers[EXTENDED_REQUEST_ID_HEADER]
            line = next(line for line in lines if line.endswith(f"request {request_id}"))
            # time, method, path, status, integration status, latency, request id: in that order, on one line
            when, method, path, status, integration, latency = line.split("  ")[:6]
            assert when.endswith("Z") and method == "PUT" and path.endswith((encode_key(key), key))
            assert status == "status 200" and integration == "integration 200" and latency.endswith(" ms"), line

        only_5xx = harness("logs", "--workspace", name, "--status", "5xx", "--since", "1h")
        assert only_5xx.returncode == 0, only_5xx.stderr
        assert all(" status 5" in line for line in only_5xx.stdout.splitlines())
        if not only_5xx.stdout:
            assert "no access-log line in the last 1h with status 5xx" in only_5xx.stderr
        assert len(harness("logs", "--workspace", name, "--limit", "1").stdout.splitlines()) == 1

        off = harness("up", "--workspace", name, "--stack-var", "access_logging=false")
        assert off.returncode == 0, off.stderr[-3000:]
        assert_clear_error(harness("logs", "--workspace", name), f"workspace '{name}' has no access log")
    finally:
        harness("down", "--workspace", name)
    assert traces_of(name) == []
