variable "region" {
  description = "Region of the upload API and its bucket."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name; part of the bucket name and the stage name."
  type        = string
  default     = "prod"
}
