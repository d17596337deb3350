"""The module's inputs: a private endpoint gets the resource policy AWS requires, and what AWS
would refuse (or silently ignore) is refused at plan time with a message saying why.

Planned offline with the real provider 3.39.0 through the e2e stack (which passes every module
variable through; the shared `plan` fixture, tests/toolchain/conftest.py), read from Terraform's
plan JSON or Terraform's own error output. The policy's
conditions are read from a `terraform test` run with a mocked provider: its document embeds the
API's execution ARN, unknown in any plan before the API exists.
"""

import json
import re
from typing import Any

import pytest
from offline_plan import BUNDLED

from harness.errors import TerraformError
from harness.terraform.runner import TerraformRunner

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
VPCE = ["vpce-0123456789abcdef0", "vpce-01234567"]


def refusal(plan, **variables: Any) -> str:
    """Terraform's error output for a plan that must be refused, on one line."""
    with pytest.raises(TerraformError) as refused:
        plan(**variables)
    return re.sub(r"[\s│]+", " ", refused.value.stderr)


def test_the_default_caller_check_is_aws_iam(offline_planner):
    """The module's own default (the e2e stack and the README quick start pass NONE explicitly)."""
    root = offline_planner.root
    variables = (root / "terraform" / "modules" / "s3_upload_api" / "variables.tf").read_text()
    block = variables[variables.index('variable "authorization"'):]
    assert re.search(r'default\s*=\s*"AWS_IAM"', block[:block.index("validation")])
    stack_main = (root / "terraform" / "stacks" / "e2e" / "variables.tf").read_text()
    block = stack_main[stack_main.index('variable "authorization"'):]
    assert re.search(r'default\s*=\s*"NONE"', block[:block.index("}")])


def test_private_endpoint_carries_the_vpc_endpoints(plan):
    resources = plan(endpoint_type="PRIVATE", vpc_endpoint_ids=VPCE).after
    endpoint = resources["aws_api_gateway_rest_api.this"]["endpoint_configuration"][0]
    assert endpoint["types"] == ["PRIVATE"]
    assert sorted(endpoint["vpc_endpoint_ids"]) == sorted(VPCE)
    assert "aws_api_gateway_rest_api_policy.source_ip" in resources


def test_regional_endpoint_names_no_vpc_endpoints(plan):
    endpoint = plan().after["aws_api_gateway_rest_api.this"]["endpoint_configuration"][0]
    assert endpoint["types"] == ["REGIONAL"]
    assert not endpoint.get("vpc_endpoint_ids")


EXECUTION_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3"
# Mocked data sources and resources get random strings; the role and bucket policies must be
# JSON for the provider's own validation, and the API a realistic execution ARN.
MOCK_PROVIDER = """
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}" }
  }
  mock_resource "aws_api_gateway_rest_api" {
    defaults = { execution_arn = "EXECUTION_ARN" }
  }
}
""".replace("EXECUTION_ARN", EXECUTION_ARN)


@pytest.fixture(scope="module")
def module_test(offline_planner):
    """`terraform test` of the module with a mocked provider: nothing leaves the machine.

    Each call writes one run whose assertions compare the module's resource policy with what
    the test expects; Terraform's message shows the policy when they differ.
    """
    runner, root = offline_planner.runner, offline_planner.root
    module = root / "terraform" / "modules" / "s3_upload_api"
    # `terraform test` reads only this folder; the stack's plans load the module's *.tf alone.
    (module / "tests").mkdir(exist_ok=True)
    module_runner = TerraformRunner(runner.toolchain, module, runner.extra_env)
    module_runner.run("init", with_workspace=False, input=False)

    def run(variables: dict[str, Any], expected: dict[str, Any]) -> str:
        assigned = "\n".join(f"    {name} = {json.dumps(value)}" for name, value in variables.items())
        checks = "\n".join(
            f"  assert {{\n    condition     = jsonencode({path}) == "
            f"jsonencode(jsondecode({json.dumps(json.dumps(value))}))\n"
            f"    error_message = \"{path}: ${{jsonencode({path})}}\"\n  }}"
            for path, value in expected.items())
        (module / "tests" / "policy.tftest.hcl").write_text(
            f"{MOCK_PROVIDER}\nrun \"policy\" {{\n  command = apply\n  variables {{\n{assigned}\n  }}\n{checks}\n}}\n")
        result = module_runner.run("test", with_workspace=False, accept=(0, 1))
        assert result.returncode == 0 and "1 passed, 0 failed" in result.stdout, result.stdout + result.stderr
        return result.stdout

    return run


POLICY = "jsondecode(aws_api_gateway_rest_api_policy.source_ip.policy)"


@pytest.mark.parametrize("authorization", ["NONE", "API_KEY", "AWS_IAM"])
def test_private_policy_allows_only_the_listed_vpc_endpoints(module_test, authorization):
    """AWS deploys a PRIVATE API only with a resource policy; the module's allows only requests
    whose aws:SourceVpce is one of vpc_endpoint_ids, and denies every other."""
    allowed = f"{EXECUTION_ARN}/*/OPTIONS/*" if authorization == "AWS_IAM" else f"{EXECUTION_ARN}/*"
    sid = "AllowPreflightFromAllowedRanges" if authorization == "AWS_IAM" else "AllowInvokeFromAllowedRanges"
    module_test(
        {"name_prefix": "inputs", "endpoint_type": "PRIVATE", "vpc_endpoint_ids": VPCE,
         "authorization": authorization},
        {
            f"{POLICY}.Statement[0]": {
                "Sid": sid,
                "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": allowed,
                "Condition": {"StringEquals": {"aws:SourceVpce": VPCE}},
            },
            f"{POLICY}.Statement[1]": {
                "Sid": "DenyInvokeFromElsewhere", "Effect": "Deny", "Principal": "*",
                "Action": "execute-api:Invoke", "Resource": f"{EXECUTION_ARN}/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}},
            },
            "aws_api_gateway_rest_api.this.endpoint_configuration[0].types": ["PRIVATE"],
        },
    )


