"""API Gateway's Update* operations and gateway responses with boto3 against the local AWS: what
each accepts, what it refuses with AWS's message, `~1` escaping, and what Get* reads back.

Expected answers: the API reference's Patch Operations table
(https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html) and AWS's answers
recorded in LocalStack's tests/aws/services/apigateway/test_apigateway_api.snapshot.json and
test_apigateway_common.snapshot.json (test names given where a test follows one).
"""

import json

import botocore.exceptions
import pytest
import requests

from harness.localaws import server


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


@pytest.fixture
def apigw(aws):
    return aws("apigateway")


@pytest.fixture
def method(apigw):
    """A REST API with PUT on /{bucket}/{filename}, as the module declares it."""
    api = apigw.create_rest_api(name="upd")
    bucket = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{bucket}")
    filename = apigw.create_resource(restApiId=api["id"], parentId=bucket["id"], pathPart="{filename}")
    apigw.put_method(restApiId=api["id"], resourceId=filename["id"], httpMethod="PUT", authorizationType="NONE",
                     requestParameters={"method.request.path.bucket": True,
                                        "method.request.header.Content-Type": False})
    apigw.put_integration(restApiId=api["id"], resourceId=filename["id"], httpMethod="PUT", type="AWS",
                          integrationHttpMethod="PUT", uri="arn:aws:apigateway:us-east-1:s3:path/{bucket}/{key}",
                          credentials="arn:aws:iam::123456789012:role/old",
                          requestParameters={"integration.request.path.bucket": "method.request.path.bucket"})
    apigw.put_method_response(restApiId=api["id"], resourceId=filename["id"], httpMethod="PUT", statusCode="200",
                              responseParameters={"method.response.header.ETag": False})
    apigw.put_integration_response(restApiId=api["id"], resourceId=filename["id"], httpMethod="PUT",
                                   statusCode="200", selectionPattern="2\\d{2}", responseParameters={
                                       "method.response.header.ETag": "integration.response.header.ETag"})
    return {"restApiId": api["id"], "resourceId": filename["id"], "httpMethod": "PUT",
            "root": api["rootResourceId"], "bucketResource": bucket["id"]}


def ids(method, *names):
    return {name: method[name] for name in ("restApiId", "resourceId", "httpMethod", *names) if name in method}


# --- UpdateMethod ------------------------------------------------------------------------------

def test_update_method_authorization_api_key_and_parameters_read_back(apigw, method):
    where = ids(method)
    answer = apigw.update_method(**where, patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"},
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        {"op": "add", "path": "/requestParameters/method.request.header.X-Foo", "value": "true"},
        {"op": "replace", "path": "/requestParameters/method.request.header.Content-Type", "value": "true"},
        {"op": "remove", "path": "/requestParameters/method.request.path.bucket"},
        {"op": "add", "path": "/requestModels/application~1json", "value": "Empty"},
    ])
    read = apigw.get_method(**where)
    for found in (answer, read):
        assert found["authorizationType"] == "AWS_IAM" and found["apiKeyRequired"] is True
        assert found["requestParameters"] == {"method.request.header.X-Foo": True,
                                              "method.request.header.Content-Type": True}
        assert found["requestModels"] == {"application/json": "Empty"}
    assert read["methodIntegration"]["type"] == "AWS", "the rest of the method is kept"


def test_update_method_removing_every_parameter_leaves_none(apigw, method):
    where = ids(method)
    apigw.update_method(**where, patchOperations=[
        {"op": "remove", "path": "/requestParameters/method.request.path.bucket"},
        {"op": "remove", "path": "/requestParameters/method.request.header.Content-Type"}])
    assert "requestParameters" not in apigw.get_method(**where)


