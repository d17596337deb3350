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
  description = "API Gateway endpoint type: REGIONAL (passes Content-MD5 through) or EDGE."
  type        = string
  default     = "REGIONAL"

  validation {
    condition     = contains(["REGIONAL", "EDGE", "PRIVATE"], var.endpoint_type)
    error_message = "The endpoint_type must be REGIONAL, EDGE or PRIVATE."
  }
}

variable "authorization" {
  description = "Who may upload. NONE: anyone who knows the URL (the article's default; the API is open, so combine it with throttling or a resource policy). AWS_IAM: callers sign with SigV4 and need execute-api:Invoke on the method. API_KEY: callers send an API key of the module's usage plan in x-api-key."
  type        = string
  default     = "NONE"

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
    condition     = var.throttle_burst_limit >= 1 && var.throttle_burst_limit <= 5000
    error_message = "The throttle_burst_limit must be between 1 and 5000 (the account default)."
  }
}

variable "usage_plan_quota" {
  description = "With API_KEY: optional quota per API key, e.g. { limit = 10000, period = \"DAY\" } (period DAY, WEEK or MONTH); null for none."
  type = object({
    limit  = number
    period = string
  })
  default = null

  validation {
    condition     = var.usage_plan_quota == null ? true : contains(["DAY", "WEEK", "MONTH"], var.usage_plan_quota.period)
    error_message = "The usage_plan_quota period must be DAY, WEEK or MONTH."
  }
}

variable "allowed_source_cidrs" {
  description = "Optional resource policy: only callers from these IPv4 CIDR ranges may invoke the API ([] for no resource policy)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_source_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Every allowed_source_cidrs entry must be a CIDR range, e.g. 203.0.113.0/24."
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
  description = "Bucket ARN the role may write to. Null means the module's own bucket; set it only to test what a wrongly scoped policy does."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged into every taggable resource (bucket, role, REST API, stage)."
  type        = map(string)
  default     = {}
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