def test_regional_policy_keeps_the_source_ranges(module_test):
    """Without PRIVATE the policy is the source-range one, with IPv4 and IPv6 ranges as given."""
    ranges = ["127.0.0.0/8", "2001:db8::/32"]
    module_test(
        {"name_prefix": "inputs", "authorization": "NONE", "allowed_source_cidrs": ranges},
        {
            f"{POLICY}.Statement[0]": {
                "Sid": "AllowInvokeFromAllowedRanges", "Effect": "Allow", "Principal": "*",
                "Action": "execute-api:Invoke", "Resource": f"{EXECUTION_ARN}/*",
            },
            f"{POLICY}.Statement[1].Condition": {"NotIpAddress": {"aws:SourceIp": ranges}},
        },
    )


# Each refusal: the variables, and words of the message that say what is wrong and why.
REFUSED = {
    "private_without_endpoints": ({"endpoint_type": "PRIVATE"},
                                  "endpoint_type PRIVATE needs vpc_endpoint_ids"),
    "endpoints_without_private": ({"vpc_endpoint_ids": VPCE},
                                  "vpc_endpoint_ids is only for endpoint_type PRIVATE"),
    "ranges_on_private": ({"endpoint_type": "PRIVATE", "vpc_endpoint_ids": VPCE,
                           "allowed_source_cidrs": ["10.0.0.0/8"]},
                          "allowed_source_cidrs cannot be used with endpoint_type PRIVATE"),
    "quota_without_api_key": ({"usage_plan_quota": {"limit": 100, "period": "DAY"}},
                              'usage_plan_quota works only with authorization = "API_KEY"'),
    "quota_fraction": ({"authorization": "API_KEY", "usage_plan_quota": {"limit": 1.5, "period": "DAY"}},
                       "usage_plan_quota limit must be a whole number"),
    "quota_zero": ({"authorization": "API_KEY", "usage_plan_quota": {"limit": 0, "period": "DAY"}},
                   "usage_plan_quota limit must be a whole number of requests, at least 1"),
    "quota_period": ({"authorization": "API_KEY", "usage_plan_quota": {"limit": 10, "period": "HOUR"}},
                     "period must be DAY, WEEK or MONTH"),
    "bad_vpce": ({"endpoint_type": "PRIVATE", "vpc_endpoint_ids": ["vpc-123"]},
                 "must be a VPC endpoint id"),
    "endpoint_type": ({"endpoint_type": "PUBLIC"}, "must be REGIONAL, EDGE or PRIVATE"),
    "cidr_without_prefix": ({"allowed_source_cidrs": ["127.0.0.1"]},
                            "must be an IPv4 or IPv6 CIDR range with its prefix length"),
    "cidr_garbage": ({"allowed_source_cidrs": ["localhost/8"]},
                     "must be an IPv4 or IPv6 CIDR range"),
    "bucket_arn_wildcard": ({"put_object_bucket_arn": "arn:aws:s3:::*"},
                            "must be null or one S3 bucket's ARN"),
    "bucket_arn_object": ({"put_object_bucket_arn": "arn:aws:s3:::some-bucket/key"},
                          "must be null or one S3 bucket's ARN"),
    "bucket_arn_other_service": ({"put_object_bucket_arn": "arn:aws:iam::123456789012:role/x"},
                                 "must be null or one S3 bucket's ARN"),
    "burst_fraction": ({"throttle_burst_limit": 2.5}, "throttle_burst_limit must be a whole number"),
    "rate_zero": ({"throttle_rate_limit": 0}, "throttle_rate_limit must be above 0"),
    "timeout": ({"integration_timeout_ms": 30000}, "integration_timeout_ms must be between 50 and 29000"),
    "stage_name": ({"stage_name": "dev stage"}, "stage_name may contain only"),
    "aws_tag": ({"tags": {"aws:owner": "me"}}, "not start with aws:"),
    "long_tag_value": ({"tags": {"owner": "x" * 257}}, "each value at most 256 characters"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_its_reason(plan, case):
    variables, message = REFUSED[case]
    assert message in refusal(plan, **variables)


def test_accepted_edges(plan):
    """What AWS takes is not refused: IPv6 ranges, a partition's bucket ARN, an 8-digit endpoint id."""
    resources = plan(allowed_source_cidrs=["2001:db8::/32", "127.0.0.0/8"],
                     put_object_bucket_arn="arn:aws:s3:::other-bucket.example").after
    assert "aws_iam_role_policy.put_object" in resources
    assert "aws_api_gateway_rest_api_policy.source_ip" in resources
    planned = plan(endpoint_type="PRIVATE", vpc_endpoint_ids=["vpce-01234567"]).after
    assert planned["aws_api_gateway_rest_api.this"]["endpoint_configuration"][0]["vpc_endpoint_ids"] == [
        "vpce-01234567"]
