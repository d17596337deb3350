"""Uploads from a browser: the CORS resources each `cors_allowed_origins` value plans, and its validation.

Planned offline with the real provider 3.39.0 (the shared `plan` fixture, tests/toolchain/conftest.py),
read from Terraform's plan JSON. What the resources must be follows "CORS for REST APIs in API
Gateway" (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html): an
OPTIONS method with a MOCK integration whose template returns {"statusCode": 200}, static
Access-Control-Allow-* method-response headers, Access-Control-Allow-Origin on the actual
method's responses, and DEFAULT_4XX / DEFAULT_5XX gateway responses for API Gateway's own
answers ("Gateway responses for REST APIs").
"""

import pytest
from offline_plan import BUNDLED

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
E2E_STACK_ORIGIN = "http://127.0.0.1:14263"  # terraform/stacks/e2e/variables.tf
ORIGIN = "method.response.header.Access-Control-Allow-Origin"
ALLOW_HEADERS = "method.response.header.Access-Control-Allow-Headers"
ALLOW_METHODS = "method.response.header.Access-Control-Allow-Methods"
ERROR_STATUSES = ("400", "403", "404", "409", "412", "500")
CORS_ADDRESSES = ("aws_api_gateway_method.options[0]", "aws_api_gateway_integration.options[0]",
                  "aws_api_gateway_method_response.options[0]", "aws_api_gateway_integration_response.options[0]",
                  'aws_api_gateway_gateway_response.cors["DEFAULT_4XX"]',
                  'aws_api_gateway_gateway_response.cors["DEFAULT_5XX"]')


def _origin_everywhere(resources, origin):
    """Every PUT answer and both gateway responses carry `origin`; the method responses declare it."""
    assert resources["aws_api_gateway_integration_response.ok"]["response_parameters"] == {
        "method.response.header.ETag": "integration.response.header.ETag", ORIGIN: f"'{origin}'"}
    assert resources["aws_api_gateway_method_response.ok"]["response_parameters"] == {
        "method.response.header.ETag": False, ORIGIN: False}
    for status in ERROR_STATUSES:
        assert resources[f'aws_api_gateway_integration_response.error["{status}"]']["response_parameters"] == {
            ORIGIN: f"'{origin}'"}
        assert resources[f'aws_api_gateway_method_response.error["{status}"]']["response_parameters"] == {
            ORIGIN: False}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        gateway = resources[f'aws_api_gateway_gateway_response.cors["{response_type}"]']
        assert gateway["response_type"] == response_type
        assert gateway["status_code"] is None  # each type keeps its own status (403, 429, ...)
        assert gateway["response_parameters"] == {"gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'"}
        # AWS's default body, stated so that the read-back matches the configuration.
        assert gateway["response_templates"] == {"application/json": '{"message":$context.error.messageString}'}


def test_cors_off_plans_no_preflight_and_no_cors_header(plan):
    resources, shown = plan(cors_allowed_origins=[])
    assert not [address for address in resources if "options" in address]
    # The gateway responses stay, with AWS's default template and no header, so that turning
    # CORS off is an update the next deployment takes (a deletion would outlive it).
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        gateway = resources[f'aws_api_gateway_gateway_response.cors["{response_type}"]']
        assert not gateway.get("response_parameters")
        assert gateway["response_templates"] == {"application/json": '{"message":$context.error.messageString}'}
    assert resources["aws_api_gateway_integration_response.ok"]["response_parameters"] == {
        "method.response.header.ETag": "integration.response.header.ETag"}
    for status in ERROR_STATUSES:
        assert not resources[f'aws_api_gateway_integration_response.error["{status}"]']["response_parameters"]
    assert shown["planned_values"]["outputs"]["cors_allowed_origins"]["value"] == []


