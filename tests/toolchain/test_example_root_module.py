"""examples/upload_api: the module consumed as a user's root module, planned offline with the real provider."""

import shutil

import pytest

from harness import paths
from harness.terraform import toolchain
from harness.terraform.runner import TerraformRunner

BUNDLED = toolchain.bundled_terraform_path()
# The test replaces only what needs the network: the S3 backend (by a local one, which an
# override file may do) and the provider's credential, account and EC2 probes.
OFFLINE_OVERRIDE = """terraform {
  backend "local" {}
}

provider "aws" {
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_get_ec2_platforms      = true
  skip_region_validation      = true
  s3_force_path_style         = true
  endpoints {
    apigateway = "http://127.0.0.1:9"
    iam        = "http://127.0.0.1:9"
    s3         = "http://127.0.0.1:9"
    sts        = "http://127.0.0.1:9"
  }
}
"""


@pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed")
@pytest.mark.slow  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
def test_example_plans_with_its_own_bucket_and_backend(tmp_path):
    root = paths.project_root()
    for part in ("examples", "terraform/modules"):
        shutil.copytree(root / part, tmp_path / part, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    example = tmp_path / "examples" / "upload_api"
    source = (example / "main.tf").read_text()
    assert 'backend "s3"' in source and "use_lockfile = true" in source
    assert 'source = "../../terraform/modules/s3_upload_api"' in source
    (example / "zz_offline_override.tf").write_text(OFFLINE_OVERRIDE)
    version = toolchain._probe_version(str(BUNDLED))[0]
    tools = toolchain.Toolchain(toolchain.TerraformBinary(str(BUNDLED), version, "test", "terraform"),
                                "mirror", "test", str(toolchain.write_cli_config(True)))
    runner = TerraformRunner(tools, example, {"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
                                              "AWS_EC2_METADATA_DISABLED": "true"})
    runner.init()
    plan_file = tmp_path / "example.tfplan"
    assert runner.plan({"environment": "staging"}, out=plan_file)
    plan = runner.show_json(plan_file)
    after = {c["address"]: c["change"]["after"] for c in plan["resource_changes"] if c["mode"] == "managed"}
    bucket = after["module.upload_api.aws_s3_bucket.this"]
    assert bucket["bucket"] == "acme-media-uploads-staging" and bucket["tags"]["team"] == "media"
    method = after["module.upload_api.aws_api_gateway_method.put"]
    assert method["authorization"] == "AWS_IAM" and method["http_method"] == "PUT"
    assert after["module.upload_api.aws_api_gateway_stage.this"]["stage_name"] == "staging"
    assert after["module.upload_api.aws_api_gateway_rest_api.this"]["binary_media_types"] == ["*/*"]
    assert set(plan["planned_values"]["outputs"]) == {"bucket_name", "upload_url_prefix"}  # known after apply
