"""Access logging in the plan: the log group, its retention, the stage's format, method metrics,
and the account-wide CloudWatch role only when asked (planned offline with provider 3.39.0: the
shared `plan` fixture, tests/toolchain/conftest.py)."""

import json

import pytest
from offline_plan import BUNDLED

from harness.errors import TerraformError

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
# What a failed check's report needs from each line ("Variables for access logging for API Gateway",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html).
REQUIRED = ("requestId", "extendedRequestId", "identity.sourceIp", "identity.userArn", "identity.apiKeyId",
            "requestTime", "requestTimeEpoch", "httpMethod", "resourcePath", "path", "status", "responseLength",
            "integration.status", "integration.latency", "integrationErrorMessage", "error.message")


def test_the_stack_logs_by_default_with_the_context_variables_and_a_short_retention(plan):
    changes = plan(run_id="logs").changes
    group = changes["aws_cloudwatch_log_group.access[0]"]["after"]
    assert group["retention_in_days"] == 1 and group["tags"]["harness:run-id"] == "logs"
    stage = changes["aws_api_gateway_stage.this"]
    settings = stage["after"]["access_log_settings"]
    assert len(settings) == 1 and stage["after_unknown"]["access_log_settings"][0]["destination_arn"] is True
    line_format = json.loads(settings[0]["format"])
    assert {name: line_format.get(name) for name in REQUIRED} == {name: f"$context.{name}" for name in REQUIRED}
    assert changes["aws_api_gateway_method_settings.throttle"]["after"]["settings"][0]["metrics_enabled"] is True
    # The account-wide role is never part of the stack unless asked.
    assert not [address for address in changes if "cloudwatch" in address and "log_group" not in address]


def test_retention_is_a_variable_and_logging_can_be_turned_off(plan):
    changes = plan(access_log_retention_days=365).changes
    assert changes["aws_cloudwatch_log_group.access[0]"]["after"]["retention_in_days"] == 365
    changes = plan(access_logging=False).changes
    assert "aws_cloudwatch_log_group.access[0]" not in changes
    assert changes["aws_api_gateway_stage.this"]["after"]["access_log_settings"] == []


def test_the_account_role_is_created_and_set_only_when_asked(plan):
    changes = plan(manage_account_cloudwatch_role=True).changes
    assert {"aws_iam_role.cloudwatch[0]", "aws_iam_role_policy.cloudwatch[0]",
            "aws_api_gateway_account.this[0]"} <= set(changes)
    assert changes["aws_iam_role.cloudwatch[0]"]["after"]["name_prefix"].endswith("-apigw-logs-")


def test_a_retention_cloudwatch_does_not_offer_is_refused_at_plan(plan):
    with pytest.raises(TerraformError) as refused:
        plan(access_log_retention_days=2)
    assert refused.value.returncode == 1 and "access_log_retention_days must be one of" in refused.value.stderr
