# Same range as the module (see its versions.tf); the lock file next to this one pins
# the version every run of this stack uses, plain or --backend (see README, "Provider
# support and lock files").
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39, != 6.0.0, != 6.1.0, < 7.0"
    }
  }
}
