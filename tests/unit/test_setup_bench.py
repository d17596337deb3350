"""The set-up benchmark's reporting: medians, the cold-to-e2e ratio, the verdict, the table,
and the venv size counted as `du` counts it. (The benchmark itself takes minutes: `make bench-setup`.)"""

import os
import re

from harness.jobs import setup_bench


def rounds(*values):
    return [{"cold_setup_seconds": cold, "warm_setup_seconds": warm, "venv_mb": venv, "e2e_seconds": e2e,
             "cold_to_e2e_seconds": cold_e2e, "installer": "uv"} for cold, warm, venv, e2e, cold_e2e in values]


def test_medians_ratio_and_verdict():
    report = setup_bench.summarize(rounds((12.0, 6.0, 320.0, 6.0, 18.0), (14.0, 8.0, 320.0, 5.0, 30.0),
                                          (13.0, 12.0, 330.0, 6.0, 20.0)))
    assert report["figures"]["cold_setup_seconds"] == {"min": 12.0, "median": 13.0, "max": 14.0, "n": 3}
    # The ratio is taken per round (both sides measured on the same machine state), then the median.
    assert report["figures"]["cold_to_e2e_vs_e2e_ratio"]["median"] == round(20.0 / 6.0, 2)
    verdict = report["verdict"]
    assert verdict["cold_setup_seconds"] == {"measured": 13.0, "budget": setup_bench.BUDGET["cold_setup_seconds"],
                                             "within": True}
    assert verdict["warm_setup_seconds"]["within"] is True and verdict["venv_mb"]["within"] is True
    assert verdict["cold_to_e2e_vs_e2e_ratio"]["within"] is True
    assert report["installers"] == ["uv"]


def test_a_regression_is_a_no_in_the_table():
    report = setup_bench.summarize(rounds((40.0, 30.0, 800.0, 6.0, 50.0)))
    assert all(item["within"] is False for item in report["verdict"].values())
    text = setup_bench.table(report)
    assert re.search(r"^cold_setup_seconds\s+40\.00\s+13\.70\s+NO$", text, re.MULTILINE)
    assert re.search(r"^make e2e s \(set up\)\s+6\.00\s+6\.00\s+6\.00$", text, re.MULTILINE)
    assert text.count(" NO") == len(setup_bench.BUDGET)


def test_missing_figures_are_dashes_not_a_crash():
    report = setup_bench.summarize([])
    assert all(item["measured"] is None and item["within"] is None for item in report["verdict"].values())
    assert "cold_setup_seconds" in setup_bench.table(report)


def test_the_cold_budget_is_three_tenths_of_the_pip_set_up_before():
    assert setup_bench.BUDGET["cold_setup_seconds"] == round(0.3 * setup_bench.PIP_BEFORE_COLD_SECONDS, 1)


def test_venv_size_counts_a_hard_linked_file_once(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "a").write_bytes(os.urandom(4 * 2**20))
    single = setup_bench.venv_mb(venv)
    os.link(venv / "a", venv / "b")  # as uv links one cached file into a venv twice
    assert setup_bench.venv_mb(venv) == single
    (venv / "c").write_bytes(os.urandom(4 * 2**20))
    assert setup_bench.venv_mb(venv) >= single + 3.9
