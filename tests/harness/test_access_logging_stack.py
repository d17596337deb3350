"""The e2e stack's access logging on the local AWS, with real Terraform and the real provider:
logs by default, the account's CloudWatch role refused when missing (with what to do), and
set only when asked."""

import json

import pytest
import requests

from harness.errors import TerraformError
from harness.lifecycle.workspace import Deployer, new_run_id, throwaway_workspace

pytestmark = pytest.mark.slow


def test_the_stack_logs_every_request_by_default(local_target):
    deployer = Deployer(local_target)
    deployer.prepare()
    with throwaway_workspace(deployer, new_run_id(), "logs", log=lambda message: None) as (_, outputs):
        group = outputs.values["access_log_group_name"]
        api_id = outputs.values["rest_api_id"]
        assert group == f"API-Gateway-Access-Logs_{api_id}/dev"
        logs = local_target.client("logs")
        described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert [(g["logGroupName"], g["retentionInDays"]) for g in described] == [(group, 1)]
        stage = local_target.client("apigateway").get_stage(restApiId=api_id, stageName="dev")
        # The group's ARN without the ":*" stream wildcard DescribeLogGroups adds.
        assert stage["accessLogSettings"]["destinationArn"] == described[0]["arn"].removesuffix(":*")
        assert stage["methodSettings"]["*/*"]["metricsEnabled"] is True
        response = requests.put(f"{outputs.invoke_url}/{outputs.values['bucket_name']}/logged.txt", data=b"x",
                                headers={"Content-Type": "text/plain"}, timeout=10)
        assert response.status_code == 200
        lines = [json.loads(event["message"]) for event in logs.filter_log_events(logGroupName=group)["events"]]
        mine = [line for line in lines if line["requestId"] == response.headers["x-amzn-RequestId"]]
        assert len(mine) == 1
        assert mine[0]["extendedRequestId"] == response.headers["x-amz-apigw-id"]
        assert (mine[0]["status"], mine[0]["integration.status"]) == ("200", "200")
    # Destroyed with the stack.
    assert not local_target.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]


def test_without_the_account_role_the_apply_says_what_to_do_and_sets_it_only_when_asked(local_target):
    apigw = local_target.client("apigateway")
    preset = apigw.get_account()["cloudwatchRoleArn"]
    apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    try:
        deployer = Deployer(local_target)
        deployer.prepare()
        with pytest.raises(TerraformError) as refused, \
                throwaway_workspace(deployer, new_run_id(), "norole", log=lambda message: None):
            pass
        assert "CloudWatch Logs role ARN must be set in account settings" in refused.value.message
        assert "manage_account_cloudwatch_role=true" in refused.value.hint
        assert "access_logging=false" in refused.value.hint
        assert not apigw.get_account().get("cloudwatchRoleArn")  # the stack never set it by itself

        with throwaway_workspace(deployer, new_run_id(), "role", log=lambda message: None,
                                 extra_vars={"manage_account_cloudwatch_role": True}) as _:
            role_arn = apigw.get_account()["cloudwatchRoleArn"]
            role_name = role_arn.rsplit("/", 1)[1]
            assert role_name.startswith("up-t-") and "-apigw-logs-" in role_name
            policy = local_target.client("iam").get_role_policy(RoleName=role_name,
                                                                 PolicyName="push-to-cloudwatch-logs")
            assert "logs:PutLogEvents" in policy["PolicyDocument"]["Statement"][0]["Action"]
        # Provider 3.x leaves the account setting in place on destroy (the role itself is gone).
        assert apigw.get_account()["cloudwatchRoleArn"] == role_arn
    finally:
        apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": preset}])
