"""The floor and the split of a run's time (harness/reporting/timings.py): pure arithmetic."""

import os
import time

import pytest

from harness.reporting import timings
from harness.terraform import runner


def test_floor_is_apply_destroy_output_plus_longest_check():
    phases = {"init": [1.5], "workspace": [0.2, 0.2], "apply": [1.8], "output": [0.2], "destroy": [1.6],
              "ready": [0.3]}
    assert timings.floor_seconds(phases, 0.4) == pytest.approx(1.8 + 1.6 + 0.2 + 0.4)


def test_floor_counts_every_run_of_a_floor_command_and_ignores_skippable_ones():
    # a destroy retried with a refresh is paid twice; workspace/init/ready are not in the floor
    phases = {"apply": [2.0], "destroy": [1.0, 1.5], "output": [0.1, 0.1], "workspace": [9.0]}
    assert timings.floor_seconds(phases, 0.0) == pytest.approx(4.7)


def test_floor_without_commands_is_the_longest_check_and_a_negative_check_counts_as_zero():
    assert timings.floor_seconds({}, 0.25) == 0.25
    assert timings.floor_seconds({"apply": [1.0]}, -3.0) == 1.0


def test_ratio_to_floor():
    assert timings.ratio_to_floor(8.0, 4.0) == 2.0
    assert timings.ratio_to_floor(5.0, 0.0) is None


def test_check_duration_excludes_the_wait_for_the_stack():
    ready = 100.0
    # setup waited from 97 to 100.5 for the stack: only 0.5 s of it is the check's own
    assert timings.check_duration([(97.0, 100.5), (100.5, 100.7), (100.7, 100.8)], ready) == pytest.approx(0.8)
    # a report entirely before the stack was ready contributes nothing
    assert timings.check_duration([(90.0, 95.0)], ready) == 0.0
    assert timings.check_duration([(97.0, 100.5)], None) == pytest.approx(3.5)


def test_check_span_runs_from_ready_to_the_last_report():
    assert timings.check_span([(97.0, 100.5), (100.2, 102.0)], 100.0) == pytest.approx(2.0)
    assert timings.check_span([(101.0, 102.0)], 100.0) == pytest.approx(1.0)
    assert timings.check_span([], 100.0) == 0.0


def test_breakdown_reports_wall_floor_ratio_and_processes():
    phases = {"workspace": [0.2, 0.2], "apply": [2.0], "output": [0.2], "destroy": [1.5], "ready": [0.3]}
    result = timings.breakdown(wall=12.0, phases=phases, longest_check=0.3, checks=1.2, teardown=2.0,
                               process_startup=1.0, worker_startup=0.5, toolchain=0.05)
    assert result["floor"]["seconds"] == pytest.approx(4.0)
    assert result["ratio_to_floor"] == pytest.approx(3.0)
    assert result["terraform_processes"] == {"workspace": 2, "apply": 1, "output": 1, "destroy": 1}
    assert result["terraform"]["workspace"] == pytest.approx(0.4) and "ready" not in result["terraform"]
    assert result["ready"] == pytest.approx(0.3)


# As Terraform 1.x prints an apply (plain output, -no-color), with arrival times.
APPLY_LINES = [
    (0.02, "module.upload_api.data.aws_region.current: Reading...\n"),
    (0.31, "module.upload_api.data.aws_region.current: Read complete after 0s [id=us-east-1]\n"),
    (0.55, "module.upload_api.aws_s3_bucket.uploads: Creating...\n"),
    (0.56, "module.upload_api.aws_iam_role.integration: Creating...\n"),
    (0.70, "module.upload_api.aws_iam_role.integration: Creation complete after 0s [id=up-x]\n"),
    (0.91, "module.upload_api.aws_api_gateway_stage.upload: Modifications complete after 0s [id=ags-x]\n"),
    (0.93, "\nApply complete! Resources: 14 added, 1 changed, 0 destroyed.\n"),
]


def test_change_split_is_before_the_first_change_the_changes_and_after():
    split = runner.change_split(APPLY_LINES, 1.0)
    assert split == {"before_changes": 0.55, "changes": pytest.approx(0.36), "after_changes": pytest.approx(0.09)}


def test_change_split_of_a_destroy_and_of_a_command_that_changed_nothing():
    destroy = [(0.4, "module.upload_api.aws_api_gateway_stage.upload: Destroying... [id=ags-x]\n"),
               (0.6, "module.upload_api.aws_api_gateway_stage.upload: Destruction complete after 0s\n")]
    assert runner.change_split(destroy, 0.7) == {"before_changes": 0.4, "changes": pytest.approx(0.2),
                                                  "after_changes": pytest.approx(0.1)}
    assert runner.change_split([(0.1, "No changes. Your infrastructure matches the configuration.\n")], 0.2) is None
    assert runner.change_split([], 0.2) is None


def test_breakdown_sums_each_commands_split_and_reports_the_provider_start():
    result = timings.breakdown(wall=5.0, phases={"apply": [1.0]}, longest_check=0.2, checks=1.0, teardown=1.0,
                               provider_start=0.06, splits={"apply": [
                                   {"before_changes": 0.5, "changes": 0.4, "after_changes": 0.1}]})
    assert result["provider_start"] == pytest.approx(0.06)
    assert result["terraform_split"] == {"apply": {"before_changes": 0.5, "changes": 0.4, "after_changes": 0.1}}


def test_process_started_at_is_in_the_past_on_linux():
    started = timings.process_started_at(os.getpid())
    if started is None:
        pytest.skip("no /proc on this system")
    assert time.time() - 3600 * 24 * 365 < started <= time.time()
