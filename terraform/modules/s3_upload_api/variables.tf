variable "name_prefix" {
  description = "Prefix for every name the module creates (bucket, role, API). Lowercase letters, digits and hyphens; it starts the S3 bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,35}$", var.name_prefix))
    error_message = "The name_prefix must be 2-36 characters of lowercase letters, digits and hyphens, starting with a letter or digit (it becomes part of an S3 bucket name)."
  }
}

variable "bucket_suffix" {
  description = "Fixed suffix for the bucket name (bucket = name_prefix + \"-\" + suffix). When null, AWS's provider generates a unique suffix through bucket_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_suffix == null || can(regex("^[a-z0-9][a-z0-9-]{0,24}[a-z0-9]$", var.bucket_suffix))
    error_message = "The bucket_suffix must be 2-26 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it still holds objects. Keep false for real data; test stacks set true."
  type        = bool
  default     = false
}

variable "binary_media_types" {
  description = "Media types API Gateway passes through as raw bytes. The default \"*/*\" treats every body as binary; without it, bodies are decoded as UTF-8 text and binary uploads are corrupted."
  type        = list(string)
  default     = ["*/*"]

  validation {
    condition     = alltrue([for t in var.binary_media_types : can(regex("^[^/\\s]+/[^/\\s]+$", t))])
    error_message = "Each binary media type must look like type/subtype (wildcards such as */* and image/* are allowed)."
  }
}

variable "stage_name" {
  description = "Name of the API Gateway stage that serves the upload API."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.stage_name))
    error_message = "The stage_name may contain only letters, digits, hyphens and underscores (1-128 characters)."
  }
}

variable "endpoint_type" {
  description = "API Gateway endpoint type: REGIONAL (passes Content-MD5 through), EDGE, or PRIVATE (reachable only through the interface VPC endpoints in vpc_endpoint_ids, which it then requires)."
  type        = string
  default     = "REGIONAL"

  validation {
    condition     = contains(["REGIONAL", "EDGE", "PRIVATE"], var.endpoint_type)
    error_message = "The endpoint_type must be REGIONAL, EDGE or PRIVATE."
  }
}

# AWS deploys a private API only with a resource policy naming who may call it ("Private REST
# API doesn't have a resource policy attached to it" otherwise; "Create a private API",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-create.html).
variable "vpc_endpoint_ids" {
  description = "With endpoint_type PRIVATE: the interface VPC endpoints (execute-api) callers come through; the resource policy allows only requests whose aws:SourceVpce is one of them. Required with PRIVATE, refused otherwise."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.vpc_endpoint_ids : can(regex("^vpce-[0-9a-f]{8}([0-9a-f]{9})?$", id))])
    error_message = "Each vpc_endpoint_ids entry must be a VPC endpoint id: vpce- followed by 8 or 17 lowercase hexadecimal digits (e.g. vpce-0123456789abcdef0)."
  }
}

variable "authorization" {
  description = "Who may upload. AWS_IAM (the default): callers sign with SigV4 and need execute-api:Invoke on the method. NONE: anyone who knows the URL (the article's choice; the API is open, so combine it with throttling or a resource policy). API_KEY: callers send an API key of the module's usage plan in x-api-key; a key identifies a caller for throttling and quotas, it does not authorize (AWS: don't use API keys for authentication or authorization)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["NONE", "AWS_IAM", "API_KEY"], var.authorization)
    error_message = "The authorization must be NONE, AWS_IAM or API_KEY."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second the stage allows across all callers (stage method settings); over it callers get 429."
  type        = number
  default     = 50

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "The throttle_rate_limit must be above 0 and at most 10000 (the account default)."
  }
}

variable "throttle_burst_limit" {
  description = "Requests the stage accepts at once above the steady rate (token bucket size)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_burst_limit >= 1 && var.throttle_burst_limit <= 5000 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "The throttle_burst_limit must be a whole number between 1 and 5000 (the account default; AWS's burst limit is an integer)."
  }
}

variable "usage_plan_quota" {
  description = "With API_KEY only (refused otherwise): optional quota per API key, e.g. { limit = 10000, period = \"DAY\" } (period DAY, WEEK or MONTH); null for none."
  type = object({
    limit  = number
    period = string
  })
  default = null

  validation {
    condition     = var.usage_plan_quota == null ? true : contains(["DAY", "WEEK", "MONTH"], var.usage_plan_quota.period)
    error_message = "The usage_plan_quota period must be DAY, WEEK or MONTH."
  }

  # QuotaSettings.limit is an integer (API Gateway API reference, QuotaSettings); 0 would refuse
  # every request of every key.
  validation {
    condition     = var.usage_plan_quota == null ? true : (var.usage_plan_quota.limit >= 1 && floor(var.usage_plan_quota.limit) == var.usage_plan_quota.limit)
    error_message = "The usage_plan_quota limit must be a whole number of requests, at least 1."
  }
}

variable "allowed_source_cidrs" {
  description = "Optional source ranges: only callers from these CIDR ranges (IPv4 or IPv6; the resource policy's aws:SourceIp takes both) may invoke the API. [] lets every address in. Not with PRIVATE (requests through a VPC endpoint carry no aws:SourceIp)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_source_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Every allowed_source_cidrs entry must be an IPv4 or IPv6 CIDR range with its prefix length, e.g. 203.0.113.0/24 or 2001:db8::/32."
  }
}

