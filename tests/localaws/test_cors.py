"""CORS on the local execute-api: the preflight's MOCK integration, and gateway responses on the gateway's own answers.

Against the real local AWS server over HTTP, with APIs built through boto3. What is expected
follows harness/localaws/integration.py (MOCK) and gateway_responses.py (customisation),
which cite their AWS sources: "CORS for REST APIs in API Gateway", "Set up mock integrations",
"Method request behavior for payloads without mapping templates", "Gateway responses for REST
APIs", and API Gateway's known issues (413 not customisable).
"""

import pytest
import requests

from harness.localaws.dataplane import MAX_PAYLOAD_BYTES

ORIGIN = "http://127.0.0.1:14263"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "content-type"}
CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Content-Type,Content-MD5,x-amz-checksum-sha256",
    "Access-Control-Allow-Methods": "PUT,OPTIONS",
    "Access-Control-Allow-Origin": ORIGIN,
}


def _put_options(apigw, api, content_handling="CONVERT_TO_TEXT", template='{"statusCode": 200}',
                 passthrough="NEVER", extra_responses=()):
    """The preflight as the module builds it: OPTIONS, MOCK, static CORS headers on 200."""
    ids = {"restApiId": api.api_id, "resourceId": api.resource_id, "httpMethod": "OPTIONS"}
    apigw.put_method(**ids, authorizationType="NONE", apiKeyRequired=False)
    extra = {"contentHandling": content_handling} if content_handling else {}
    apigw.put_integration(**ids, type="MOCK", requestTemplates={"application/json": template},
                          passthroughBehavior=passthrough, **extra)
    apigw.put_method_response(**ids, statusCode="200", responseParameters={
        f"method.response.header.{name}": False for name in CORS_HEADERS})
    apigw.put_integration_response(**ids, statusCode="200", selectionPattern="", responseParameters={
        f"method.response.header.{name}": f"'{value}'" for name, value in CORS_HEADERS.items()})
    for status, pattern in extra_responses:
        apigw.put_method_response(**ids, statusCode=status)
        apigw.put_integration_response(**ids, statusCode=status, selectionPattern=pattern)


def _deploy(apigw, api):
    apigw.create_deployment(restApiId=api.api_id, stageName="dev")


def _default_4xx(apigw, api, **extra):
    apigw.put_gateway_response(restApiId=api.api_id, responseType="DEFAULT_4XX", responseParameters={
        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{ORIGIN}'",
        "gatewayresponse.header.x-seen-origin": "method.request.header.Origin"}, **extra)


# --- the preflight -------------------------------------------------------------------------

@pytest.fixture
def preflight(aws, build_api):
    """Build the upload API with the module's preflight (keyword arguments vary one piece) and deploy it;
    returns the API and a function that sends it a preflight as a browser does (extra headers added)."""

    def build(binary_media_types=("*/*",), **options):
        api = build_api(binary_media_types=binary_media_types)
        apigw = aws("apigateway")
        _put_options(apigw, api, **options)
        _deploy(apigw, api)
        return api, lambda **extra: requests.options(f"{api.url}/{api.bucket}/photo.png",
                                                     headers={**PREFLIGHT, **extra})

    return build


def test_preflight_is_answered_by_the_mock_with_the_static_cors_headers(aws, preflight):
    api, send = preflight()
    response = send()
    assert response.status_code == 200, response.text
    assert {name: response.headers.get(name) for name in CORS_HEADERS} == CORS_HEADERS
    assert response.content == b""
    assert response.headers["Content-Type"] == "application/json"
    assert aws("s3").list_objects_v2(Bucket=api.bucket).get("KeyCount", 0) == 0


def test_preflight_on_a_wildcard_binary_api_needs_convert_to_text(preflight):
    """`*/*` makes even a bodiless preflight binary; a template cannot be applied to it."""
    response = preflight(binary_media_types=("*/*",), content_handling=None)[1]()
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})
    assert "Unable to transform request" in response.headers["x-harness-reason"]
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_on_a_text_api_works_without_content_handling(preflight):
    response = preflight(binary_media_types=("image/png",), content_handling=None)[1]()
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_passthrough_never_refuses_an_unmapped_content_type(preflight):
    response = preflight()[1](**{"Content-Type": "text/plain"})
    assert (response.status_code, response.json()) == (415, {"message": "Unsupported Media Type"})


def test_the_template_status_selects_the_integration_response(preflight):
    response = preflight(template='{"statusCode": 404}', extra_responses=[("404", "404")])[1]()
    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response.headers  # the 404 response maps none


