"""The real stack on the local AWS: applies without provider retries, and reads back clean."""

import re

import pytest

from harness.lifecycle import drift
from harness.lifecycle.workspace import Deployer, new_run_id, throwaway_workspace

pytestmark = pytest.mark.slow
RETRY_LINES = re.compile(r"retrying request|Retry(ing|able)|DescribeAccountAttributes", re.I)


def test_apply_without_retries_and_plan_is_clean_right_after(local_target, tmp_path):
    deployer = Deployer(local_target)
    deployer.prepare()
    log_file = tmp_path / "terraform-debug.log"
    deployer.runner.extra_env.update({"TF_LOG": "DEBUG", "TF_LOG_PATH": str(log_file)})
    with throwaway_workspace(deployer, new_run_id(), "plan", log=lambda message: None) as (workspace, outputs):
        apply_log = log_file.read_text(errors="replace")
        assert "aws_api_gateway_stage" in apply_log
        assert not RETRY_LINES.findall(apply_log), RETRY_LINES.findall(apply_log)[:5]
        assert outputs.rest_api_id and outputs.bucket_name.startswith("up-t-")
        plan_file = tmp_path / "after-apply.tfplan"
        changed = workspace.runner.plan(workspace.variables(), out=plan_file)
        plan = workspace.runner.show_json(plan_file)
        planned = [(c["address"], c["change"]["actions"]) for c in plan.get("resource_changes", [])
                   if c["change"]["actions"] not in (["no-op"], ["read"])]
        assert not changed and planned == []
        # The refresh reports provider noise (null vs {} and the like); after the
        # documented normalisation nothing is left: no false drift right after apply.
        assert plan.get("resource_drift"), "expected the provider's known noise to be present"
        assert drift.findings(plan) == []
