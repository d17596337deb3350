"""`harness summary`: markdown from the e2e summary JSON and the nightly history; annotations from JUnit."""

import json

from harness import cli
from harness.reporting import summary

SUMMARY = {
    "run_id": "abc123", "seconds": 12.5, "terraform": "1.15.5", "versions": {"python": "3.11.7", "moto": "5.2.5"},
    "phases": {"init": {"count": 1, "total_seconds": 1.8}, "apply": {"count": 1, "total_seconds": 2.3},
               "destroy": {"count": 1, "total_seconds": 2.1}},
    "checks": {
        "tests/e2e/test_integrity.py::test_binary[1MiB]": {"outcome": "passed", "seconds": 0.4},
        "tests/e2e/test_keys.py::test_key[a|b]": {"outcome": "failed", "seconds": 0.2},
        "tests/e2e/test_oversize.py::test_413": {"outcome": "skipped", "seconds": 0.0},
    },
    "uploads": {"count": 2, "bytes": 2097152, "seconds": 0.1, "MiB_per_s": 20.0},
}
RECORD = {"time": 1_790_000_000, "commit": "0123456789abcdef", "suite_exit_code": 1,
          "versions": {"terraform": "1.15.5"}, "checks": SUMMARY["checks"],
          "phases": {"init": 1.8, "apply": 9.0, "checks": 3.0, "destroy": 2.1},
          "regressions": [{"kind": "check", "name": "tests/e2e/test_keys.py::test_key[a|b]",
                           "detail": "passed in the previous run, fails now"}],
          "drift_workspace": "nightly", "drift": [{"kind": "drift", "address": "module.upload_api.aws_s3_bucket.this",
                                                   "attribute": "tags.owner", "before": None, "after": "x"}]}


def test_markdown_lists_counts_failures_phases_regressions_and_drift():
    earlier = {**RECORD, "phases": {"init": 1.0, "apply": 2.0, "checks": 3.0, "destroy": 2.0}, "regressions": []}
    text = summary.markdown(SUMMARY, [earlier, RECORD])
    assert "1 passed, 1 failed, 1 skipped" in text and text.startswith("## ❌")
    assert "- `tests/e2e/test_keys.py::test_key[a|b]` (0.20 s)" in text
    assert "| apply | 1 | 2.30 |" in text and "Uploads: 2 (2.0 MiB, 20.0 MiB/s)" in text
    assert "Nightly run #2" in text and "`0123456789ab`" in text
    assert "| check | tests/e2e/test_keys.py::test_key[a\\|b] | passed in the previous run, fails now |" in text
    assert "| apply | 9.00 | 2.00 |" in text
    assert "Workspace `nightly`: 1 finding(s)" in text and "tags.owner" in text


def test_clean_run_and_absent_history_or_assumptions():
    clean = {**SUMMARY, "checks": {k: {"outcome": "passed", "seconds": 0.1} for k in SUMMARY["checks"]}}
    text = summary.markdown(clean, [])
    assert text.startswith("## ✅ e2e checks, run `abc123` (kind not recorded, unknown time): "
                           "3 passed, 0 failed, 0 skipped")
    assert "Failed checks" not in text and "Nightly" not in text and "assumptions" not in text
    first = summary.markdown(None, [{**RECORD, "regressions": [], "drift": [], "drift_workspace": None}])
    assert "first run: nothing to compare" in first and "Not checked" in first


def test_assumptions_render_with_their_outcome_on_the_target():
    from harness.targets import assumptions

    log = [{"id": "folded-header-refused", "held": False, "observed": "status 200", "check": "t::a"},
           {"id": "length-and-chunked-refused", "held": True, "observed": "status 400", "check": "t::b"}]
    import pathlib
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        path = pathlib.Path(scratch) / "a.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in log))
        outcomes = assumptions.outcomes(path, "aws")
    text = summary.markdown({**SUMMARY, "assumptions": outcomes}, [])
    assert "| assumption | on aws | observed | what it means |" in text
    assert "| `folded-header-refused` | differed | status 200 | refuted on AWS" in text
    assert "| `length-and-chunked-refused` | held | status 400 | confirmed on AWS |" in text
    assert "**Refuted on AWS:** `folded-header-refused`" in text
    assert "raw-dot-segments" not in text, "assumptions not exercised are left out"


