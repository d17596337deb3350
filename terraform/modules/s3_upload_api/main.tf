# Direct uploads from API Gateway to S3, with no Lambda in between:
#   PUT {invoke_url}/{bucket}/{filename}  ->  s3:PutObject {bucket}/{filename}
# following AWS's "Tutorial: Create a REST API as an Amazon S3 proxy".

# `id` is the region name on every supported provider: `name` is deprecated in 6.x
# ("name is deprecated. Use region instead.") and `region` does not exist before 6.0.
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  private    = var.endpoint_type == "PRIVATE"
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
  #checkov:skip=CKV_AWS_18:every upload reaches the bucket through the API, whose access log records who uploaded what; S3 server access logs need a second bucket, the owner's choice
  #checkov:skip=CKV_AWS_21:versioning is on with overwrite_policy = keep_versions; the default, reject, refuses overwrites (412) and keeps one version per key without paying for old ones
  #checkov:skip=CKV2_AWS_61:the lifecycle rule (noncurrent-version expiry) exists with keep_versions only: in the other modes a key has one version and nothing expires
  #checkov:skip=CKV_AWS_144:cross-region replication needs a second bucket in another region; disaster recovery is the owner's choice, not part of an upload API
  #checkov:skip=CKV_AWS_145:S3 encrypts every object with SSE-S3 by default; SSE-KMS needs a customer key and kms:GenerateDataKey for the role, the owner's choice
  #checkov:skip=CKV2_AWS_62:event notifications need a consumer (queue, topic, function) that this module does not have; the owner adds them
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
  #checkov:skip=CKV_AWS_237:a replaced REST API gets a new id and invoke URL in either order; create-before-destroy would spread to every dependent resource and keep nothing callers could use
  name               = "${var.name_prefix}-upload"
  description        = "PUT /{bucket}/{filename} writes the body to S3."
  binary_media_types = var.binary_media_types
  tags               = var.tags

  endpoint_configuration {
    types = [var.endpoint_type]
    # Only PRIVATE APIs take VPC endpoints here (RestApi endpointConfiguration.vpcEndpointIds).
    vpc_endpoint_ids = local.private ? var.vpc_endpoint_ids : null
  }

  # Combinations AWS would refuse, or that would silently do nothing. Checked here, not in the
  # variables' validation: a validation block sees another variable only from Terraform 1.9,
  # and the module supports 1.3 (versions.tf).
  lifecycle {
    precondition {
      condition     = !local.private || length(var.vpc_endpoint_ids) > 0
      error_message = "endpoint_type PRIVATE needs vpc_endpoint_ids: AWS deploys a private API only with a resource policy naming who may call it (\"Private REST API doesn't have a resource policy attached to it\"), and the module's policy allows only the listed VPC endpoints."
    }
    precondition {
      condition     = local.private || length(var.vpc_endpoint_ids) == 0
      error_message = "vpc_endpoint_ids is only for endpoint_type PRIVATE (AWS takes VPC endpoint ids on private APIs only); set endpoint_type = \"PRIVATE\" or remove them."
    }
    precondition {
      condition     = !local.private || length(var.allowed_source_cidrs) == 0
      error_message = "allowed_source_cidrs cannot be used with endpoint_type PRIVATE: requests through a VPC endpoint carry aws:VpcSourceIp, not aws:SourceIp, so the ranges would refuse every caller. Limit callers with vpc_endpoint_ids."
    }
    precondition {
      condition     = var.usage_plan_quota == null || var.authorization == "API_KEY"
      error_message = "usage_plan_quota works only with authorization = \"API_KEY\" (a quota counts requests per API key; without keys there is no usage plan and it would be ignored). Set authorization = \"API_KEY\" or remove the quota."
    }
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
  #checkov:skip=CKV2_AWS_53:nothing to validate: the only parameters are the path's {bucket} and {filename}, which routing already requires, and the body is binary with no model
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
  #checkov:skip=CKV2_AWS_53:the CORS preflight has no parameters and no body to validate
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
  #checkov:skip=CKV2_AWS_4:execution logging (logging_level) writes to a log group API Gateway creates itself, which no destroy removes; the access log (access_log_settings) records each request
  #checkov:skip=CKV_AWS_73:X-Ray traces Lambda and HTTP backends; this API's only backend is S3 through an AWS integration, and tracing is billed per trace
  #checkov:skip=CKV_AWS_120:uploads are PUTs, which API Gateway never caches; a cache cluster would be billed by the hour for nothing
  #checkov:skip=CKV2_AWS_51:a client certificate authenticates API Gateway to an HTTP backend; this backend is S3, called with SigV4 through the module's role
  #checkov:skip=CKV2_AWS_29:a WAF web ACL is account-wide and billed; the owner associates one with the stage (aws_wafv2_web_acl_association)
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  tags          = var.tags

  # One JSON line per request in the module's log group (see "access logging" below). A
  # stage setting: it takes effect without a new deployment ("Set up CloudWatch logging for
  # REST APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
  dynamic "access_log_settings" {
    for_each = var.access_logging ? [1] : []
    content {
      # The log group's ARN without the ":*" stream wildcard, as the stage wants it: the
      # resource's `arn` has had no ":*" since provider 2.0 (version-2-upgrade guide,
      # "Resource: aws_cloudwatch_log_group, Removal of arn Wildcard Suffix").
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      format          = local.access_log_format
    }
  }

  # The stage refuses access logging while the region's API Gateway account has no
  # CloudWatch role; when the module sets that role, it must be in place first.
  depends_on = [aws_api_gateway_account.this]
}

