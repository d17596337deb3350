"""API Gateway's PATCH rules (harness/localaws/patch_operations.py) on plain documents.

Expected messages are AWS's, recorded in LocalStack's tests/aws/services/apigateway/
test_apigateway_api.snapshot.json; accepted paths and ops follow the API reference's
Patch Operations table (https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html).
"""

import pytest

from harness.localaws import patch_operations as po
from harness.localaws.patch_operations import PatchError

ONLY_REPLACE = "Invalid patch operation specified. Must be one of: [replace]"
BAD = "BadRequestException"
METHOD = {"authorizationType": "NONE", "apiKeyRequired": False,
          "requestParameters": {"method.request.path.bucket": True, "method.request.header.Content-Type": False}}


def refusal(spec, document, operations):
    with pytest.raises(PatchError) as info:
        po.apply(spec, document, operations)
    return info.value.status, info.value.code, info.value.message


@pytest.mark.parametrize(("segment", "name"), [
    ("application~1json", "application/json"), ("a~0b", "a~b"), ("~01", "~1"), ("plain", "plain"),
])
def test_json_pointer_segments_unescape_in_rfc_6901_order(segment, name):
    assert po.unescape(segment) == name


def test_method_authorization_and_api_key_are_replaced():
    patched = po.apply(po.UPDATE_METHOD, METHOD, [
        {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"},
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
    ])
    assert patched["authorizationType"] == "AWS_IAM" and patched["apiKeyRequired"] is True
    assert METHOD["authorizationType"] == "NONE", "the input document is not modified"


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("false", False),
                                                 ("whatever", False)])
def test_booleans_are_read_from_strings_as_aws_reads_them(value, expected):
    patched = po.apply(po.UPDATE_METHOD, METHOD, [{"op": "replace", "path": "/apiKeyRequired", "value": value}])
    assert patched["apiKeyRequired"] is expected


def test_method_request_parameters_are_added_replaced_and_removed_one_by_one():
    patched = po.apply(po.UPDATE_METHOD, METHOD, [
        {"op": "add", "path": "/requestParameters/method.request.header.X-Foo", "value": "true"},
        {"op": "replace", "path": "/requestParameters/method.request.header.Content-Type", "value": "true"},
        {"op": "remove", "path": "/requestParameters/method.request.path.bucket"},
    ])
    assert patched["requestParameters"] == {"method.request.header.X-Foo": True,
                                            "method.request.header.Content-Type": True}


def test_removing_the_last_entry_drops_the_member():
    patched = po.apply(po.UPDATE_METHOD, {"requestModels": {"application/json": "Empty"}},
                       [{"op": "remove", "path": "/requestModels/application~1json"}])
    assert "requestModels" not in patched


def test_escaped_slash_names_a_content_type_and_an_unescaped_one_is_not_a_path():
    patched = po.apply(po.UPDATE_METHOD, {}, [{"op": "add", "path": "/requestModels/application~1json",
                                               "value": "Empty"}])
    assert patched["requestModels"] == {"application/json": "Empty"}
    assert refusal(po.UPDATE_METHOD, {}, [{"op": "add", "path": "/requestModels/application/json",
                                           "value": "Empty"}]) == (
        400, "BadRequestException", "Invalid patch path /requestModels/application/json")


@pytest.mark.parametrize(("operation", "message"), [
    ({"op": "add", "path": "/operationName", "value": "x"}, ONLY_REPLACE),
    ({"op": "remove", "path": "/authorizationType"}, ONLY_REPLACE),
    ({"op": "copy", "path": "/apiKeyRequired", "from": "/x"}, ONLY_REPLACE),
    ({"op": "replace", "path": "/authorizationScopes", "value": "s"},
     "Invalid patch operation specified. Must be one of: [add, remove]"),
    ({"op": "add", "path": "/httpMethod", "value": "PUT"}, "Invalid patch path /httpMethod"),
    ({"op": "replace", "path": "/requestParameters", "value": "x=false"}, "Invalid patch path /requestParameters"),
    ({"op": "replace", "value": "x"}, "Invalid patch path null"),
])
def test_method_refusals_are_aws_messages(operation, message):
    assert refusal(po.UPDATE_METHOD, METHOD, [operation]) == (400, "BadRequestException", message)


