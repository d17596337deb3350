# Supported range: Terraform >= 1.3 (OpenTofu >= 1.6) and hashicorp/aws 3.39 to 6.x.
# Only arguments that every provider version in that range accepts are used:
# no aws_s3_bucket inline acl/policy/versioning (deprecated in 4.x), no stage_name on
# aws_api_gateway_deployment (removed in 6.x), no provider-level default_tags.
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39, < 7.0"
    }
  }
}
