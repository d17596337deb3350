# A root module as a user's own repository would write it: its own state backend, its
# own provider configuration and bucket name, the module pinned to a release.
#
# In your repository the source is the module's Git address, pinned to a tag:
#   source = "git::https://github.com/<org>/s3-upload-harness.git//terraform/modules/s3_upload_api?ref=v0.1.0"
# Here it is the local path, so `tests/unit/test_example_root_module.py` plans it offline.

terraform {
  required_version = ">= 1.10" # use_lockfile below (S3 native state locking)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39, != 6.0.0, != 6.1.0, < 7.0"
    }
  }

  backend "s3" {
    bucket       = "acme-terraform-state"
    key          = "media/upload-api/terraform.tfstate"
    region       = "eu-west-1"
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region
}

module "upload_api" {
  source = "../../terraform/modules/s3_upload_api"

  name_prefix   = "acme-media"
  bucket_suffix = "uploads-${var.environment}"
  stage_name    = var.environment
  authorization = "AWS_IAM"

  tags = {
    team        = "media"
    environment = var.environment
  }
}