def test_a_refused_operation_leaves_nothing_applied():
    document = dict(METHOD)
    with pytest.raises(PatchError):
        po.apply(po.UPDATE_METHOD, document, [{"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"},
                                             {"op": "add", "path": "/nope", "value": "x"}])
    assert document == METHOD


def test_ops_outside_the_enum_are_all_reported_as_one_validation_exception():
    status, code, message = refusal(po.UPDATE_METHOD_RESPONSE, {}, [
        {"op": "wrong_op", "path": "/responseModels/a"}, {"op": "add", "path": "/responseModels/b", "value": "x"},
        {"op": "wrong_op", "path": "/responseModels/c"}])
    assert (status, code) == (400, "ValidationException")
    assert message == (
        "2 validation errors detected: Value 'wrong_op' at 'updateMethodResponseInput.patchOperations.1.member.op' "
        "failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]; "
        "Value 'wrong_op' at 'updateMethodResponseInput.patchOperations.3.member.op' failed to satisfy constraint: "
        "Member must satisfy enum value set: [add, remove, move, test, replace, copy]")


def test_status_code_problems_join_the_validation_message():
    with pytest.raises(PatchError) as info:
        po.validate_ops(po.UPDATE_METHOD_RESPONSE, [{"op": "bad", "path": "/x"}], po.status_code_problem("wrong"))
    assert info.value.message.startswith("2 validation errors detected: Value 'bad'")
    assert info.value.message.endswith(
        "Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "[1-5]\\d\\d")
    assert po.status_code_problem("404") == []


@pytest.mark.parametrize(("path", "message"), [
    ("/responseParameters/method.response.header.missing", "Invalid parameter name specified"),
    ("/responseModels/application~1xml", "Content-Type specified was not found"),
])
@pytest.mark.parametrize("op", ["replace", "remove"])
def test_replacing_or_removing_a_missing_entry_is_not_found(path, message, op):
    document = {"statusCode": "200", "responseParameters": {"method.response.header.ETag": False}}
    assert refusal(po.UPDATE_METHOD_RESPONSE, document, [{"op": op, "path": path, "value": "true"}]) == (
        404, "NotFoundException", message)


def test_method_response_parameters_and_models_read_back():
    patched = po.apply(po.UPDATE_METHOD_RESPONSE, {"statusCode": "200", "responseParameters": {
        "method.response.header.ETag": False}}, [
        {"op": "replace", "path": "/responseParameters/method.response.header.ETag", "value": "true"},
        {"op": "add", "path": "/responseModels/application~1json", "value": "Empty"}])
    assert patched == {"statusCode": "200", "responseParameters": {"method.response.header.ETag": True},
                       "responseModels": {"application/json": "Empty"}}


def test_integration_scalars_maps_and_nested_member():
    document = {"type": "AWS", "uri": "arn:old", "timeoutInMillis": 29000,
                "requestParameters": {"integration.request.path.key": "method.request.path.filename"}}
    patched = po.apply(po.UPDATE_INTEGRATION, document, [
        {"op": "replace", "path": "/uri", "value": "arn:new"},
        {"op": "replace", "path": "/timeoutInMillis", "value": "5000"},
        {"op": "replace", "path": "/contentHandling", "value": "CONVERT_TO_TEXT"},
        {"op": "replace", "path": "/credentials", "value": "arn:aws:iam::123456789012:role/r"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": "{}"},
        {"op": "add", "path": "/requestParameters/integration.request.header.X-Foo", "value": "'bar'"},
        {"op": "replace", "path": "/tlsConfig/insecureSkipVerification", "value": "true"},
        {"op": "add", "path": "/cacheKeyParameters/method.request.path.bucket", "value": ""},
    ])
    assert patched["uri"] == "arn:new" and patched["timeoutInMillis"] == 5000
    assert patched["contentHandling"] == "CONVERT_TO_TEXT"
    assert patched["credentials"] == "arn:aws:iam::123456789012:role/r"
    assert patched["requestTemplates"] == {"application/json": "{}"}
    assert patched["requestParameters"]["integration.request.header.X-Foo"] == "'bar'"
    assert patched["tlsConfig"] == {"insecureSkipVerification": True}
    assert patched["cacheKeyParameters"] == ["method.request.path.bucket"]


def test_integration_type_cannot_be_patched_at_all():
    assert refusal(po.UPDATE_INTEGRATION, {"type": "AWS"}, [{"op": "replace", "path": "/type", "value": "MOCK"}]) == (
        400, "BadRequestException", "Invalid patch path /type")


def test_integration_response_selection_pattern_and_templates():
    patched = po.apply(po.UPDATE_INTEGRATION_RESPONSE, {"statusCode": "400", "selectionPattern": "4\\d{2}"}, [
        {"op": "replace", "path": "/selectionPattern", "value": "400"},
        {"op": "add", "path": "/responseTemplates/application~1xml", "value": "<e/>"},
        {"op": "add", "path": "/responseParameters/method.response.header.ETag",
         "value": "integration.response.header.ETag"},
    ])
    assert patched["selectionPattern"] == "400"
    assert patched["responseTemplates"] == {"application/xml": "<e/>"}
    assert patched["responseParameters"] == {"method.response.header.ETag": "integration.response.header.ETag"}


@pytest.mark.parametrize(("operation", "message"), [
    ({"op": "replace", "path": "/invalid", "value": "x"},
     "Invalid patch path  '/invalid' specified for op 'replace'. Must be one of: [/parentId, /pathPart]"),
    ({"op": "remove", "path": "/pathPart"},
     "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"),
    ({"op": "add", "path": "/pathPart", "value": "x"},
     "Invalid patch path  '/pathPart' specified for op 'add'. Please choose supported operations"),
])
def test_resource_refusals_use_the_quoted_wording(operation, message):
    assert refusal(po.UPDATE_RESOURCE, {"parentId": "root", "pathPart": "a"}, [operation]) == (
        400, "BadRequestException", message)


RESOURCES = {"root": po.ResourceNode("root", None, "/"), "a": po.ResourceNode("a", "root", "pets"),
             "b": po.ResourceNode("b", "a", "sub"), "c": po.ResourceNode("c", "root", "other")}


@pytest.mark.parametrize(("resource", "after", "expected"), [
    ("root", {"parentId": None, "pathPart": "x"}, (400, BAD, "Root resource cannot update its pathPart.")),
    ("a", {"parentId": "b", "pathPart": "pets"}, (400, BAD, "Resources cannot be cyclical.")),
    ("a", {"parentId": "a", "pathPart": "pets"}, (400, BAD, "Resources cannot be cyclical.")),
    ("a", {"parentId": "nope", "pathPart": "pets"},
     (404, "NotFoundException", "Invalid Resource identifier specified")),
    ("c", {"parentId": "root", "pathPart": "pets"},
     (409, "ConflictException", "Another resource with the same parent already has this name: pets")),
])
def test_resource_moves_and_renames_are_checked(resource, after, expected):
    node = RESOURCES[resource]
    with pytest.raises(PatchError) as info:
        po.check_resource(RESOURCES, resource, {"parentId": node.parent_id, "pathPart": node.path_part}, after)
    assert (info.value.status, info.value.code, info.value.message) == expected


def test_a_resource_may_move_under_a_sibling():
    po.check_resource(RESOURCES, "b", {"parentId": "a", "pathPart": "sub"}, {"parentId": "c", "pathPart": "sub"})


def test_custom_authorization_needs_an_authorizer_of_the_api():
    with pytest.raises(PatchError) as info:
        po.check_method({"authorizationType": "CUSTOM", "authorizerId": "abc123"}, [], [])
    assert info.value.message == ("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                                  "COGNITO_USER_POOLS requires a valid authorizer.")
    assert po.check_method({"authorizationType": "CUSTOM", "authorizerId": "abc123"}, ["abc123"], [])[
        "authorizerId"] == "abc123"


def test_an_authorizer_id_on_a_method_without_custom_authorization_is_ignored():
    assert po.check_method({"authorizationType": "NONE", "authorizerId": "abc123"}, [], []) == {
        "authorizationType": "NONE"}


def test_request_validator_must_exist_and_empty_removes_it():
    with pytest.raises(PatchError) as info:
        po.check_method({"authorizationType": "NONE", "requestValidatorId": "v1"}, [], [])
    assert info.value.message == "Invalid Request Validator identifier specified"
    assert "requestValidatorId" not in po.check_method({"authorizationType": "NONE", "requestValidatorId": ""}, [], [])


GATEWAY = {"responseType": "DEFAULT_4XX", "defaultResponse": False, "statusCode": "404",
           "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'"},
           "responseTemplates": {"application/json": '{"message":$context.error.messageString}'}}


def test_gateway_response_status_parameters_and_templates():
    patched = po.apply(po.UPDATE_GATEWAY_RESPONSE, GATEWAY, [
        {"op": "replace", "path": "/statusCode", "value": "444"},
        {"op": "replace", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
         "value": "'example.com'"},
        {"op": "add", "path": "/responseTemplates/application~1xml", "value": "<m/>"},
        {"op": "remove", "path": "/responseTemplates/application~1json"},
    ])
    assert patched["statusCode"] == "444"
    assert patched["responseParameters"] == {"gatewayresponse.header.Access-Control-Allow-Origin": "'example.com'"}
    assert patched["responseTemplates"] == {"application/xml": "<m/>"}


def test_gateway_response_maps_stay_as_empty_maps():
    patched = po.apply(po.UPDATE_GATEWAY_RESPONSE, GATEWAY, [
        {"op": "remove", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin"}])
    assert patched["responseParameters"] == {}


@pytest.mark.parametrize(("operation", "expected"), [
    ({"op": "add", "path": "/statusCode", "value": "444"}, (400, BAD, "Invalid patch path /statusCode")),
    ({"op": "remove", "path": "/statusCode"}, (400, BAD, "Invalid patch path /statusCode")),
    ({"op": "add", "path": "/wrongPath", "value": "x"}, (400, BAD, "Invalid patch path /wrongPath")),
    ({"op": "add", "value": "x"}, (400, BAD, "Invalid patch path null")),
    ({"op": "replace", "path": "/responseParameters/gatewayresponse.header.Missing", "value": "'x'"},
     (404, "NotFoundException", "Invalid parameter name specified")),
    ({"op": "replace", "path": "/responseTemplates/application~1json", "value": None},
     (400, "BadRequestException", "Invalid null or empty value in responseTemplates")),
    ({"op": "replace", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
      "value": None}, (400, "BadRequestException", "Invalid null or empty value in responseParameters")),
])
def test_gateway_response_refusals_are_aws_messages(operation, expected):
    assert refusal(po.UPDATE_GATEWAY_RESPONSE, GATEWAY, [operation]) == expected


def test_deployment_description_is_replaced_and_nothing_else():
    assert po.apply(po.UPDATE_DEPLOYMENT, {"description": "a"}, [
        {"op": "replace", "path": "/description", "value": "b"}]) == {"description": "b"}
    assert refusal(po.UPDATE_DEPLOYMENT, {}, [{"op": "replace", "path": "/stageName", "value": "x"}])[2] == (
        "Invalid patch path /stageName")