variable "cors_allowed_origins" {
  description = "Origins whose web pages may upload from a browser (CORS): [] for none (no OPTIONS method, no CORS headers), [\"*\"] for any page, or one origin such as [\"https://app.example.com\"]. Adds the preflight (OPTIONS), Access-Control-Allow-Origin on every PUT answer, and on API Gateway's own 4XX/5XX answers."
  type        = list(string)
  default     = []

  # Several origins would need a per-request choice (echo the Origin only when it is listed).
  # Integration responses could make it with a VTL template ($context.responseOverride), but
  # gateway responses cannot: their templates are not run by VTL and their header values are
  # a static value or a request value copied as it is
  # (x-amazon-apigateway-gateway-responses.responseTemplates, "Gateway responses for REST APIs"),
  # so the 403/429/5xx answers would have to carry either no origin or any origin.
  validation {
    condition     = length(var.cors_allowed_origins) <= 1
    error_message = "The cors_allowed_origins takes at most one entry (\"*\" or one origin): API Gateway's own error answers (gateway responses) can carry only one static Access-Control-Allow-Origin, or echo any Origin, so a list of several origins cannot be enforced on them. Use \"*\", one origin, or a proxy in front that picks the origin."
  }

  # Browsers compare the Origin header with this value character for character: scheme, a
  # lowercase host, an optional port, and nothing after it (no path, no trailing slash).
  validation {
    condition     = alltrue([for origin in var.cors_allowed_origins : origin == "*" || can(regex("^https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?$", origin))])
    error_message = "Each cors_allowed_origins entry must be \"*\" or an origin as a browser sends it: http(s)://, a lowercase host, an optional :port, and no path or trailing slash (e.g. https://app.example.com or http://127.0.0.1:8080)."
  }
}

variable "map_content_type" {
  description = "Map the client's Content-Type header onto the S3 PutObject request, so objects keep the type they were sent with. Turning it off stores every object with S3's default type."
  type        = bool
  default     = true
}

variable "integration_timeout_ms" {
  description = "Integration timeout in milliseconds (API Gateway allows 50 to 29000 by default)."
  type        = number
  default     = 29000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 29000
    error_message = "The integration_timeout_ms must be between 50 and 29000."
  }
}

variable "put_object_bucket_arn" {
  description = "Test hook: the bucket ARN the role may write to. Null (keep it) means the module's own bucket; set it only to test what a wrongly scoped policy does. Must be one bucket's ARN (arn:aws:s3:::NAME), so it can never widen the role to a wildcard or to objects of other services."
  type        = string
  default     = null

  # A bucket ARN has an empty region and account (Amazon S3 resource ARNs); no wildcard, no key.
  validation {
    condition     = var.put_object_bucket_arn == null || can(regex("^arn:aws(-cn|-us-gov|-iso|-iso-b)?:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.put_object_bucket_arn))
    error_message = "The put_object_bucket_arn must be null or one S3 bucket's ARN, arn:aws:s3:::BUCKET_NAME (no wildcard, no object key)."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource (bucket, roles, REST API, stage, log group)."
  type        = map(string)
  default     = {}

  # Tag limits common to S3, IAM and API Gateway ("Tagging best practices", tag restrictions):
  # keys 1-128 characters, values up to 256, and the aws: prefix reserved for AWS.
  validation {
    condition     = alltrue([for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && substr(lower(key), 0, 4) != "aws:"])
    error_message = "Each tag key must be 1-128 characters and not start with aws: (reserved for AWS), and each value at most 256 characters."
  }
}

variable "access_logging" {
  description = "Write one JSON line per request (who called, API Gateway's status, S3's status and error) to a CloudWatch log group the module creates. REST API logging needs the region's API Gateway CloudWatch role to be set (see manage_account_cloudwatch_role)."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Days CloudWatch keeps the access log lines (one of CloudWatch Logs' allowed values), or 0 to keep them forever."
  type        = number
  default     = 30

  # PutRetentionPolicy's allowed values
  # (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html),
  # less those provider 3.39 does not accept yet; 0 is the provider's "never expire".
  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.access_log_retention_days)
    error_message = "The access_log_retention_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827 or 3653 days, or 0 to keep the lines forever."
  }
}

variable "manage_account_cloudwatch_role" {
  description = "Create an IAM role for API Gateway's CloudWatch logging and set it as the region's API Gateway account setting. Account-wide: it replaces any role already set, for every API in the region. Leave false when the account already has one (the usual case); set true only on an account where no other stack manages it."
  type        = bool
  default     = false
}

variable "overwrite_policy" {
  description = "What a PUT to a key that already exists does. reject: S3 refuses it (412 PreconditionFailed) through a conditional write (If-None-Match: *), and a bucket policy refuses every PutObject without that header, so no other path can overwrite either. keep_versions: the new object becomes current and versioning keeps the old bytes for noncurrent_version_expiration_days. replace: the new object silently replaces the old one, whose bytes are gone (the article's behaviour)."
  type        = string
  default     = "reject"

  validation {
    condition     = contains(["reject", "keep_versions", "replace"], var.overwrite_policy)
    error_message = "The overwrite_policy must be reject, keep_versions or replace."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "With overwrite_policy keep_versions: whole days S3 keeps a replaced version before a lifecycle rule expires it."
  type        = number
  default     = 30

  # S3's NoncurrentDays is a positive integer (PutBucketLifecycleConfiguration, NoncurrentVersionExpiration).
  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "The noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}
