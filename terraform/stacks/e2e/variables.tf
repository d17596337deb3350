variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix for every name in the stack; the harness passes one per workspace."
  type        = string
  default     = "upload-e2e"
}

variable "run_id" {
  description = "Identifier of the harness run that owns this stack; tagged as harness:run-id so a sweeper can find leftovers."
  type        = string
  default     = "manual"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.run_id))
    error_message = "The run_id must be 1-40 lowercase letters, digits or hyphens."
  }
}

variable "state_location" {
  description = "Where this workspace's state lives (s3://BUCKET/KEY, or local:HOST); tagged as harness:state so a sweep asks that backend before it calls a workspace stateless."
  type        = string
  default     = "local"

  validation {
    condition     = can(regex("^[A-Za-z0-9 +=._:/@-]{1,256}$", var.state_location))
    error_message = "The state_location must be a valid S3 tag value (letters, digits, spaces and + - = . _ : / @)."
  }
}

variable "tags" {
  description = "Extra tags for every taggable resource."
  type        = map(string)
  default     = {}
}

# Who may upload: the module's caller check and throttling, passed through (see the module's README).

# NONE here, explicitly, as in the article: the e2e checks upload unsigned. The API is then open
# to anyone who knows its URL (a throwaway stack, tagged and destroyed by the run); the module's
# own default is AWS_IAM.
variable "authorization" {
  description = "Passed to the module: NONE (the article's open API; anyone with the URL may upload), AWS_IAM or API_KEY."
  type        = string
  default     = "NONE"
}

variable "stage_name" {
  description = "Passed to the module: the stage's name (changing it replaces the stage and its invoke URL)."
  type        = string
  default     = "dev"
}

variable "integration_timeout_ms" {
  description = "Passed to the module: the integration timeout in milliseconds."
  type        = number
  default     = 29000
}

variable "throttle_rate_limit" {
  description = "Passed to the module: stage-wide steady requests per second."
  type        = number
  default     = 50
}

variable "throttle_burst_limit" {
  description = "Passed to the module: stage-wide burst."
  type        = number
  default     = 100
}

variable "usage_plan_quota" {
  description = "Passed to the module: quota per API key with API_KEY, or null."
  type = object({
    limit  = number
    period = string
  })
  default = null
}

variable "allowed_source_cidrs" {
  description = "Passed to the module: source ranges of the resource policy ([] for none)."
  type        = list(string)
  default     = []
}

variable "endpoint_type" {
  description = "Passed to the module: REGIONAL, EDGE or PRIVATE (PRIVATE needs vpc_endpoint_ids)."
  type        = string
  default     = "REGIONAL"
}

variable "vpc_endpoint_ids" {
  description = "Passed to the module: with PRIVATE, the VPC endpoints callers come through."
  type        = list(string)
  default     = []
}

# On by default here (the module's default is off) so that `make e2e` runs the browser checks:
# a loopback origin, which no third-party page can have, that the checks serve their test
# page from (tests/e2e/test_browser.py takes the port from the applied value).
variable "cors_allowed_origins" {
  description = "Passed to the module: origins whose pages may upload from a browser ([] for no CORS)."
  type        = list(string)
  default     = ["http://127.0.0.1:14263"]
}

# The article's behaviour here (the module's default is reject): the e2e suite is written for
# any mode, and tests/harness/test_overwrite_policies.py applies the other two.
variable "overwrite_policy" {
  description = "Passed to the module: reject, keep_versions or replace (what a PUT to an existing key does)."
  type        = string
  default     = "replace"
}

variable "noncurrent_version_expiration_days" {
  description = "Passed to the module: with keep_versions, days a replaced version is kept."
  type        = number
  default     = 30
}

# The variables below exist so tests can apply deliberately broken variants of the module.

variable "binary_media_types" {
  description = "Passed to the module; [] reproduces an API that corrupts binary uploads."
  type        = list(string)
  default     = ["*/*"]
}

variable "map_content_type" {
  description = "Passed to the module; false drops the Content-Type mapping."
  type        = bool
  default     = true
}

variable "put_object_bucket_arn" {
  description = "Passed to the module; a foreign ARN reproduces a policy on the wrong bucket."
  type        = string
  default     = null
}

# Access logging, on by default so that every e2e run has API Gateway's own line for each
# request. On AWS it needs the region's API Gateway CloudWatch role to be set already: an
# account without one refuses the stage's log settings ("CloudWatch Logs role ARN must be set
# in account settings to enable logging") and the apply stops there. Then either set the role
# once for the account (-var manage_account_cloudwatch_role=true, which replaces any role the
# region has, so never on an account where something else manages it) or run with
# -var access_logging=false. The local AWS's account starts with a role set (docs/local-aws.md).

variable "access_logging" {
  description = "Passed to the module: write API Gateway's access log lines to a CloudWatch log group."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Passed to the module: days CloudWatch keeps the lines (a throwaway stack needs few)."
  type        = number
  default     = 1
}

variable "manage_account_cloudwatch_role" {
  description = "Passed to the module: set the region's account-wide API Gateway CloudWatch role (replaces an existing one)."
  type        = bool
  default     = false
}
