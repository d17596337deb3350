"""Terraform-driving end-to-end test harness for direct API Gateway -> S3 uploads.

Data flows one way: CLI or pytest plugin -> workspace lifecycle -> Terraform runner ->
terraform; checks -> upload client -> gateway -> S3 -> read-back.
"""

__version__ = "0.1.0"
