"""Integrity headers and each `overwrite_policy`, as the module plans them.

Planned offline with the real provider 3.39.0 (the shared `plan` fixture, tests/toolchain/conftest.py),
read from Terraform's plan JSON. What the resources must be: S3 checks Content-MD5 and
x-amz-checksum-sha256 only if the integration request carries them (PutObject API reference);
a conditional write needs `If-None-Match: *` on the S3 request ("How to prevent object
overwrites with conditional writes", S3 User Guide); versioning with a noncurrent-version
expiration keeps replaced bytes for a time (S3 User Guide, "Retaining multiple versions of
objects with S3 Versioning"). The bucket policy's guard reads the bucket's ARN, known only
after apply: tests/harness/test_overwrite_policies.py shows it enforced.
"""

import re

import pytest
from offline_plan import BUNDLED

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
INTEGRITY_MAPPINGS = {
    "integration.request.header.Content-MD5": "method.request.header.X-Content-MD5",
    "integration.request.header.x-amz-checksum-sha256": "method.request.header.x-amz-checksum-sha256",
}


def _bucket(resources):
    return resources["aws_s3_bucket.this"]


@pytest.mark.parametrize("policy", ["replace", "reject", "keep_versions"])
def test_integrity_headers_are_optional_and_reach_s3(plan, policy):
    resources, shown = plan(overwrite_policy=policy)
    method = resources["aws_api_gateway_method.put"]["request_parameters"]
    assert method["method.request.header.X-Content-MD5"] is False
    assert method["method.request.header.x-amz-checksum-sha256"] is False
    mapped = resources["aws_api_gateway_integration.s3_put"]["request_parameters"]
    assert {k: v for k, v in mapped.items() if k in INTEGRITY_MAPPINGS} == INTEGRITY_MAPPINGS
    # A conditional write only under reject, as a static value no caller can leave out.
    assert mapped.get("integration.request.header.If-None-Match") == ("'*'" if policy == "reject" else None)
    outputs = shown["planned_values"]["outputs"]
    assert outputs["overwrite_policy"]["value"] == policy
    assert outputs["content_md5_header"]["value"] == "X-Content-MD5"


def test_s3_conditional_answers_keep_their_status(plan):
    resources, _ = plan(overwrite_policy="reject")
    patterns = {address: change["selection_pattern"] for address, change in resources.items()
                if address.startswith("aws_api_gateway_integration_response.error")}
    assert patterns['aws_api_gateway_integration_response.error["412"]'] == "412"
    assert patterns['aws_api_gateway_integration_response.error["409"]'] == "409"
    catch_all = patterns['aws_api_gateway_integration_response.error["400"]']
    # Every 4xx but the ones with their own response, and no two patterns match one status.
    for status in range(400, 500):
        matching = [a for a, p in patterns.items() if re.fullmatch(p, str(status))]
        assert len(matching) == 1, (status, matching)
        assert re.fullmatch(catch_all, str(status)) is not None or str(status) in ("403", "404", "409", "412")


def test_replace_and_reject_leave_versioning_off(plan):
    for policy in ("replace", "reject"):
        resources, shown = plan(overwrite_policy=policy)
        assert _bucket(resources)["versioning"] == [{"enabled": False, "mfa_delete": False}]
        assert _bucket(resources)["lifecycle_rule"] == []
        assert shown["planned_values"]["outputs"]["noncurrent_version_expiration_days"].get("value") is None


def test_keep_versions_versions_and_expires_replaced_versions(plan):
    resources, shown = plan(overwrite_policy="keep_versions", noncurrent_version_expiration_days=7)
    bucket = _bucket(resources)
    assert bucket["versioning"] == [{"enabled": True, "mfa_delete": False}]
    (rule,) = bucket["lifecycle_rule"]
    assert rule["enabled"] is True
    assert rule["noncurrent_version_expiration"] == [{"days": 7}]
    assert shown["planned_values"]["outputs"]["noncurrent_version_expiration_days"]["value"] == 7


@pytest.mark.parametrize(("variables", "message"), [
    ({"overwrite_policy": "overwrite"}, "The overwrite_policy must be reject, keep_versions or replace."),
    ({"overwrite_policy": "keep_versions", "noncurrent_version_expiration_days": 0},
     "must be a whole number of days, at least 1"),
    ({"overwrite_policy": "keep_versions", "noncurrent_version_expiration_days": 1.5},
     "must be a whole number of days, at least 1"),
])
def test_invalid_overwrite_settings_are_refused_by_validation(plan, variables, message):
    with pytest.raises(Exception) as refused:  # TerraformError with Terraform's own words
        plan(**variables)
    assert message in " ".join(str(refused.value).split())
