output "invoke_url" {
  description = "Base URL of the stage (as AWS names it; local targets rewrite it)."
  value       = module.upload_api.invoke_url
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = module.upload_api.rest_api_id
}

output "stage_name" {
  description = "Stage serving the API."
  value       = module.upload_api.stage_name
}

output "bucket_name" {
  description = "Bucket uploads land in."
  value       = module.upload_api.bucket_name
}

output "bucket_arn" {
  description = "ARN of that bucket."
  value       = module.upload_api.bucket_arn
}

output "role_arn" {
  description = "Role API Gateway assumes."
  value       = module.upload_api.role_arn
}

output "region" {
  description = "Region of the stack."
  value       = module.upload_api.region
}

output "authorization" {
  description = "Who may upload: NONE, AWS_IAM or API_KEY."
  value       = module.upload_api.authorization
}

output "execution_arn" {
  description = "Execution ARN of the REST API."
  value       = module.upload_api.execution_arn
}

output "api_key_value" {
  description = "With API_KEY: the key the checks send in x-api-key."
  value       = module.upload_api.api_key_value
  sensitive   = true
}

output "cors_allowed_origins" {
  description = "Origins whose pages may upload from a browser ([] when CORS is off)."
  value       = module.upload_api.cors_allowed_origins
}

output "access_log_group_name" {
  description = "Log group of the stage's access log lines (null with access_logging off)."
  value       = module.upload_api.access_log_group_name
}

output "overwrite_policy" {
  description = "What a PUT to an existing key does: reject, keep_versions or replace."
  value       = module.upload_api.overwrite_policy
}

output "noncurrent_version_expiration_days" {
  description = "With keep_versions: days a replaced version is kept (null otherwise)."
  value       = module.upload_api.noncurrent_version_expiration_days
}

output "content_md5_header" {
  description = "Request header carrying the body's MD5 to S3's Content-MD5."
  value       = module.upload_api.content_md5_header
}
