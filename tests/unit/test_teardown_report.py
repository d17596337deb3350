"""The typed teardown report and what the plugin decides from it: exit status, last lines, progress wording."""

import pytest

from harness.lifecycle.run import READY_PHASE, TeardownReport
from harness.pytest_plugin import ending_line, exit_status, phase_line

OK, FAILED, INTERRUPTED, USAGE, NONE_COLLECTED = (
    pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED)


def destroyed() -> TeardownReport:
    report = TeardownReport(destroyed=True)
    report.say("destroyed and deleted workspace t-r1-main")
    report.removed.append("workspace t-r1-main (destroyed and deleted)")
    return report


def failed() -> TeardownReport:
    report = TeardownReport()
    report.fail("workspace t-r1-main", "harness down --workspace t-r1-main", "DeleteBucket: BucketNotEmpty")
    return report


def interrupted() -> TeardownReport:
    report = TeardownReport()
    report.interrupt("r1")
    return report


def kept() -> TeardownReport:
    report = TeardownReport()
    report.leave("workspace t-r1-main (kept)", "harness down --workspace t-r1-main")
    return report


@pytest.mark.parametrize(("status", "report", "expected"), [
    (OK, destroyed(), OK),
    (OK, failed(), FAILED),  # every check passed, but something is left: the session fails
    (NONE_COLLECTED, failed(), FAILED),
    (NONE_COLLECTED, destroyed(), NONE_COLLECTED),
    (OK, interrupted(), INTERRUPTED),  # a Ctrl-C that came only during the teardown
    (OK, kept(), OK),  # left on request (--keep) is not a failure
    (FAILED, failed(), FAILED),
    (INTERRUPTED, failed(), INTERRUPTED),  # already non-zero: its meaning stays
    (USAGE, interrupted(), USAGE),
])
def test_exit_status_reads_the_report_not_its_wording(status, report, expected):
    assert exit_status(status, report) == expected


def test_a_failure_says_so_and_names_what_is_left_with_its_command():
    report = failed()
    assert report.failed and not report.destroyed and not report.interrupted
    assert report.left == ["workspace t-r1-main: remove it with `harness down --workspace t-r1-main`"]
    assert report.messages == ["teardown failed: workspace t-r1-main could not be removed (DeleteBucket: "
                               "BucketNotEmpty); remove it with `harness down --workspace t-r1-main`"]


def test_the_wording_of_a_message_decides_nothing():
    report = destroyed()
    report.say("teardown failed: only words, e.g. a check's name; nothing failed")
    assert not report.failed
    assert exit_status(OK, report) == OK


def test_an_interrupt_points_to_sweep_only_when_nothing_named_what_it_left():
    report = interrupted()
    assert report.interrupted and not report.failed
    assert report.left == ["whatever run r1 still has: remove it with `harness sweep --run-id r1 --older-than 0s`"]
    named = TeardownReport()
    named.leave("workspace t-r1-main", "harness down --workspace t-r1-main")
    named.interrupt("r1")
    assert named.left == ["workspace t-r1-main: remove it with `harness down --workspace t-r1-main`"]
    assert named.messages == []


def test_an_interrupted_session_ends_with_what_was_cleaned_up_and_what_is_left():
    report = destroyed()
    report.removed.append("the run's local AWS (stopped)")
    assert ending_line("r1", report, directory_left=False) == (
        "interrupted; cleaned up workspace t-r1-main (destroyed and deleted), the run's local AWS (stopped); "
        "nothing of run r1 is left")
    assert ending_line("r1", failed(), directory_left=True) == (
        "interrupted; still there: workspace t-r1-main: remove it with `harness down --workspace t-r1-main`")
    assert ending_line("r1", TeardownReport(), directory_left=True) == (
        "interrupted; its run directory is left: `harness sweep --run-id r1` removes it")
    assert ending_line("r1", TeardownReport(), directory_left=False, interrupted=False) == (
        "the session ended before its finish; nothing of run r1 is left")


def test_progress_lines_say_what_they_timed():
    assert phase_line("apply", 3.456) == "terraform apply took 3.46s"
    assert phase_line(READY_PHASE, 0.314) == "the API answered as intended after 0.31s"
    assert "terraform" not in phase_line(READY_PHASE, 0.3)