@pytest.mark.parametrize(("template", "reason"), [
    ('{"statusCode": "200"}', "Unable to parse statusCode"),
    ("not json", "Unable to parse statusCode"),
    ('{"statusCode": $input.params("code")}', "VTL mapping templates are not modelled"),
])
def test_a_template_without_an_integer_status_is_a_500(preflight, template, reason):
    response = preflight(template=template)[1]()
    assert response.status_code == 500 and reason in response.headers["x-harness-reason"]


def test_preflight_to_a_resource_without_options_is_missing_authentication_token(aws, build_api):
    api = build_api()
    response = requests.options(f"{api.url}/{api.bucket}/k", headers=PREFLIGHT)
    assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- the actual PUT ------------------------------------------------------------------------

def test_put_answers_carry_the_origin_their_integration_response_maps(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    ids = {"restApiId": api.api_id, "resourceId": api.resource_id, "httpMethod": "PUT"}
    apigw.put_method_response(**ids, statusCode="200", responseParameters={
        "method.response.header.ETag": False, "method.response.header.Access-Control-Allow-Origin": False})
    apigw.put_integration_response(**ids, statusCode="200", responseParameters={
        "method.response.header.ETag": "integration.response.header.ETag",
        "method.response.header.Access-Control-Allow-Origin": f"'{ORIGIN}'"})
    _default_4xx(apigw, api)
    _deploy(apigw, api)
    ok = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", headers={"Origin": ORIGIN})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    # A method response is never a gateway response: DEFAULT_4XX's headers stay off it.
    assert "x-seen-origin" not in ok.headers


# --- gateway responses on the gateway's own answers ------------------------------------------

def test_default_4xx_headers_reach_the_gateways_own_403(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    _default_4xx(apigw, api)
    _deploy(apigw, api)
    response = requests.options(f"{api.url}/{api.bucket}/k", headers=PREFLIGHT)
    assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["x-seen-origin"] == ORIGIN  # method.request.header.Origin


def test_integration_error_answers_do_not_take_default_4xx(aws, build_api):
    """S3's 403 reaches the caller through an integration response, not a gateway response."""
    api = build_api(policy_bucket="some-other-bucket")
    apigw = aws("apigateway")
    _default_4xx(apigw, api)
    _deploy(apigw, api)
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", headers={"Origin": ORIGIN})
    assert response.status_code == 403 and "AccessDenied" in response.text
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_type_put_itself_wins_over_default_4xx(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    _default_4xx(apigw, api)
    apigw.put_gateway_response(restApiId=api.api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
                               responseParameters={"gatewayresponse.header.x-own": "'yes'"})
    _deploy(apigw, api)
    response = requests.get(f"{api.url}/{api.bucket}/k", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert response.headers["x-own"] == "yes"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_default_4xx_status_code_replaces_each_types_own(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    _default_4xx(apigw, api, statusCode="418")
    _deploy(apigw, api)
    assert requests.get(f"{api.url}/{api.bucket}/k").status_code == 418


def test_default_5xx_headers_reach_the_gateways_own_500(aws, build_api):
    lambda_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    api = build_api(trust=lambda_trust)
    apigw = aws("apigateway")
    apigw.put_gateway_response(restApiId=api.api_id, responseType="DEFAULT_5XX", responseParameters={
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    _default_4xx(apigw, api)
    _deploy(apigw, api)
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x")
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_request_too_large_takes_no_gateway_response(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    _default_4xx(apigw, api)
    _deploy(apigw, api)
    response = requests.put(f"{api.url}/{api.bucket}/big", data=b"\0" * (MAX_PAYLOAD_BYTES + 1),
                            headers={"Origin": ORIGIN})
    assert response.status_code == 413
    assert "Access-Control-Allow-Origin" not in response.headers
    assert aws("s3").list_objects_v2(Bucket=api.bucket).get("KeyCount", 0) == 0


def test_gateway_responses_take_effect_with_the_next_deployment(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    _default_4xx(apigw, api)
    before = requests.get(f"{api.url}/{api.bucket}/k", headers={"Origin": ORIGIN})
    assert before.status_code == 403 and "Access-Control-Allow-Origin" not in before.headers
    _deploy(apigw, api)
    after = requests.get(f"{api.url}/{api.bucket}/k", headers={"Origin": ORIGIN})
    assert after.headers["Access-Control-Allow-Origin"] == ORIGIN
    apigw.delete_gateway_response(restApiId=api.api_id, responseType="DEFAULT_4XX")
    assert requests.get(f"{api.url}/{api.bucket}/k").headers["Access-Control-Allow-Origin"] == ORIGIN
    _deploy(apigw, api)
    assert "Access-Control-Allow-Origin" not in requests.get(f"{api.url}/{api.bucket}/k").headers
