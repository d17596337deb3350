"""`harness bench --smoke` produces a well-formed report; figures are not judged here."""

import json

import pytest

from harness.jobs import bench

pytestmark = pytest.mark.slow


def test_bench_smoke_writes_well_formed_report(tmp_path, harness_cli):
    result = harness_cli.harness("bench", "--smoke", env={"HARNESS_REPORTS_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "bench-smoke.json").read_text())
    for phase in ("init", "apply", "checks", "destroy", "cycle"):
        stats = report["cycles"][phase]
        # init is 0 when nothing changed since the last init: a warm run skips it, as `make e2e` does
        lowest = 0 if phase == "init" else 1e-9
        assert stats["n"] == 1 and lowest <= stats["min"] <= stats["median"] <= stats["max"]
    assert set(report["throughput"]) == set(bench.SIZES)
    for item in report["throughput"].values():
        assert item["ratio_of_medians"] > 0 and item["gateway"]["median"] > 0
    assert report["peak_memory"]["peak_rss_mb"] >= report["peak_memory"]["rss_before_mb"] > 0
    # the comparison lines appear only when another endpoint was measured
    assert set(report["verdict"]) == set(bench.BUDGET) - {"localaws_vs_other_cycle_ratio",
                                                          "localaws_vs_other_peak_rss_ratio"}
    assert list(report["endpoints"]) == ["local"] and report["endpoints"]["local"]["cycles"] == report["cycles"]
    for phase in ("floor", "ratio_to_floor", "teardown", "workspace", "output"):
        assert report["cycles"][phase]["median"] > 0
    assert report["machine"]["cores"] >= 1 and report["terraform"]["version"]
    assert "budget line" in result.stdout and "written:" in result.stdout
