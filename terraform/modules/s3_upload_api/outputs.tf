output "invoke_url" {
  description = "Base URL of the stage; upload with PUT {invoke_url}/{bucket}/{filename}."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Name of the stage serving the API."
  value       = aws_api_gateway_stage.this.stage_name
}

output "bucket_name" {
  description = "Name of the bucket uploads land in."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket uploads land in."
  value       = aws_s3_bucket.this.arn
}

output "role_arn" {
  description = "ARN of the IAM role API Gateway assumes to write to S3."
  value       = aws_iam_role.this.arn
}

output "region" {
  description = "Region the stack lives in."
  value       = data.aws_region.current.id
}

output "authorization" {
  description = "Who may upload: NONE, AWS_IAM (SigV4, execute-api:Invoke) or API_KEY (x-api-key)."
  value       = var.authorization
}

output "execution_arn" {
  description = "Execution ARN of the REST API; AWS_IAM callers need execute-api:Invoke on this ARN followed by /STAGE/PUT/*."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "api_key_id" {
  description = "With API_KEY: id of the module's API key (null otherwise)."
  value       = var.authorization == "API_KEY" ? aws_api_gateway_api_key.this[0].id : null
}

output "api_key_value" {
  description = "With API_KEY: the key callers send in x-api-key (null otherwise)."
  value       = var.authorization == "API_KEY" ? aws_api_gateway_api_key.this[0].value : null
  sensitive   = true
}

output "cors_allowed_origins" {
  description = "Origins whose pages may upload from a browser ([] when CORS is off)."
  value       = var.cors_allowed_origins
}

output "access_log_group_name" {
  description = "CloudWatch log group holding the stage's access log lines (null with access_logging off)."
  value       = var.access_logging ? aws_cloudwatch_log_group.access[0].name : null
}

output "overwrite_policy" {
  description = "What a PUT to an existing key does: reject (412), keep_versions (versioned) or replace."
  value       = var.overwrite_policy
}

output "noncurrent_version_expiration_days" {
  description = "With keep_versions: days a replaced version is kept (null in the other modes)."
  value       = var.overwrite_policy == "keep_versions" ? var.noncurrent_version_expiration_days : null
}

output "content_md5_header" {
  description = "Request header that carries the body's base64 MD5 to S3's Content-MD5 check (the client's own Content-MD5 may not survive API Gateway)."
  value       = local.integrity_headers["Content-MD5"]
}