def test_cli_writes_markdown_and_fails_clearly_without_input(tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps(SUMMARY))
    assert cli.main(["summary", "--markdown", "--summary", str(tmp_path / "s.json"),
                     "--history", str(tmp_path / "none.jsonl")]) == 0
    assert "1 failed" in capsys.readouterr().out
    assert cli.main(["summary", "--summary", str(tmp_path / "x.json"), "--history", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "nothing to summarise" in err and "make e2e" in err


def test_github_annotations_escape_messages_so_they_cannot_start_commands(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase classname="tests.e2e.test_keys" name="test_a"/>'
        '<testcase classname="tests.e2e.test_keys" name="test_b[x,y]">'
        '<failure message="assert 500 == 200&#10;::add-mask::secret">trace</failure></testcase>'
        '<testcase classname="tests.e2e.test_errors" name="test_c"><error message="">boom\nlast line</error>'
        '</testcase></testsuite></testsuites>')
    lines = summary.github_annotations(junit)
    assert lines == ["::error title=tests.e2e.test_keys%3A%3Atest_b[x%2Cy]::assert 500 == 200%0A::add-mask::secret",
                     "::error title=tests.e2e.test_errors%3A%3Atest_c::last line"]
    assert all("\n" not in line for line in lines)


def test_every_section_names_its_run_and_an_older_e2e_run_says_so():
    e2e = {**SUMMARY, "run": {"id": "e2e-old", "kind": "e2e", "started": RECORD["time"] - 3600, "status": "failed"}}
    nightly = {**RECORD, "run_id": "nightly-new", "suite_status": "failed"}
    text = summary.markdown(e2e, [nightly])
    assert "## ❌ e2e checks, run `e2e-old` (e2e, 2026-09-21 13:13:20 UTC): 1 passed, 1 failed" in text
    assert "> This e2e section is an earlier run than the nightly run below (2026-09-21 14:13:20 UTC)" in text
    assert "## ❌ Nightly run #1, run `nightly-new` (nightly, 2026-09-21 14:13:20 UTC), commit `0123456789ab`" in text
    # The e2e run after the nightly one is not flagged.
    newer = {**e2e, "run": {**e2e["run"], "started": RECORD["time"] + 60}}
    assert "is an earlier run" not in summary.markdown(newer, [nightly])


def test_an_interrupted_or_errored_run_says_so_instead_of_bare_zero_counts():
    cut = {**SUMMARY, "checks": {}, "run": {"id": "cut1", "kind": "e2e", "started": RECORD["time"],
                                            "status": "interrupted"}}
    text = summary.markdown(cut, [])
    assert text.startswith("## ⚠️ e2e checks, run `cut1` (e2e, 2026-09-21 14:13:20 UTC): "
                           "INTERRUPTED after 0 passed, 0 failed, 0 skipped")
    assert "**INTERRUPTED: the run stopped before its end" in text
    # A nightly whose suite wrote no summary: its record has only the exit code.
    killed = {**RECORD, "checks": {}, "regressions": [], "suite_exit_code": 2}
    text = summary.markdown(None, [killed])
    assert "INTERRUPTED after 0 passed, 0 failed, 0 skipped; suite exit code 2" in text
    assert "run `id not recorded` (nightly," in text
    errored = summary.markdown(None, [{**killed, "suite_exit_code": 4}])
    assert "ERRORED after 0 passed" in errored and "**ERRORED: the session itself failed" in errored
    finished = summary.markdown(None, [{**RECORD, "suite_status": "failed"}])
    assert "INTERRUPTED" not in finished and "ERRORED" not in finished


def test_run_status_from_pytest_exit_codes():
    from harness.reporting import runs

    assert [runs.status_from_exit(code) for code in (0, 1, 2, 3, 4, 5, None)] == [
        "passed", "failed", "interrupted", "errored", "errored", "no checks collected", "errored"]
    assert runs.status_from_exit(0, interrupted=True) == "interrupted"


def test_junit_annotation_names_the_run_and_adds_notes_to_the_failed_case(tmp_path):
    from harness.reporting import junit, runs

    path = tmp_path / "junit.xml"
    path.write_text('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
                    '<testcase classname="tests.e2e.test_keys" name="test_key[a|b]">'
                    '<properties><property name="harness_request" value="x"/></properties>'
                    '<failure message="assert 500 == 200">trace</failure></testcase>'
                    '<testcase classname="tests.e2e.test_keys.TestC" name="test_other"/>'
                    '</testsuite></testsuites>')
    run = runs.RunIdentity("r1", "nightly", RECORD["time"], "interrupted")
    junit.annotate(path, junit.run_properties(run), {
        "tests/e2e/test_keys.py::test_key[a|b]": junit.CaseNotes([("harness_access_log", "line 1")], "line 1")})
    assert junit.suite_property(path, "harness_run_id") == "r1"
    assert junit.suite_property(path, "harness_run_kind") == "nightly"
    assert junit.suite_property(path, "harness_run_started") == "2026-09-21 14:13:20 UTC"
    assert junit.suite_property(path, "harness_run_status") == "interrupted"
    import xml.etree.ElementTree as ET

    cases = list(ET.parse(path).getroot().iter("testcase"))
    assert [(p.get("name"), p.get("value")) for p in cases[0].iterfind("properties/property")] == [
        ("harness_request", "x"), ("harness_access_log", "line 1")]
    assert cases[0].findtext("system-err") == "line 1"
    assert cases[1].find("properties") is None and cases[1].find("system-err") is None
    assert junit.case_address("tests/e2e/test_keys.py::TestC::test_other[1/2]") == (
        "tests.e2e.test_keys.TestC", "test_other[1/2]")


def test_a_failed_check_is_listed_with_its_access_log_lines_in_both_sections():
    logged = [{"text": f"2026-12-04 18:00:0{n}Z  PUT  /e2e/b/k  status 500  integration 503  4 ms  request r{n}"}
              for n in range(12)]
    checks = {**SUMMARY["checks"], "tests/e2e/test_keys.py::test_key[a|b]": {
        "outcome": "failed", "seconds": 0.2, "access_log": logged}}
    text = summary.markdown({**SUMMARY, "checks": checks}, [{**RECORD, "checks": checks}])
    assert text.count("- `tests/e2e/test_keys.py::test_key[a|b]` (0.20 s)\n  - API Gateway access log:\n"
                      "    - `2026-12-04 18:00:00Z  PUT  /e2e/b/k  status 500  integration 503  4 ms  request r0`") == 2
    assert text.count("request r9`") == 2 and "request r10" not in text
    assert text.count("    - … and 2 more (see the e2e summary JSON)") == 2
