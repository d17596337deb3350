# The stack the harness applies into throwaway workspaces. Nothing here is specific to a
# target: for local endpoints the harness adds generated harness_*.tf files (endpoints,
# path-style S3, no EC2 probing), the way tflocal does.

provider "aws" {
  region = var.region
}

module "upload_api" {
  source = "../../modules/s3_upload_api"

  stage_name             = var.stage_name
  integration_timeout_ms = var.integration_timeout_ms

  name_prefix           = var.name_prefix
  force_destroy         = true
  binary_media_types    = var.binary_media_types
  map_content_type      = var.map_content_type
  put_object_bucket_arn = var.put_object_bucket_arn
  authorization         = var.authorization
  throttle_rate_limit   = var.throttle_rate_limit
  throttle_burst_limit  = var.throttle_burst_limit
  usage_plan_quota      = var.usage_plan_quota
  allowed_source_cidrs  = var.allowed_source_cidrs
  endpoint_type         = var.endpoint_type
  vpc_endpoint_ids      = var.vpc_endpoint_ids
  cors_allowed_origins  = var.cors_allowed_origins

  access_logging                     = var.access_logging
  access_log_retention_days          = var.access_log_retention_days
  manage_account_cloudwatch_role     = var.manage_account_cloudwatch_role
  overwrite_policy                   = var.overwrite_policy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days

  tags = merge(var.tags, {
    "harness:run-id"    = var.run_id
    "harness:workspace" = terraform.workspace
    "harness:state"     = var.state_location
  })
}
