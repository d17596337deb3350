output "upload_url_prefix" {
  description = "PUT {upload_url_prefix}/{filename} uploads a file (requests signed with SigV4)."
  value       = "${module.upload_api.invoke_url}/${module.upload_api.bucket_name}"
}

output "bucket_name" {
  description = "Bucket the uploads land in."
  value       = module.upload_api.bucket_name
}