@pytest.mark.parametrize(("operation", "expected"), [  # test_update_method_validation
    ({"op": "add", "path": "/operationName", "value": "x"},
     (400, "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]")),
    ({"op": "add", "path": "/httpMethod", "value": "PUT"},
     (400, "BadRequestException", "Invalid patch path /httpMethod")),
    ({"op": "replace", "path": "/requestParameters", "value": "x=false"},
     (400, "BadRequestException", "Invalid patch path /requestParameters")),
    ({"op": "add", "path": "/requestModels/application/json", "value": "Empty"},
     (400, "BadRequestException", "Invalid patch path /requestModels/application/json")),
    ({"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
     (400, "BadRequestException", "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                                  "COGNITO_USER_POOLS requires a valid authorizer.")),
    ({"op": "replace", "path": "/requestParameters/method.request.header.Missing", "value": "true"},
     (404, "NotFoundException", "Invalid parameter name specified")),
])
def test_update_method_refusals_leave_the_method_unchanged(apigw, method, operation, expected):
    where = ids(method)
    before = apigw.get_method(**where)
    before.pop("ResponseMetadata")
    assert error_of(apigw.update_method, **where, patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"}, operation]) == expected
    after = apigw.get_method(**where)
    after.pop("ResponseMetadata")
    assert after == before


def test_update_method_on_missing_resource_or_method_is_not_found(apigw, method):
    assert error_of(apigw.update_method, restApiId=method["restApiId"], resourceId="nope", httpMethod="PUT",
                    patchOperations=[]) == (404, "NotFoundException", "Invalid Resource identifier specified")
    assert error_of(apigw.update_method, restApiId=method["restApiId"], resourceId=method["resourceId"],
                    httpMethod="GET", patchOperations=[]) == (404, "NotFoundException",
                                                              "Invalid Method identifier specified")


def test_update_method_authorizer_id_applies_only_to_custom_authorization(apigw, method):
    where = ids(method)
    answer = apigw.update_method(**where, patchOperations=[
        {"op": "replace", "path": "/authorizerId", "value": "abc123"}])
    assert "authorizerId" not in answer  # AWS ignores it on a NONE method (recorded)
    authorizer = apigw.create_authorizer(restApiId=method["restApiId"], name="a", type="TOKEN",
                                         authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/f",
                                         identitySource="method.request.header.Authorization")
    apigw.update_method(**where, patchOperations=[
        {"op": "replace", "path": "/authorizerId", "value": authorizer["id"]},
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"}])
    read = apigw.get_method(**where)
    assert (read["authorizationType"], read["authorizerId"]) == ("CUSTOM", authorizer["id"])


def test_a_method_change_is_served_only_after_a_new_deployment(aws, build_api):
    """The stage serves its deployment's snapshot (how-to-deploy-api.html): UpdateMethod alone
    changes nothing a caller sees; the next CreateDeployment does."""
    api = build_api()
    apigw = aws("apigateway")
    apigw.update_method(restApiId=api.api_id, resourceId=api.resource_id, httpMethod="PUT", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}])
    assert requests.put(f"{api.url}/{api.bucket}/before.txt", data=b"x", timeout=10).status_code == 200
    apigw.create_deployment(restApiId=api.api_id, stageName="dev")
    after = requests.put(f"{api.url}/{api.bucket}/after.txt", data=b"x", timeout=10)
    assert (after.status_code, after.json()) == (403, {"message": "Missing Authentication Token"})


# --- UpdateIntegration, UpdateIntegrationResponse, UpdateMethodResponse ------------------------

def test_update_integration_reads_back(apigw, method):
    where = ids(method)
    answer = apigw.update_integration(**where, patchOperations=[
        {"op": "replace", "path": "/uri", "value": "arn:aws:apigateway:us-east-1:s3:path/{bucket}/x/{key}"},
        {"op": "replace", "path": "/timeoutInMillis", "value": "5000"},
        {"op": "replace", "path": "/contentHandling", "value": "CONVERT_TO_TEXT"},
        {"op": "replace", "path": "/credentials", "value": "arn:aws:iam::123456789012:role/new"},
        {"op": "add", "path": "/requestParameters/integration.request.header.Content-Type",
         "value": "method.request.header.Content-Type"},
        {"op": "remove", "path": "/requestParameters/integration.request.path.bucket"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": '{"a": 1}'},
    ])
    read = apigw.get_integration(**where)
    for found in (answer, read):
        assert found["uri"] == "arn:aws:apigateway:us-east-1:s3:path/{bucket}/x/{key}"
        assert found["timeoutInMillis"] == 5000 and found["contentHandling"] == "CONVERT_TO_TEXT"
        assert found["credentials"] == "arn:aws:iam::123456789012:role/new"
        assert found["requestParameters"] == {
            "integration.request.header.Content-Type": "method.request.header.Content-Type"}
        assert found["requestTemplates"] == {"application/json": '{"a": 1}'}
    assert read["integrationResponses"]["200"]["selectionPattern"] == "2\\d{2}"


def test_update_integration_refuses_the_type_and_unknown_paths(apigw, method):
    where = ids(method)
    assert error_of(apigw.update_integration, **where, patchOperations=[
        {"op": "replace", "path": "/type", "value": "MOCK"}]) == (
        400, "BadRequestException", "Invalid patch path /type")
    assert error_of(apigw.update_integration, **where, patchOperations=[{"op": "add", "path": "/uri", "value": "x"}])[
        2] == "Invalid patch operation specified. Must be one of: [replace]"


def test_update_integration_response_reads_back(apigw, method):
    where = ids(method, "statusCode")
    apigw.update_integration_response(**where, statusCode="200", patchOperations=[
        {"op": "replace", "path": "/selectionPattern", "value": "200"},
        {"op": "remove", "path": "/responseParameters/method.response.header.ETag"},
        {"op": "add", "path": "/responseParameters/method.response.header.X-Id", "value": "'fixed'"},
        {"op": "add", "path": "/responseTemplates/application~1xml", "value": "<ok/>"},
    ])
    read = apigw.get_integration_response(**where, statusCode="200")
    assert read["selectionPattern"] == "200"
    assert read["responseParameters"] == {"method.response.header.X-Id": "'fixed'"}
    assert read["responseTemplates"] == {"application/xml": "<ok/>"}
    assert error_of(apigw.update_integration_response, **where, statusCode="404", patchOperations=[]) == (
        404, "NotFoundException", "Invalid Response status code specified")


def test_update_method_response_reads_back_and_refuses_missing_names(apigw, method):  # TestApigatewayMethodResponse
    where = ids(method)
    apigw.update_method_response(**where, statusCode="200", patchOperations=[
        {"op": "replace", "path": "/responseParameters/method.response.header.ETag", "value": "true"},
        {"op": "add", "path": "/responseModels/application~1json", "value": "Empty"}])
    read = apigw.get_method_response(**where, statusCode="200")
    assert read["responseParameters"] == {"method.response.header.ETag": True}
    assert read["responseModels"] == {"application/json": "Empty"}
    assert error_of(apigw.update_method_response, **where, statusCode="200", patchOperations=[
        {"op": "remove", "path": "/responseParameters/wrong"}]) == (
        404, "NotFoundException", "Invalid parameter name specified")
    assert error_of(apigw.update_method_response, **where, statusCode="200", patchOperations=[
        {"op": "replace", "path": "/responseModels/wrong", "value": "Empty"}]) == (
        404, "NotFoundException", "Content-Type specified was not found")
    assert error_of(apigw.update_method_response, **where, statusCode="200", patchOperations=[
        {"op": "remove", "path": "/wrong/method.response.header.my-header"}]) == (
        400, "BadRequestException", "Invalid patch path /wrong/method.response.header.my-header")


# --- UpdateResource, UpdateDeployment --------------------------------------------------------------

def test_update_resource_renames_and_moves_and_refuses(apigw, method):  # test_update_resource_behaviour
    api_id = method["restApiId"]
    other = apigw.create_resource(restApiId=api_id, parentId=method["root"], pathPart="other")
    answer = apigw.update_resource(restApiId=api_id, resourceId=method["resourceId"], patchOperations=[
        {"op": "replace", "path": "/pathPart", "value": "{key}"},
        {"op": "replace", "path": "/parentId", "value": other["id"]}])
    read = apigw.get_resource(restApiId=api_id, resourceId=method["resourceId"])
    for found in (answer, read):
        assert (found["path"], found["pathPart"], found["parentId"]) == ("/other/{key}", "{key}", other["id"])
    assert error_of(apigw.update_resource, restApiId=api_id, resourceId=other["id"], patchOperations=[
        {"op": "replace", "path": "/pathPart", "value": "{bucket}"}]) == (
        409, "ConflictException", "Another resource with the same parent already has this name: {bucket}")
    assert error_of(apigw.update_resource, restApiId=api_id, resourceId=method["root"], patchOperations=[
        {"op": "replace", "path": "/pathPart", "value": "x"}]) == (
        400, "BadRequestException", "Root resource cannot update its pathPart.")
    assert error_of(apigw.update_resource, restApiId=api_id, resourceId=other["id"], patchOperations=[
        {"op": "add", "path": "/pathPart", "value": "x"}]) == (
        400, "BadRequestException",
        "Invalid patch path  '/pathPart' specified for op 'add'. Please choose supported operations")


def test_update_deployment_description(apigw, method):
    deployment = apigw.create_deployment(restApiId=method["restApiId"], stageName="dev", description="first")
    apigw.update_deployment(restApiId=method["restApiId"], deploymentId=deployment["id"], patchOperations=[
        {"op": "replace", "path": "/description", "value": "second"}])
    assert apigw.get_deployment(restApiId=method["restApiId"], deploymentId=deployment["id"])[
        "description"] == "second"
    assert error_of(apigw.update_deployment, restApiId=method["restApiId"], deploymentId="nope",
                    patchOperations=[]) == (404, "NotFoundException", "Invalid Deployment identifier specified")


# --- what the module changes through operations moto already had ----------------------------------

def test_stage_throttling_is_replaced_and_the_setting_removed(apigw, method):  # test_update_stage_remove_wildcard
    api_id = method["restApiId"]
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "2.5"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "4"}])
    settings = apigw.get_stage(restApiId=api_id, stageName="dev")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (2.5, 4)
    apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[{"op": "remove", "path": "/*/*"}])
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["methodSettings"] == {}
    assert error_of(apigw.update_stage, restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "remove", "path": "/*/*"}]) == (
        400, "BadRequestException", "Cannot remove method setting */* because there is no method setting for this "
                                    "method ")


