# Direct uploads from API Gateway to S3, with no Lambda in between:
#   PUT {invoke_url}/{bucket}/{filename}  ->  s3:PutObject {bucket}/{filename}
# following AWS's "Tutorial: Create a REST API as an Amazon S3 proxy".

# `id` is the region name on every supported provider: `name` is deprecated in 6.x
# ("name is deprecated. Use region instead.") and `region` does not exist before 6.0.
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  bucket_arn = var.put_object_bucket_arn == null ? aws_s3_bucket.this.arn : var.put_object_bucket_arn

  # S3's status decides the method response. Without these, API Gateway maps every
  # backend status to the default 200 and a failed write looks like a success
  # (S3 proxy tutorial: "backend responses of the status code not declared here will be
  # returned to the caller as 200 ones"). Patterns are full matches on the status code
  # and must not overlap.
  # 409 and 412 are S3's answers to a conditional write (PutObject API reference, If-None-Match:
  # 412 PreconditionFailed when the key exists, 409 ConditionalRequestConflict when a
  # conflicting operation runs at the same time): the client sees them as they are.
  error_responses = {
    "400" = "4(0[0-2]|0[5-8]|1[013-9]|[2-9][0-9])"
    "403" = "403"
    "404" = "404"
    "409" = "409"
    "412" = "412"
    "500" = "5[0-9]{2}"
  }

  overwrite_reject = var.overwrite_policy == "reject"
  keep_versions    = var.overwrite_policy == "keep_versions"

  # Integrity headers the caller may send (none is required) and where each goes on the S3
  # request. S3 refuses a body whose digest does not match, and stores nothing (PutObject API
  # reference; recorded answers in docs/aws-behaviour.md, "Integrity headers reaching S3").
  # The MD5 travels in X-Content-MD5 and is mapped onto S3's Content-MD5: a REGIONAL API was
  # recorded dropping the client's own Content-MD5 before any mapping sees it (LocalStack
  # tests/aws/services/apigateway/test_apigateway_integrations.snapshot.json,
  # TestApiGatewayHeaderRemapping: `$input.params('Content-MD5')` empty, and absent from the
  # headers an HTTP_PROXY and an AWS_PROXY integration received), although AWS's endpoint-type
  # page says a Regional API passes it through "although it may remap the header name".
  # Unconfirmed for a PUT carrying a real digest; X-Content-MD5 works either way.
  integrity_headers = {
    "Content-MD5"           = "X-Content-MD5"
    "x-amz-checksum-sha256" = "x-amz-checksum-sha256"
  }

  put_request_parameters = merge(
    {
      "method.request.path.bucket"   = true
      "method.request.path.filename" = true
    },
    var.map_content_type ? { "method.request.header.Content-Type" = false } : {},
    { for sent in values(local.integrity_headers) : "method.request.header.${sent}" => false },
  )

  # CORS ("CORS for REST APIs in API Gateway",
  # https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html): validation
  # leaves at most one entry, "*" or one origin (see variables.tf for why not several).
  cors_enabled = length(var.cors_allowed_origins) > 0
  cors_origin  = local.cors_enabled ? var.cors_allowed_origins[0] : ""
  # What a page sends besides the body: its Content-Type, the active caller check's headers
  # (the API key, or SigV4's), and the integrity headers an upload may carry.
  cors_allow_headers = join(",", concat(
    ["Content-Type"],
    var.authorization == "API_KEY" ? ["x-api-key"] : [],
    var.authorization == "AWS_IAM" ? ["Authorization", "X-Amz-Date", "X-Amz-Security-Token"] : [],
    values(local.integrity_headers),
  ))
  cors_origin_declared = { "method.response.header.Access-Control-Allow-Origin" = false }
  cors_origin_mapped   = { "method.response.header.Access-Control-Allow-Origin" = "'${local.cors_origin}'" }

  integration_request_parameters = merge(
    {
      "integration.request.path.bucket" = "method.request.path.bucket"
      "integration.request.path.key"    = "method.request.path.filename"
    },
    var.map_content_type ? {
      "integration.request.header.Content-Type" = "method.request.header.Content-Type"
    } : {},
    { for to_s3, sent in local.integrity_headers : "integration.request.header.${to_s3}" => "method.request.header.${sent}" },
    # A conditional write: S3 stores the object only if the key does not exist yet ("How to
    # prevent object overwrites with conditional writes", S3 User Guide). A static value, so
    # no caller can leave it out.
    local.overwrite_reject ? { "integration.request.header.If-None-Match" = "'*'" } : {},
  )
}

