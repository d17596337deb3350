# Supported range: Terraform >= 1.3 (OpenTofu >= 1.6) and hashicorp/aws 3.39 to 6.x,
# except 6.0.0 and 6.1.0: their resource identities for aws_iam_role and aws_s3_bucket
# fail refreshes with "Unexpected Identity Change" (hashicorp/terraform-provider-aws#43199,
# #43204; fixed in 6.2.0 by #43221). Terraform has no wildcard `!=`, so the two releases
# are excluded by name.
# Only arguments that every provider version in that range accepts are used, with one
# exception: the bucket's inline `versioning` and `lifecycle_rule` (overwrite_policy; 3.x has
# no other way), read-only in 4.0.0 to 4.8.x (#22581) and Optional again from 4.9.0 (#23985).
# Otherwise: no aws_s3_bucket inline acl/policy (deprecated in 4.x), no stage_name on
# aws_api_gateway_deployment (removed in 6.x), no provider-level default_tags, and
# data.aws_region's `id` rather than `name` (deprecated in 6.x) or `region` (6.x only).
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39, != 6.0.0, != 6.1.0, < 7.0"
    }
  }
}
