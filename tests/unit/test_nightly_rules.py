"""Regression rules of the nightly run, and the report for empty, one-run and long histories."""

import base64
import io
import re

import pytest

from harness.jobs import nightly
from harness.reporting import history, report


def record(outcomes, phases=None, drift=None, when=0.0):
    return {"time": 1_790_000_000 + when, "commit": "abc", "versions": {"terraform": "1.15.5"},
            "checks": {name: {"outcome": o, "seconds": 0.1} for name, o in outcomes.items()},
            "phases": phases or {"init": 0.3, "apply": 1.5, "checks": 4.0, "destroy": 2.0},
            "upload_MiB_per_s": 150.0, "drift": drift or [], "drift_workspace": "nightly" if drift else None,
            "regressions": []}


def test_check_that_passed_before_and_fails_now_is_a_regression():
    history = [record({"a": "passed", "b": "failed"})]
    found = nightly.find_regressions(record({"a": "failed", "b": "failed", "c": "failed"}), history, 2.0, 7)
    assert [(r["kind"], r["name"]) for r in found] == [("check", "a")]


def test_a_run_as_good_as_the_previous_has_no_regression():
    history = [record({"a": "passed", "b": "failed"})]
    assert nightly.find_regressions(record({"a": "passed", "b": "failed"}), history, 2.0, 7) == []


def test_no_previous_run_means_no_check_regression():
    assert nightly.find_regressions(record({"a": "failed"}), [], 2.0, 7) == []


def test_drift_is_a_regression():
    finding = {"kind": "drift", "address": "x", "attribute": "tags", "before": 1, "after": 2}
    found = nightly.find_regressions(record({}, drift=[finding]), [], 2.0, 7)
    assert [r["kind"] for r in found] == ["drift"]


def test_slow_phase_against_median_of_window():
    history = [record({}, when=i) for i in range(5)]
    slow = record({}, phases={"init": 0.3, "apply": 3.1, "checks": 4.0, "destroy": 2.0})
    found = nightly.find_regressions(slow, history, 2.0, 7)
    assert [(r["kind"], r["name"]) for r in found] == [("timing", "apply")]
    assert nightly.find_regressions(slow, history[:2], 2.0, 7) == []  # too few runs to judge


def test_torn_history_line_is_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    history.append_record(record({"a": "passed"}), path)
    with path.open("a") as handle:
        handle.write('{"time": 1, "chec')
    assert len(history.load_history(path)) == 1


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)]


def _not_blank(png: bytes) -> bool:
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png))
    return float(pixels.std()) > 0.01


@pytest.mark.parametrize("runs", [0, 1, 80])
def test_report_renders_for_any_history_length(runs):
    history = [record({f"check-{i}": "passed" if (i + n) % 7 else "failed" for i in range(40)}, when=n)
               for n in range(runs)]
    page = report.render(history)
    assert page.startswith("<!doctype html>") and page.endswith("</html>")
    images = _images(page)
    if runs == 0:
        assert images == [] and "No runs yet" in page
    else:
        assert len(images) == 3 and all(_not_blank(png) for png in images)


def test_report_highlights_latest_regressions_and_drift():
    latest = record({"a": "failed"}, drift=[{"kind": "drift", "address": "aws_s3_bucket.this", "attribute": "tags",
                                             "before": {"a": "1"}, "after": {"a": "2"}}])
    latest["regressions"] = [{"kind": "check", "name": "a", "detail": "passed in the previous run, fails now"}]
    page = report.render([record({"a": "passed"}), latest])
    assert "Regressed in the last run" in page and "class='regressed'" in page
    assert "aws_s3_bucket.this" in page and "tags" in page


def test_report_lists_each_assumption_with_its_latest_outcome_per_target():
    def assumption(target, outcome, observed):
        return {"id": "folded-header-refused", "statement": "A folded header is refused with 400.",
                "target": target, "outcome": outcome, "observed": observed}

    local = record({"a": "passed"}, when=1)
    local["assumptions"] = [assumption("local", "held", ["status 400"])]
    aws_old = record({"a": "passed"}, when=2)
    aws_old["assumptions"] = [assumption("aws", "held", ["status 400"])]
    aws_new = record({"a": "passed"}, when=3)
    aws_new["assumptions"] = [assumption("aws", "differed", ["status 200"])]
    targets, rows = report.assumption_rows([local, aws_old, aws_new])
    assert targets == ["aws", "local"]
    assert rows == [["folded-header-refused", "A folded header is refused with 400.",
                     "differed: status 200 (run id not recorded, 2026-09-21 14:13:23 UTC)",
                     "held: status 400 (run id not recorded, 2026-09-21 14:13:21 UTC)"]]
    page = report.render([local, aws_old, aws_new])
    assert "Unconfirmed AWS assumptions" in page and "differed: status 200" in page


def test_report_names_the_latest_run_and_says_when_it_was_interrupted():
    earlier = {**record({"a": "passed"}), "run_id": "r-earlier", "suite_exit_code": 0, "suite_status": "passed"}
    cut = {**record({}, when=60), "run_id": "r-cut", "suite_exit_code": 2, "suite_status": "interrupted"}
    page = report.render([earlier, cut])
    assert "Latest: run <code>r-cut</code> (nightly, 2026-09-21 14:14:20 UTC)" in page
    assert "status interrupted: 0 passed, 0 failed, 0 skipped" in page
    assert "<h2>Latest run interrupted</h2><p>INTERRUPTED: the run stopped before its end" in page
    assert "No regression in the last run (run <code>r-cut</code>" in page
    assert "Latest drift (run <code>r-cut</code> (nightly, 2026-09-21 14:14:20 UTC))" in page
    # A record written before runs named themselves: status from its exit code, never "passed".
    old = {**record({}, when=120), "suite_exit_code": 4}
    page = report.render([earlier, old])
    assert "status errored" in page and "<h2>Latest run errored</h2>" in page
    finished = report.render([cut, earlier])
    assert "Latest run" not in finished and "status passed: 1 passed" in finished


def test_report_shows_the_failed_checks_access_log_lines_of_the_latest_run():
    latest = {**record({"a": "failed", "b": "passed"}), "run_id": "r-broken"}
    latest["checks"]["a"]["access_log"] = [{"text": "18:00:00Z  PUT  /e2e/b/k  status 500  integration 503  <x>"}]
    page = report.render([record({"a": "passed"}), latest])
    assert "API Gateway access log of the failed checks (run <code>r-broken</code>" in page
    assert "<h3><code>a</code></h3><pre>18:00:00Z  PUT  /e2e/b/k  status 500  integration 503  &lt;x&gt;</pre>" in page
    assert "access log" not in report.render([record({"a": "passed"})])
