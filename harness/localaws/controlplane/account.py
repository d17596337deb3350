"""API Gateway's account-wide CloudWatch role: the local AWS's account starts with one
set, and UpdateStage refuses access log settings while none is set, as AWS does.
Registered in `controlplane.PATCHES`.
"""

from __future__ import annotations

from typing import Any

# The local AWS's account, in every region, starts with API Gateway's CloudWatch role set, as an
# account does once anyone has turned on API Gateway logging there: the e2e stack logs by
# default and never sets this account-wide role itself (terraform/stacks/e2e/variables.tf).
# A test clears it (UpdateAccount `replace /cloudwatchRoleArn ""`) to see a fresh account's
# refusal. The role is not created in IAM: the local AWS never assumes it (on AWS, API Gateway
# does, to write the lines).
ACCOUNT_CLOUDWATCH_ROLE_NAME = "localaws-apigateway-cloudwatch"
# What AWS answers UpdateStage when access log settings are set while the region's account has
# no CloudWatch role (400 BadRequestException; recorded by users in
# aws-solutions/virtual-waiting-room-on-aws#74 and anomalyco/sst#1556; the requirement itself:
# "Set up CloudWatch logging for REST APIs", Permissions for CloudWatch logging,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
MISSING_CLOUDWATCH_ROLE_MESSAGE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


def account_cloudwatch_role_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{ACCOUNT_CLOUDWATCH_ROLE_NAME}"


def patch_account_cloudwatch_role() -> None:
    """Gaps: moto's API Gateway account has no CloudWatch role and accepts access log settings
    without one; AWS refuses them (MISSING_CLOUDWATCH_ROLE_MESSAGE). The local account starts
    with a role set (ACCOUNT_CLOUDWATCH_ROLE_NAME). CreateStage takes no access log settings
    (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html): only UpdateStage
    sets them, and removing them needs no role."""
    from moto.apigateway import models as apigw_models
    from moto.apigateway.exceptions import BadRequestException
    from moto.utilities.utils import get_partition

    original_init = apigw_models.APIGatewayBackend.__init__
    original_update = apigw_models.APIGatewayBackend.update_stage

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.account.cloudwatch_role_arn = account_cloudwatch_role_arn(get_partition(region_name), account_id)

    def update_stage(self: Any, function_id: str, stage_name: str, patch_operations: Any) -> Any:
        enables_logging = any(
            op.get("op") in ("add", "replace") and str(op.get("path", "")).startswith("/accessLogSettings")
            for op in patch_operations or [])
        if enables_logging and not self.account.cloudwatch_role_arn:
            raise BadRequestException(MISSING_CLOUDWATCH_ROLE_MESSAGE)
        return original_update(self, function_id, stage_name, patch_operations)

    apigw_models.APIGatewayBackend.__init__ = __init__
    apigw_models.APIGatewayBackend.update_stage = update_stage
