"""Nightly runs for real: history, report, a regression flagged, and the report in a browser."""

import json
import shutil
import subprocess
import tempfile

import pytest

from harness import paths
from harness.reporting import junit

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, harness_cli):
    """A clean run, then a broken module's run that regresses against it (a third, second clean
    run added a minute and proved nothing more: its comparison with the first is the broken run's
    comparison without a failure, covered by tests/unit/test_nightly_rules.py)."""
    reports = tmp_path_factory.mktemp("reports")
    cli = harness_cli.with_env(HARNESS_REPORTS_DIR=str(reports))
    results = [cli.harness("nightly", timeout=900),
               cli.harness("nightly", "--stack-var", "binary_media_types=[]", timeout=900)]
    return reports, results


def test_a_clean_run_records_everything_and_no_regression(two_runs):
    reports, (clean, _) = two_runs
    assert clean.returncode == 0, clean.stdout + clean.stderr
    first = json.loads((reports / "history.jsonl").read_text().splitlines()[0])
    assert first["checks"] and first["regressions"] == []
    assert first["suite_exit_code"] == 0 and first["suite_status"] == "passed" and first["run_id"]
    assert f"nightly: run {first['run_id']} passed: " in clean.stdout, clean.stdout
    assert set(first["phases"]) == {"init", "apply", "ready", "checks", "destroy"} and first["upload_MiB_per_s"] > 0
    assert first["commit"] and first["versions"]["terraform"] and first["versions"]["python"]
    # The JUnit report names the suite's run as a nightly one (the last run wrote it: the broken one).
    assert junit.suite_property(reports / "nightly-junit.xml", "harness_run_kind") == "nightly"


def test_broken_module_run_flags_the_regression_and_fails(two_runs):
    reports, (_, broken) = two_runs
    assert broken.returncode == 1
    assert "REGRESSION [check]" in broken.stdout and "test_integrity" in broken.stdout
    assert " failed: " in broken.stdout.split("nightly: run ", 1)[1].splitlines()[0], broken.stdout
    records = (reports / "history.jsonl").read_text().splitlines()
    assert len(records) == 2  # appended to the clean run's record, not written over it
    assert json.loads(records[1])["regressions"]
    assert junit.suite_property(reports / "nightly-junit.xml", "harness_run_id") == json.loads(records[1])["run_id"]
    page = (reports / "index.html").read_text()
    assert "Regressed in the last run" in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it when it can)")
def test_report_renders_its_plots_in_headless_chromium(two_runs):
    import matplotlib.image

    reports, _ = two_runs
    artifact = paths.reports_dir() / "report-screenshot.png"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--window-size=1200,2600", f"--screenshot={artifact}",
                        (reports / "index.html").as_uri()], capture_output=True, timeout=120, check=False)
    pixels = matplotlib.image.imread(str(artifact))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000
    # The plots occupy the lower part of the page: it must not be blank.
    assert float(pixels[800:, :, :3].std()) > 0.05


SECRET_PATTERNS = [
    r"\b(AKIA|ASIA)[A-Z0-9]{16}\b",  # access key ids (ASIA: STS session keys, like the role's)
    r"FQoGZXIvYXdzE",  # the prefix of STS session tokens
    r"(?i)(secret_?access_?key|session_?token)\W{0,3}[:=]",
]


def test_no_secret_in_reports_junit_history_or_logs(two_runs):
    import re

    reports, _ = two_runs
    files = [*reports.iterdir(), *paths.data_dir().glob("*.log")]
    assert {p.name for p in files} >= {"history.jsonl", "index.html", "nightly-junit.xml"}
    for path in files:
        text = path.read_text(errors="replace")
        for pattern in SECRET_PATTERNS:
            assert not re.search(pattern, text), f"{pattern} found in {path}"