# --- bucket ----------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_suffix == null ? null : "${var.name_prefix}-${var.bucket_suffix}"
  bucket_prefix = var.bucket_suffix == null ? "${var.name_prefix}-" : null
  force_destroy = var.force_destroy
  tags          = var.tags

  # AWS encrypts every new bucket with SSE-S3 by default (since 2023-01-05; GetBucketEncryption
  # answers AES256). Provider 3.x reads that back and plans to remove it from a bucket that
  # declares none (hashicorp/terraform-provider-aws#28701), which S3 would undo at once; the
  # pending update also defers the policy documents that read the bucket, so the bucket policy
  # shows "known after apply" right after every apply. 4.x and later made the attribute
  # Computed, where this is a no-op. A change made outside Terraform (e.g. to SSE-KMS) is still
  # found: refresh compares the live value with the state, which `harness drift` reports.
  lifecycle {
    ignore_changes = [server_side_encryption_configuration]
  }

  # Overwrite policy keep_versions: every PUT makes a new version and the replaced one stays
  # readable (by VersionId) until the lifecycle rule below expires it. The inline blocks are
  # what provider 3.x has (aws_s3_bucket_versioning and aws_s3_bucket_lifecycle_configuration
  # exist from 4.0); 4.9.0 and later accept them again, deprecated (CHANGELOG 4.9.0, #23985).
  # 4.0.0 to 4.8.x made them read-only (hashicorp/terraform-provider-aws#22581), so with
  # those releases the module cannot be planned.
  # Versioning is declared in every mode, so that leaving keep_versions suspends it: S3 has
  # no way back to "never versioned" (PutBucketVersioning takes Enabled or Suspended), and
  # the versions kept so far stay until deleted.
  versioning {
    enabled = local.keep_versions
  }

  dynamic "lifecycle_rule" {
    for_each = local.keep_versions ? [var.noncurrent_version_expiration_days] : []
    content {
      id      = "expire-replaced-versions"
      enabled = true

      noncurrent_version_expiration {
        days = lifecycle_rule.value
      }
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Overwrite policy reject: no PutObject without If-None-Match, whoever sends it, so no
  # path around the API (a role, a user, a console upload) can replace an object either
  # ("Enforce conditional writes on Amazon S3 buckets", S3 User Guide; the condition key
  # s3:if-none-match is absent from a request without the header). Multipart parts
  # (UploadPart is s3:PutObject and takes no conditional header) are refused too; nothing
  # here uses them.
  dynamic "statement" {
    for_each = local.overwrite_reject ? [1] : []
    content {
      sid       = "DenyPutObjectWithoutIfNoneMatch"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "Null"
        variable = "s3:if-none-match"
        values   = ["true"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a policy write while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- role API Gateway assumes to write to S3 --------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "put_object" {
  statement {
    sid       = "PutObjectOnly"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/*"]
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name_prefix}-"
  description        = "Lets API Gateway write uploads to ${aws_s3_bucket.this.id}, and nothing else."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "put_object" {
  name   = "put-object-only"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.put_object.json
}

# --- REST API ---------------------------------------------------------------------------

resource "aws_api_gateway_rest_api" "this" {
  name               = "${var.name_prefix}-upload"
  description        = "PUT /{bucket}/{filename} writes the body to S3."
  binary_media_types = var.binary_media_types
  tags               = var.tags

  endpoint_configuration {
    types = [var.endpoint_type]
  }
}

resource "aws_api_gateway_resource" "bucket" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "{bucket}"
}

resource "aws_api_gateway_resource" "filename" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.bucket.id
  path_part   = "{filename}"
}

resource "aws_api_gateway_method" "put" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = aws_api_gateway_resource.filename.id
  http_method   = "PUT"
  authorization = var.authorization == "AWS_IAM" ? "AWS_IAM" : "NONE"
  # API_KEY: API Gateway checks x-api-key against the keys of the usage plans bound to the stage.
  api_key_required   = var.authorization == "API_KEY"
  request_parameters = local.put_request_parameters
}

resource "aws_api_gateway_integration" "s3_put" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.filename.id
  http_method             = aws_api_gateway_method.put.http_method
  type                    = "AWS"
  integration_http_method = "PUT"
  uri                     = "arn:${local.partition}:apigateway:${local.region}:s3:path/{bucket}/{key}"
  credentials             = aws_iam_role.this.arn
  request_parameters      = local.integration_request_parameters
  passthrough_behavior    = "WHEN_NO_MATCH"
  timeout_milliseconds    = var.integration_timeout_ms
}

resource "aws_api_gateway_method_response" "ok" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.put.http_method
  status_code = "200"

  response_parameters = merge(
    { "method.response.header.ETag" = false },
    local.cors_enabled ? local.cors_origin_declared : {},
  )
}

resource "aws_api_gateway_integration_response" "ok" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.put.http_method
  status_code = aws_api_gateway_method_response.ok.status_code

  # ETag reaches the client only when declared above and mapped here; so does the CORS origin.
  response_parameters = merge(
    { "method.response.header.ETag" = "integration.response.header.ETag" },
    local.cors_enabled ? local.cors_origin_mapped : {},
  )

  depends_on = [aws_api_gateway_integration.s3_put]
}

resource "aws_api_gateway_method_response" "error" {
  for_each = local.error_responses

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.put.http_method
  status_code = each.key

  response_parameters = local.cors_enabled ? local.cors_origin_declared : null
}

resource "aws_api_gateway_integration_response" "error" {
  for_each = local.error_responses

  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.filename.id
  http_method       = aws_api_gateway_method.put.http_method
  status_code       = aws_api_gateway_method_response.error[each.key].status_code
  selection_pattern = each.value
  # A page reads a refused write (403 from S3, ...) only if this answer carries the origin too.
  response_parameters = local.cors_enabled ? local.cors_origin_mapped : null

  depends_on = [aws_api_gateway_integration.s3_put]
}

# --- CORS: the preflight, and the gateway's own answers ---------------------------------
# Only with cors_allowed_origins. A browser sends `OPTIONS` before every cross-origin PUT (PUT
# is never a "simple" request), without credentials; API Gateway answers it from a MOCK
# integration whose request template returns {"statusCode": 200}, with the CORS headers as
# static method-response values ("CORS for REST APIs in API Gateway", non-proxy integrations).

resource "aws_api_gateway_method" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = "OPTIONS"
  # A preflight carries no signature and no API key, whatever `authorization` is.
  authorization    = "NONE"
  api_key_required = false
}

resource "aws_api_gateway_integration" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.options[0].http_method
  type        = "MOCK"
  # A preflight has no Content-Type: API Gateway then selects the application/json template
  # ("Method request behavior for payloads without mapping templates"). NEVER refuses any
  # other type with 415, as the CORS page advises.
  request_templates    = { "application/json" = jsonencode({ statusCode = 200 }) }
  passthrough_behavior = "NEVER"
  # binary_media_types ["*/*"] makes every request binary, even one without a body, and a
  # mapping template cannot be applied to a binary payload: without this, the preflight gets
  # 500 (execution log "Unable to transform request", API_CONFIGURATION_ERROR:
  # aws/serverless-application-model#553; aws/chalice#1310; AWS's advice in both).
  content_handling = "CONVERT_TO_TEXT"
}

resource "aws_api_gateway_method_response" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.options[0].http_method
  status_code = "200"

  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = false
    "method.response.header.Access-Control-Allow-Methods" = false
    "method.response.header.Access-Control-Allow-Origin"  = false
  }
}

resource "aws_api_gateway_integration_response" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.options[0].http_method
  status_code = aws_api_gateway_method_response.options[0].status_code
  # The same reason as on the integration, for the (empty) answer on its way back: reports
  # disagree on which side needs it (serverless/serverless#11010), so both have it.
  content_handling = "CONVERT_TO_TEXT"

  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
    "method.response.header.Access-Control-Allow-Methods" = "'PUT,OPTIONS'"
    "method.response.header.Access-Control-Allow-Origin"  = "'${local.cors_origin}'"
  }

  depends_on = [aws_api_gateway_integration.options]
}

# API Gateway's own answers (403 without a key or a signature, 429 throttled, 5xx) never reach
# an integration response; only gateway responses add headers to them ("Gateway responses for
# REST APIs"). Without the origin a page sees an opaque network error instead of the status.
# The template is AWS's default, stated because GetGatewayResponse reads it back after a put
# without one (recorded: LocalStack tests/aws/services/apigateway/test_apigateway_api.snapshot.json,
# test_gateway_response_put) and an unset argument would then show as a pending change.
# 413 REQUEST_TOO_LARGE cannot be customised (API Gateway known issues, REST APIs): a page
# never reads that status; it must check the size before sending.
# Both are put whether CORS is on or not (without it, with AWS's default template and no
# header, which is what the default answers): turning CORS off is then an update that the
# next deployment takes with it. A gateway response takes effect with the next deployment,
# and one that is deleted would be deleted after that deployment was taken (Terraform
# destroys a dependency after its dependents are replaced), leaving the old origin live.
resource "aws_api_gateway_gateway_response" "cors" {
  for_each = toset(["DEFAULT_4XX", "DEFAULT_5XX"])

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key

  response_templates = {
    "application/json" = "{\"message\":$context.error.messageString}"
  }
  response_parameters = local.cors_enabled ? {
    "gatewayresponse.header.Access-Control-Allow-Origin" = "'${local.cors_origin}'"
  } : {}
}

# --- deployment and stage ---------------------------------------------------------------

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Managed by Terraform"

  # A stage serves the snapshot taken at deployment; any change below must redeploy.
  # Ids alone miss in-place updates, so the configuration itself is hashed too.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_rest_api.this.binary_media_types,
      aws_api_gateway_resource.bucket.id,
      aws_api_gateway_resource.filename.id,
      aws_api_gateway_method.put.id,
      aws_api_gateway_method.put.request_parameters,
      aws_api_gateway_method.put.authorization,
      aws_api_gateway_method.put.api_key_required,
      local.source_ip_policy,
      aws_api_gateway_integration.s3_put.id,
      aws_api_gateway_integration.s3_put.uri,
      aws_api_gateway_integration.s3_put.credentials,
      aws_api_gateway_integration.s3_put.request_parameters,
      aws_api_gateway_integration.s3_put.timeout_milliseconds,
      aws_api_gateway_method_response.ok.response_parameters,
      aws_api_gateway_integration_response.ok.response_parameters,
      { for code, response in aws_api_gateway_integration_response.error : code => response.selection_pattern },
      # The origin on the error responses is hashed as configured: read back, an unset
      # response_parameters turns from null into {} and would change the hash after every apply.
      var.cors_allowed_origins,
      local.cors_allow_headers,
      [for method in aws_api_gateway_method.options : [method.id, method.authorization, method.api_key_required]],
      [for integration in aws_api_gateway_integration.options : [integration.id, integration.request_templates, integration.passthrough_behavior, integration.content_handling]],
      [for response in aws_api_gateway_method_response.options : response.response_parameters],
      [for response in aws_api_gateway_integration_response.options : [response.response_parameters, response.content_handling]],
      # The gateway responses follow var.cors_allowed_origins (above), hashed as configured for the
      # same reason as the error responses.
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_rest_api_policy.source_ip,
    aws_api_gateway_integration.s3_put,
    aws_api_gateway_integration_response.ok,
    aws_api_gateway_integration_response.error,
    aws_api_gateway_integration_response.options,
    aws_api_gateway_gateway_response.cors,
  ]
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  tags          = var.tags
}