# --- access logging ------------------------------------------------------------------------
# Who called, what API Gateway answered, and what S3 answered it, one line per request
# (checkov CKV_AWS_76). The `$context` variables are AWS's ("Variables for access logging for
# API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html);
# each key is the variable's name, and a variable without a value is logged as "-".
# - requestId is the x-amzn-RequestId answer header, extendedRequestId is x-amz-apigw-id;
# - integration.status is S3's status (integrationStatus is Lambda's, not S3's), and
#   integrationErrorMessage / error.message say why an integration or the gateway failed.
locals {
  access_log_format = jsonencode({
    "requestId"               = "$context.requestId"
    "extendedRequestId"       = "$context.extendedRequestId"
    "requestTime"             = "$context.requestTime"
    "requestTimeEpoch"        = "$context.requestTimeEpoch"
    "identity.sourceIp"       = "$context.identity.sourceIp"
    "identity.caller"         = "$context.identity.caller"
    "identity.userArn"        = "$context.identity.userArn"
    "identity.apiKeyId"       = "$context.identity.apiKeyId"
    "httpMethod"              = "$context.httpMethod"
    "resourcePath"            = "$context.resourcePath"
    "path"                    = "$context.path"
    "protocol"                = "$context.protocol"
    "status"                  = "$context.status"
    "responseLength"          = "$context.responseLength"
    "responseLatency"         = "$context.responseLatency"
    "integration.status"      = "$context.integration.status"
    "integration.latency"     = "$context.integration.latency"
    "integration.requestId"   = "$context.integration.requestId"
    "integrationErrorMessage" = "$context.integrationErrorMessage"
    "error.message"           = "$context.error.message"
    "error.responseType"      = "$context.error.responseType"
  })
}

# Named like the execution logs API Gateway creates itself
# (`API-Gateway-Execution-Logs_{rest-api-id}/{stage}`, set-up-logging.html): unique per API
# and stage, and found next to them.
resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs always encrypts log data at rest (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html); a KMS key, with a key policy for logs.amazonaws.com, is the owner's choice
  #checkov:skip=CKV_AWS_338:retention is the owner's choice (access_log_retention_days, up to 10 years); a throwaway test stack keeps its lines a day
  count = var.access_logging ? 1 : 0

  name              = "API-Gateway-Access-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.access_log_retention_days
  tags              = var.tags
}