def test_usage_plan_throttle_and_quota_are_replaced(apigw):
    plan = apigw.create_usage_plan(name="p", throttle={"rateLimit": 50.0, "burstLimit": 100},
                                   quota={"limit": 10, "period": "DAY"})
    apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/throttle/rateLimit", "value": "2.5"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "4"},
        {"op": "replace", "path": "/quota/limit", "value": "12"},
        {"op": "replace", "path": "/quota/period", "value": "WEEK"}])
    read = apigw.get_usage_plan(usagePlanId=plan["id"])
    assert read["throttle"] == {"rateLimit": 2.5, "burstLimit": 4}
    assert (read["quota"]["limit"], read["quota"]["period"]) == (12, "WEEK")


def test_rest_api_binary_media_types_and_policy_are_patched(apigw):
    api = apigw.create_rest_api(name="b", binaryMediaTypes=["*/*"])
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                      "Action": "execute-api:Invoke", "Resource": "*"}]}
    apigw.update_rest_api(restApiId=api["id"], patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        {"op": "remove", "path": "/binaryMediaTypes/*~1*"},
        {"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
    read = apigw.get_rest_api(restApiId=api["id"])
    assert read["binaryMediaTypes"] == ["image/png"]
    assert json.loads(json.loads(f'"{read["policy"]}"')) == policy


def test_api_key_name_and_enabled_are_replaced(apigw):
    key = apigw.create_api_key(name="k", enabled=True)
    apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/enabled", "value": "false"}])
    read = apigw.get_api_key(apiKey=key["id"])
    assert (read["name"], read["enabled"]) == ("renamed", False)


# --- gateway responses -----------------------------------------------------------------------------

DEFAULT_TEMPLATES = {"application/json": '{"message":$context.error.messageString}'}


def gateway(apigw, api_id, response_type):
    found = apigw.get_gateway_response(restApiId=api_id, responseType=response_type)
    found.pop("ResponseMetadata")
    return found


def test_every_type_answers_its_default_on_an_untouched_api(apigw):  # test_gateway_response_crud
    api_id = apigw.create_rest_api(name="g")["id"]
    assert gateway(apigw, api_id, "MISSING_AUTHENTICATION_TOKEN") == {
        "responseType": "MISSING_AUTHENTICATION_TOKEN", "defaultResponse": True, "statusCode": "403",
        "responseParameters": {}, "responseTemplates": DEFAULT_TEMPLATES}
    assert "statusCode" not in gateway(apigw, api_id, "DEFAULT_4XX")
    listed = {item["responseType"]: item for item in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert len(listed) == 21 and all(item["defaultResponse"] for item in listed.values())
    assert {name: listed[name].get("statusCode") for name in ("THROTTLED", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE",
                                                              "INTEGRATION_TIMEOUT", "UNAUTHORIZED")} == {
        "THROTTLED": "429", "QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413", "INTEGRATION_TIMEOUT": "504",
        "UNAUTHORIZED": "401"}


def test_put_overrides_one_type_and_delete_restores_the_default(apigw):
    api_id = apigw.create_rest_api(name="g")["id"]
    put = apigw.put_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN",
                                     responseParameters={"gatewayresponse.header.x-a": "'b'"})
    put.pop("ResponseMetadata")
    expected = {"responseType": "MISSING_AUTHENTICATION_TOKEN", "defaultResponse": False, "statusCode": "403",
                "responseParameters": {"gatewayresponse.header.x-a": "'b'"}, "responseTemplates": DEFAULT_TEMPLATES}
    assert put == expected and gateway(apigw, api_id, "MISSING_AUTHENTICATION_TOKEN") == expected
    apigw.delete_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert gateway(apigw, api_id, "MISSING_AUTHENTICATION_TOKEN")["defaultResponse"] is True
    assert error_of(apigw.delete_gateway_response, restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN") == (
        404, "NotFoundException", "Gateway response type not defined on api")


def test_a_5xx_fallback_override_reaches_the_5xx_defaults(apigw):  # test_gateway_response_put
    api_id = apigw.create_rest_api(name="g")["id"]
    apigw.put_gateway_response(restApiId=api_id, responseType="DEFAULT_5XX", statusCode="599")
    apigw.put_gateway_response(restApiId=api_id, responseType="AUTHORIZER_FAILURE",
                               responseParameters={"gatewayresponse.header.foo": "'bar'"})
    assert gateway(apigw, api_id, "INTEGRATION_TIMEOUT") == {
        "responseType": "INTEGRATION_TIMEOUT", "defaultResponse": True, "statusCode": "599",
        "responseParameters": {}, "responseTemplates": DEFAULT_TEMPLATES}
    assert gateway(apigw, api_id, "AUTHORIZER_FAILURE")["statusCode"] == "500"
    assert gateway(apigw, api_id, "THROTTLED")["statusCode"] == "429"


def test_update_gateway_response_patches_an_untouched_type_into_an_override(apigw):  # test_update_gateway_response
    api_id = apigw.create_rest_api(name="g")["id"]
    apigw.update_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX", patchOperations=[
        {"op": "replace", "path": "/statusCode", "value": "444"},
        {"op": "add", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
         "value": "'example.com'"},
        {"op": "add", "path": "/responseTemplates/application~1xml", "value": "<m>$context.error.messageString</m>"}])
    assert gateway(apigw, api_id, "DEFAULT_4XX") == {
        "responseType": "DEFAULT_4XX", "defaultResponse": False, "statusCode": "444",
        "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'example.com'"},
        "responseTemplates": {**DEFAULT_TEMPLATES, "application/xml": "<m>$context.error.messageString</m>"}}
    assert error_of(apigw.update_gateway_response, restApiId=api_id, responseType="DEFAULT_4XX", patchOperations=[
        {"op": "add", "path": "/statusCode", "value": "444"}]) == (
        400, "BadRequestException", "Invalid patch path /statusCode")
    assert error_of(apigw.update_gateway_response, restApiId=api_id, responseType="DEFAULT_5XX", patchOperations=[
        {"op": "replace", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
         "value": "'example.com'"}]) == (404, "NotFoundException", "Invalid parameter name specified")


