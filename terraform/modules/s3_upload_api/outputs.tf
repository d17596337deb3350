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
