"""Reading API Gateway's access log (harness/client/access_logs.py) from a real CloudWatch Logs
API: the local AWS's, with lines put as the module's format writes them."""

import json
import time
import uuid

import pytest

from harness.client import access_logs
from harness.client.upload_client import RequestIds
from harness.errors import HarnessError


def _line(request_id, extended, status="200", integration="200", error="-", integration_error="-", path="/b/k",
          method="PUT", latency="12"):
    return json.dumps({"requestId": request_id, "extendedRequestId": extended, "httpMethod": method, "path": path,
                       "status": status, "integration.status": integration, "responseLatency": latency,
                       "error.message": error, "integrationErrorMessage": integration_error,
                       "requestTime": "04/Dec/2026:18:00:00 +0000"})


@pytest.fixture
def group(local_target):
    logs = local_target.client("logs")
    name = f"/harness/test/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    yield logs, name
    logs.delete_log_group(logGroupName=name)


def _put(logs, name, *messages, at_ms=None):
    now = at_ms or int(time.time() * 1000)
    logs.put_log_events(logGroupName=name, logStreamName="s",
                        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])


def test_failed_checks_get_their_lines_matched_by_either_id_and_missing_ones_are_named(group):
    logs, name = group
    _put(logs, name, _line("r-1", "x-1", status="500", integration="403",
                           error="Internal server error", integration_error="Access Denied"),
         _line("r-other", "x-2", status="200"), "not json: another writer's line")
    ok = RequestIds("PUT", "/b/k", 500, "r-1", "")  # matched by requestId
    by_extended = RequestIds("PUT", "/b/k", 200, "client-chosen", "x-2")  # matched by extendedRequestId
    late = RequestIds("PUT", "/b/late", 502, "r-late", "x-late")
    bare = RequestIds("PUT", "/b/bare", 500, "", "")
    found = access_logs.lines_for_requests(logs, name, {"t::a": [ok, by_extended], "t::b": [late, bare]},
                                           since=time.time() - 5, wait_seconds=0)
    first, second = found["t::a"].text_lines()
    assert "PUT  /b/k  status 500  integration 403  12 ms  error: Internal server error  " \
           "integration error: Access Denied  request r-1" in first
    assert "status 200" in second and "request r-other" in second
    late_text, bare_text = found["t::b"].text_lines()
    assert late_text.startswith("PUT /b/late -> 502 (request r-late, x-late): no access-log line arrived in time")
    assert "carried no request id" in bare_text
    as_json = found["t::a"].to_json()
    assert as_json[0]["line"]["integrationErrorMessage"] == "Access Denied" and as_json[0]["requestId"] == "r-1"
    assert found["t::b"].to_json()[0]["line"] is None


def test_recent_lines_bounded_by_time_status_and_count(group):
    logs, name = group
    now = time.time()
    _put(logs, name, _line("old", "o", status="500"), at_ms=int((now - 3600) * 1000))
    _put(logs, name, *[_line(f"r{i}", f"x{i}", status=s) for i, s in enumerate(["200", "502", "403", "500"])])
    assert [line.request_id for line in access_logs.recent(logs, name, 600).lines] == ["r0", "r1", "r2", "r3"]
    assert [line.request_id for line in access_logs.recent(logs, name, 600, "5xx").lines] == ["r1", "r3"]
    assert [line.request_id for line in access_logs.recent(logs, name, 600, "403").lines] == ["r2"]
    assert [line.request_id for line in access_logs.recent(logs, name, 7200, "5xx", limit=1).lines] == ["r3"]
    assert [line.request_id for line in access_logs.recent(logs, name, 7200, "5xx").lines] == ["old", "r1", "r3"]


def test_a_group_holding_more_lines_than_are_read_says_so(group, monkeypatch):
    logs, name = group
    _put(logs, name, *[_line(f"r{i}", f"x{i}") for i in range(5)])
    monkeypatch.setattr(access_logs, "PAGE_LIMIT", 2)  # the bound, made small: 2 pages of 2 lines
    monkeypatch.setattr(access_logs, "MAX_PAGES", 2)
    found = access_logs.recent(logs, name, 600)
    assert not found.complete and [line.request_id for line in found.lines] == ["r0", "r1", "r2", "r3"]
    assert access_logs.recent(logs, name, 600, "4xx").complete is False  # the filter applies after reading
    last = RequestIds("PUT", "/b/k", 500, "r4", "x4")
    (text,) = access_logs.lines_for_requests(logs, name, {"t::a": [last]}, time.time() - 5, 30)["t::a"].text_lines()
    assert "not among the first 4 lines the log group holds since the session began" in text
    monkeypatch.setattr(access_logs, "MAX_PAGES", 3)
    assert access_logs.recent(logs, name, 600).complete


def test_a_missing_group_or_output_and_bad_filters_are_one_clear_error(local_target):
    logs = local_target.client("logs")
    with pytest.raises(HarnessError, match="the access log group /harness/none does not exist"):
        access_logs.recent(logs, "/harness/none", 60)
    with pytest.raises(HarnessError, match="workspace 'w1' has no access log") as caught:
        access_logs.log_group({"bucket_name": "b", "access_log_group_name": None}, "w1")
    assert "access_logging=true" in caught.value.hint
    for bad in ("5x", "600", "abc", "xx"):
        with pytest.raises(HarnessError, match="is not a status or class"):
            access_logs.parse_status_filter(bad)
    assert access_logs.parse_status_filter("5XX") == "5xx" and access_logs.parse_status_filter(None) is None
