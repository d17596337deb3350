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
  error_responses = {
    "400" = "4(0[0-2]|0[5-9]|[1-9][0-9])"
    "403" = "403"
    "404" = "404"
    "500" = "5[0-9]{2}"
  }

  put_request_parameters = merge(
    {
      "method.request.path.bucket"   = true
      "method.request.path.filename" = true
    },
    var.map_content_type ? { "method.request.header.Content-Type" = false } : {},
  )

  integration_request_parameters = merge(
    {
      "integration.request.path.bucket" = "method.request.path.bucket"
      "integration.request.path.key"    = "method.request.path.filename"
    },
    var.map_content_type ? {
      "integration.request.header.Content-Type" = "method.request.header.Content-Type"
    } : {},
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

  response_parameters = {
    "method.response.header.ETag" = false
  }
}

resource "aws_api_gateway_integration_response" "ok" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.put.http_method
  status_code = aws_api_gateway_method_response.ok.status_code

  # ETag reaches the client only when declared above and mapped here.
  response_parameters = {
    "method.response.header.ETag" = "integration.response.header.ETag"
  }

  depends_on = [aws_api_gateway_integration.s3_put]
}

resource "aws_api_gateway_method_response" "error" {
  for_each = local.error_responses

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.filename.id
  http_method = aws_api_gateway_method.put.http_method
  status_code = each.key
}

resource "aws_api_gateway_integration_response" "error" {
  for_each = local.error_responses

  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.filename.id
  http_method       = aws_api_gateway_method.put.http_method
  status_code       = aws_api_gateway_method_response.error[each.key].status_code
  selection_pattern = each.value

  depends_on = [aws_api_gateway_integration.s3_put]
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
      var.allowed_source_cidrs,
      aws_api_gateway_integration.s3_put.id,
      aws_api_gateway_integration.s3_put.uri,
      aws_api_gateway_integration.s3_put.credentials,
      aws_api_gateway_integration.s3_put.request_parameters,
      aws_api_gateway_integration.s3_put.timeout_milliseconds,
      aws_api_gateway_method_response.ok.response_parameters,
      aws_api_gateway_integration_response.ok.response_parameters,
      { for code, response in aws_api_gateway_integration_response.error : code => response.selection_pattern },
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_integration.s3_put,
    aws_api_gateway_integration_response.ok,
    aws_api_gateway_integration_response.error,
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

data "aws_iam_policy_document" "source_ip" {
  count = length(var.allowed_source_cidrs) > 0 ? 1 : 0

  statement {
    sid       = "AllowInvokeFromAllowedRanges"
    effect    = "Allow"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this.execution_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  statement {
    sid       = "DenyInvokeFromElsewhere"
    effect    = "Deny"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this.execution_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NotIpAddress"
      variable = "aws:SourceIp"
      values   = var.allowed_source_cidrs
    }
  }
}

# A resource policy takes effect only after a new deployment; the deployment's triggers
# include the ranges.
resource "aws_api_gateway_rest_api_policy" "source_ip" {
  count = length(var.allowed_source_cidrs) > 0 ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  policy      = data.aws_iam_policy_document.source_ip[0].json
}