def test_e2e_stack_default_allows_its_loopback_test_origin(plan):
    resources, shown = plan()
    assert shown["planned_values"]["outputs"]["cors_allowed_origins"]["value"] == [E2E_STACK_ORIGIN]
    method = resources["aws_api_gateway_method.options[0]"]
    assert (method["http_method"], method["authorization"], method["api_key_required"]) == ("OPTIONS", "NONE", False)
    integration = resources["aws_api_gateway_integration.options[0]"]
    assert integration["type"] == "MOCK"
    assert integration["request_templates"] == {"application/json": '{"statusCode":200}'}
    assert integration["passthrough_behavior"] == "NEVER"
    assert integration["content_handling"] == "CONVERT_TO_TEXT"  # binary_media_types */*
    assert resources["aws_api_gateway_method_response.options[0]"]["response_parameters"] == {
        ALLOW_HEADERS: False, ALLOW_METHODS: False, ORIGIN: False}
    preflight = resources["aws_api_gateway_integration_response.options[0]"]
    assert preflight["status_code"] == "200"
    assert preflight["response_parameters"] == {
        ALLOW_HEADERS: "'Content-Type,X-Content-MD5,x-amz-checksum-sha256'",
        ALLOW_METHODS: "'PUT,OPTIONS'",
        ORIGIN: f"'{E2E_STACK_ORIGIN}'",
    }
    _origin_everywhere(resources, E2E_STACK_ORIGIN)


@pytest.mark.parametrize(("authorization", "caller_headers"), [
    ("API_KEY", "x-api-key"),
    ("AWS_IAM", "Authorization,X-Amz-Date,X-Amz-Security-Token"),
])
def test_preflight_needs_no_credentials_and_allows_the_caller_check_headers(plan, authorization,
                                                                             caller_headers):
    resources, _ = plan(authorization=authorization, cors_allowed_origins=["https://app.example.com"])
    put = resources["aws_api_gateway_method.put"]
    assert (put["authorization"], put["api_key_required"]) == (
        ("AWS_IAM", False) if authorization == "AWS_IAM" else ("NONE", True))
    options = resources["aws_api_gateway_method.options[0]"]
    assert (options["authorization"], options["api_key_required"]) == ("NONE", False)
    headers = resources["aws_api_gateway_integration_response.options[0]"]["response_parameters"][ALLOW_HEADERS]
    assert headers == f"'Content-Type,{caller_headers},X-Content-MD5,x-amz-checksum-sha256'"
    _origin_everywhere(resources, "https://app.example.com")


def test_any_origin(plan):
    resources, _ = plan(cors_allowed_origins=["*"])
    assert resources["aws_api_gateway_integration_response.options[0]"]["response_parameters"][ORIGIN] == "'*'"
    _origin_everywhere(resources, "*")


def test_deployment_redeploys_on_every_cors_piece(plan):
    _, shown = plan()
    module = shown["configuration"]["root_module"]["module_calls"]["upload_api"]["module"]
    (deployment,) = [r for r in module["resources"] if r["address"] == "aws_api_gateway_deployment.this"]
    references = set(deployment["expressions"]["triggers"]["references"])
    for needed in ("var.cors_allowed_origins", "local.cors_allow_headers", "aws_api_gateway_method.options",
                   "aws_api_gateway_integration.options", "aws_api_gateway_method_response.options",
                   "aws_api_gateway_integration_response.options"):
        assert needed in references, needed
    assert {"aws_api_gateway_integration_response.options", "aws_api_gateway_gateway_response.cors"} <= set(
        deployment["depends_on"])


def _refusal(plan, origins):
    with pytest.raises(Exception) as refused:  # TerraformError with Terraform's own words
        plan(cors_allowed_origins=origins)
    return " ".join(str(refused.value).split())


def test_several_origins_are_refused_with_the_reason(plan):
    message = _refusal(plan, ["https://a.example.com", "https://b.example.com"])
    assert "takes at most one entry" in message
    assert "gateway responses" in message


@pytest.mark.parametrize("origin", ["https://app.example.com/", "https://App.Example.com", "app.example.com",
                                    "null", "https://app.example.com/upload", "*.example.com"])
def test_malformed_origins_are_refused(plan, origin):
    assert "as a browser sends it" in _refusal(plan, [origin])


def test_cors_resources_are_all_or_nothing(plan):
    with_cors, _ = plan(cors_allowed_origins=["http://[::1]:8080"])
    assert set(CORS_ADDRESSES) <= set(with_cors)
    without, _ = plan(cors_allowed_origins=[])
    # Only the gateway responses stay (without their header): see test_cors_off_plans_no_preflight_...
    assert set(CORS_ADDRESSES) & set(without) == {a for a in CORS_ADDRESSES if "gateway_response" in a}