def test_gateway_responses_of_an_unknown_api_or_type_are_refused(apigw):  # test_gateway_response_validation
    api_id = apigw.create_rest_api(name="g")["id"]
    status, code, message = error_of(apigw.get_gateway_response, restApiId="nope", responseType="DEFAULT_4XX")
    assert (status, code) == (404, "NotFoundException") and message.startswith("Invalid API identifier specified ")
    assert message.endswith(":nope")
    status, code, message = error_of(apigw.get_gateway_response, restApiId=api_id, responseType="FAKE_TYPE")
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("1 validation error detected: Value 'FAKE_TYPE' at 'responseType' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [REQUEST_TOO_LARGE, ")


# --- an operation the local AWS does not model ---------------------------------------------------

@pytest.mark.parametrize(("service", "operation", "kwargs", "code"), [
    ("apigateway", "update_model", {"restApiId": "a", "modelName": "m", "patchOperations": []}, "BadRequestException"),
    ("iam", "change_password", {"OldPassword": "a", "NewPassword": "b"}, "InvalidAction"),
    ("sts", "decode_authorization_message", {"EncodedMessage": "x"}, "InvalidAction"),
])
def test_an_unmodelled_operation_is_a_clear_400_the_sdk_does_not_retry(aws, service, operation, kwargs, code):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        getattr(aws(service), operation)(**kwargs)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["Error"]["Code"] == code
    action = "".join(part.capitalize() for part in operation.split("_"))
    assert response["Error"]["Message"].startswith(f"The local AWS does not implement {action} ")


def test_the_rest_xml_answer_is_s3_shaped():
    from flask import Flask

    with Flask(__name__).test_request_context("/bucket?unknown", method="PUT"):
        answer = server.not_implemented_answer("s3", NotImplementedError("not there"))
    assert answer.status_code == 400
    assert answer.get_data(as_text=True).startswith(
        "<Error><Code>InvalidAction</Code><Message>The local AWS does not implement PUT /bucket (not there)")