# Stage-wide throttling: every method of the stage, every caller together (API Gateway
# "Throttle API requests for better throughput": token bucket, 429 Too Many Requests).
resource "aws_api_gateway_method_settings" "throttle" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}

# --- who may upload: API keys and the resource policy --------------------------------------

resource "aws_api_gateway_usage_plan" "this" {
  count = var.authorization == "API_KEY" ? 1 : 0

  name        = "${var.name_prefix}-uploads"
  description = "Callers of ${aws_api_gateway_rest_api.this.name}: their keys, throttle and quota."
  tags        = var.tags

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.usage_plan_quota == null ? [] : [var.usage_plan_quota]
    content {
      limit  = quota_settings.value.limit
      period = quota_settings.value.period
    }
  }
}

resource "aws_api_gateway_api_key" "this" {
  count = var.authorization == "API_KEY" ? 1 : 0

  name        = "${var.name_prefix}-uploader"
  description = "Key for PUT uploads through ${aws_api_gateway_rest_api.this.name}."
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = var.authorization == "API_KEY" ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}

# The API always carries a resource policy, so that a change of the source ranges (or of
# the caller check) is an in-place update that the next deployment takes with it: a policy
# takes effect only with the next deployment ("Create and attach an API Gateway resource
# policy to an API", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-create-attach.html),
# and a policy resource that is deleted would be deleted after the new deployment was taken
# (Terraform destroys a dependency after its dependents are replaced), leaving the old
# ranges live. Without ranges the policy changes nothing:
# - NONE and API_KEY: callers are anonymous, and the policy must allow them explicitly, so
#   it allows every caller ("How API Gateway resource policies affect authorization
#   workflow", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html);
# - AWS_IAM: no Allow for PUT, so IAM alone decides for callers of this account, as without
#   a policy (an Allow for "*" would let in every signed caller, with or without
#   execute-api:Invoke); only the CORS preflight (OPTIONS, which needs no authorization, so
#   its caller is anonymous) is allowed to everyone;
# - the Deny refuses callers outside the ranges; without ranges its condition covers every
#   address (0.0.0.0/0 and ::/0), so it never applies.
# Built with jsonencode rather than a policy-document data source: a data source that reads
# the API is deferred to apply time whenever the API has any change planned (an out-of-band
# edit, say), which would make the policy and the deployment "known after apply" too.
locals {
  source_ip_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = var.authorization == "AWS_IAM" ? "AllowPreflightFromAllowedRanges" : "AllowInvokeFromAllowedRanges"
        Effect    = "Allow"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource = var.authorization == "AWS_IAM" ? "${aws_api_gateway_rest_api.this.execution_arn}/*/OPTIONS/*" : (
        "${aws_api_gateway_rest_api.this.execution_arn}/*")
      },
      {
        Sid       = "DenyInvokeFromElsewhere"
        Effect    = "Deny"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "${aws_api_gateway_rest_api.this.execution_arn}/*"
        Condition = {
          NotIpAddress = {
            "aws:SourceIp" = length(var.allowed_source_cidrs) > 0 ? var.allowed_source_cidrs : ["0.0.0.0/0", "::/0"]
          }
        }
      },
    ]
  })
}

resource "aws_api_gateway_rest_api_policy" "source_ip" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  policy      = local.source_ip_policy
}
