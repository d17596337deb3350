"""Who may upload: each caller-check variant of the module plans the resources it promises.

Planned offline with the real provider 3.39.0 (the shared `plan` fixture, tests/toolchain/conftest.py:
one init, one plan per variant), read from Terraform's plan JSON: the method's authorization and
api_key_required, the stage-wide throttle, the usage plan with its key and quota for API_KEY, the resource policy for
source ranges, and a sensitive key output.
"""

import json

import pytest
from offline_plan import BUNDLED

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`


def test_none_is_open_but_throttled(plan):
    resources, _ = plan()
    assert resources["aws_api_gateway_method.put"]["authorization"] == "NONE"
    assert resources["aws_api_gateway_method.put"]["api_key_required"] is False
    settings = resources["aws_api_gateway_method_settings.throttle"]
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == [{**settings["settings"][0], "throttling_rate_limit": 50,
                                     "throttling_burst_limit": 100}]
    assert not [a for a in resources if "usage_plan" in a or "api_key" in a]


def test_aws_iam_requires_signed_callers(plan):
    resources, _ = plan(authorization="AWS_IAM", throttle_rate_limit=5, throttle_burst_limit=2)
    assert resources["aws_api_gateway_method.put"]["authorization"] == "AWS_IAM"
    assert resources["aws_api_gateway_method.put"]["api_key_required"] is False
    settings = resources["aws_api_gateway_method_settings.throttle"]["settings"][0]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (5, 2)
    assert not [a for a in resources if "usage_plan" in a or "api_key" in a]


def test_api_key_creates_a_usage_plan_bound_to_the_stage_and_a_sensitive_key(plan):
    resources, shown = plan(authorization="API_KEY", usage_plan_quota={"limit": 1000, "period": "DAY"})
    assert resources["aws_api_gateway_method.put"]["authorization"] == "NONE"
    assert resources["aws_api_gateway_method.put"]["api_key_required"] is True
    usage_plan = resources["aws_api_gateway_usage_plan.this[0]"]
    stage_name = resources["aws_api_gateway_stage.this"]["stage_name"]
    assert [stage["stage"] for stage in usage_plan["api_stages"]] == [stage_name]
    assert usage_plan["throttle_settings"] == [{"burst_limit": 100, "rate_limit": 50}]
    assert usage_plan["quota_settings"] == [{"limit": 1000, "offset": 0, "period": "DAY"}]
    assert resources["aws_api_gateway_usage_plan_key.this[0]"]["key_type"] == "API_KEY"
    assert "aws_api_gateway_api_key.this[0]" in resources
    outputs = shown["configuration"]["root_module"]["outputs"]
    assert outputs["api_key_value"].get("sensitive") is True


def test_the_resource_policy_is_always_attached_and_the_deployment_follows_it(plan):
    """Source ranges change the policy in place, and the next deployment takes it: the
    deployment depends on the policy and hashes it (a policy takes effect only with the
    next deployment; a deleted policy resource would be deleted after that deployment)."""
    for ranges in ([], ["203.0.113.0/24"]):
        resources, shown = plan(allowed_source_cidrs=ranges)
        assert "aws_api_gateway_rest_api_policy.source_ip" in resources
        module = shown["configuration"]["root_module"]["module_calls"]["upload_api"]["module"]
        by_address = {r["address"]: r for r in module["resources"]}
        policy = by_address["aws_api_gateway_rest_api_policy.source_ip"]["expressions"]["policy"]
        assert "local.source_ip_policy" in policy["references"]
        deployment = by_address["aws_api_gateway_deployment.this"]
        assert "aws_api_gateway_rest_api_policy.source_ip" in deployment["depends_on"]
        assert "local.source_ip_policy" in json.dumps(deployment["expressions"]["triggers"])
        assert shown["variables"]["allowed_source_cidrs"]["value"] == ranges


def test_bad_caller_check_values_are_refused_by_validation(plan):
    runner_error = None
    try:
        plan(authorization="COGNITO")
    except Exception as exc:  # TerraformError with Terraform's own words
        runner_error = str(exc)
    assert runner_error and "must be NONE, AWS_IAM or API_KEY" in runner_error.replace("\n", " ")