# REST API logging needs one CloudWatch role per account and region, set in API Gateway's
# account settings (set-up-logging.html, "Permissions for CloudWatch logging"). It is
# account-wide, so the module sets it only when asked: setting it replaces whatever role
# the account had, for every API in the region. Provider 3.x and 5.x leave the setting in
# place when this is destroyed (5.x: unless reset_on_delete); 6.x resets it
# (version-6-upgrade guide, "resource/aws_api_gateway_account").
data "aws_iam_policy_document" "cloudwatch_assume" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name_prefix        = "${var.name_prefix}-apigw-logs-"
  description        = "API Gateway's account-wide role for writing CloudWatch logs in ${local.region}."
  assume_role_policy = data.aws_iam_policy_document.cloudwatch_assume[0].json
  tags               = var.tags
}

# The permissions of AWS's managed policy for this role, AmazonAPIGatewayPushToCloudWatchLogs
# (set-up-logging.html lists them), as the role's own policy: an account's managed policies
# cannot be listed by every AWS-compatible endpoint (the local AWS has none), and the role's
# managed_policy_arns is deprecated in 5.x.
data "aws_iam_policy_document" "cloudwatch_push" {
  #checkov:skip=CKV_AWS_111:AWS's AmazonAPIGatewayPushToCloudWatchLogs grants these on "*": one account-wide role writes the logs of every API in the region, to groups named by each stage
  #checkov:skip=CKV_AWS_356:the same account-wide role: the log groups it writes to are not known when it is set
  count = var.manage_account_cloudwatch_role ? 1 : 0

  statement {
    sid = "PushToCloudWatchLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:FilterLogEvents",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name   = "push-to-cloudwatch-logs"
  role   = aws_iam_role.cloudwatch[0].id
  policy = data.aws_iam_policy_document.cloudwatch_push[0].json
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn

  depends_on = [aws_iam_role_policy.cloudwatch]
}

# Stage-wide throttling: every method of the stage, every caller together (API Gateway
# "Throttle API requests for better throughput": token bucket, 429 Too Many Requests); and
# method metrics.
resource "aws_api_gateway_method_settings" "throttle" {
  #checkov:skip=CKV_AWS_225:uploads are PUTs, which API Gateway never caches; caching settings would be billed for nothing
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
    # Per-method CloudWatch metrics (Count, 4XXError, 5XXError, Latency, IntegrationLatency;
    # "Amazon API Gateway dimensions and metrics",
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
    metrics_enabled = true
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
# - PRIVATE: AWS requires a policy naming the callers' VPC endpoints ("Create a private API",
#   https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-create.html,
#   and its example "Allow private API traffic based on source VPC or VPC endpoint"): the Allow
#   holds only for requests through vpc_endpoint_ids (aws:SourceVpce), and the Deny refuses
#   any other, which matters for AWS_IAM, where the Allow covers the preflight only.
locals {
  source_policy_allow_condition = local.private ? {
    StringEquals = { "aws:SourceVpce" = var.vpc_endpoint_ids }
  } : {}

  source_ip_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      merge({
        Sid       = var.authorization == "AWS_IAM" ? "AllowPreflightFromAllowedRanges" : "AllowInvokeFromAllowedRanges"
        Effect    = "Allow"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource = var.authorization == "AWS_IAM" ? "${aws_api_gateway_rest_api.this.execution_arn}/*/OPTIONS/*" : (
        "${aws_api_gateway_rest_api.this.execution_arn}/*")
        }, local.private ? { Condition = local.source_policy_allow_condition } : {}
      ),
      {
        Sid       = "DenyInvokeFromElsewhere"
        Effect    = "Deny"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "${aws_api_gateway_rest_api.this.execution_arn}/*"
        Condition = {
          (local.private ? "StringNotEquals" : "NotIpAddress") = {
            (local.private ? "aws:SourceVpce" : "aws:SourceIp") = local.private ? var.vpc_endpoint_ids : (
              length(var.allowed_source_cidrs) > 0 ? var.allowed_source_cidrs : ["0.0.0.0/0", "::/0"]
            )
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
