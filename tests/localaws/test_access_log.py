"""The local AWS's access log: one line per execute-api request, in the stage's format, with
each `$context` variable as AWS defines it ("Variables for access logging for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html),
the request ids on every answer, and the account's CloudWatch role that logging needs."""

import base64
import json
import re
import time
import uuid
from datetime import datetime

import pytest
import requests
from botocore.exceptions import ClientError

from harness.localaws import LocalAws
from harness.localaws import faults as faults_module
from harness.localaws.controlplane.account import MISSING_CLOUDWATCH_ROLE_MESSAGE
from harness.localaws.dataplane import MAX_PAYLOAD_BYTES

VARIABLES = ("requestId", "extendedRequestId", "requestTime", "requestTimeEpoch", "identity.sourceIp",
             "identity.caller", "identity.userArn", "identity.apiKeyId", "httpMethod", "resourcePath", "path",
             "protocol", "status", "responseLength", "integration.status", "integration.latency",
             "integrationErrorMessage", "error.message", "error.responseType", "stage", "apiId")
# Each key is the variable's name, as in the module's format (terraform/modules/s3_upload_api).
FORMAT = json.dumps({name: f"$context.{name}" for name in VARIABLES}, separators=(",", ":"))
CLF_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")


def enable_access_log(aws, api_id, stage="dev"):
    """A log group and the stage's access log settings pointing at it (as the module sets them)."""
    group = f"API-Gateway-Access-Logs_{api_id}/{stage}"
    aws("logs").create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"
    aws("apigateway").update_stage(restApiId=api_id, stageName=stage, patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
        {"op": "replace", "path": "/accessLogSettings/format", "value": FORMAT}])
    return group


def require_api_key(aws, api):
    """The PUT method requires an API key, deployed; the API Gateway client."""
    apigw = aws("apigateway")
    apigw.update_method(restApiId=api.api_id, resourceId=api.resource_id, httpMethod="PUT",
                        patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
    apigw.create_deployment(restApiId=api.api_id, stageName="dev")
    return apigw


def lines(aws, group):
    events = aws("logs").filter_log_events(logGroupName=group)["events"]
    return [json.loads(event["message"]) for event in events]


def the_line(aws, group, response):
    """The one line of this answer, found by the request id it carries."""
    found = [line for line in lines(aws, group) if line["requestId"] == response.headers["x-amzn-RequestId"]]
    assert len(found) == 1, found
    return found[0]


def assert_ids(response, line):
    # requestId is x-amzn-RequestId, extendedRequestId is x-amz-apigw-id: 16 characters of base64.
    assert str(uuid.UUID(response.headers["x-amzn-RequestId"])) == line["requestId"]
    extended = response.headers["x-amz-apigw-id"]
    assert line["extendedRequestId"] == extended
    assert len(extended) == 16 and len(base64.b64decode(extended, validate=True)) == 11


def assert_request_fields(line, api, key, method="PUT", before=None, after=None):
    assert line["httpMethod"] == method
    assert line["identity.sourceIp"] == "127.0.0.1"
    assert line["protocol"] == "HTTP/1.1"
    assert line["stage"] == "dev" and line["apiId"] == api.api_id
    assert line["resourcePath"] == "/{bucket}/{filename}"
    # $context.path: the request path with the stage in front.
    assert line["path"] == f"/dev/{api.bucket}/{key}"
    # An unsigned request without a key: who called is unknown ("-", as AWS logs it).
    assert (line["identity.caller"], line["identity.userArn"], line["identity.apiKeyId"]) == ("-", "-", "-")
    assert CLF_TIME.match(line["requestTime"]), line["requestTime"]
    epoch_ms = int(line["requestTimeEpoch"])
    assert datetime.strptime(line["requestTime"], "%d/%b/%Y:%H:%M:%S %z").timestamp() == epoch_ms // 1000
    if before is not None and after is not None:
        assert int(before * 1000) <= epoch_ms <= int(after * 1000) + 1


def test_a_stored_upload_logs_s3s_status_and_no_error(aws, build_api):
    api = build_api()
    group = enable_access_log(aws, api.api_id)
    before = time.time()
    response = requests.put(f"{api.url}/{api.bucket}/a.txt", data=b"hello", timeout=10)
    after = time.time()
    assert response.status_code == 200
    line = the_line(aws, group, response)
    assert_ids(response, line)
    assert_request_fields(line, api, "a.txt", before=before, after=after)
    assert line["status"] == "200" and line["responseLength"] == str(len(response.content))
    # The integration ran: S3's own status and the call's latency in ms.
    assert line["integration.status"] == "200" and line["integration.latency"].isdigit()
    assert (line["integrationErrorMessage"], line["error.message"], line["error.responseType"]) == ("-", "-", "-")


def test_a_caller_the_resource_policy_refuses_logs_the_gateways_message_and_no_integration(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    resource = f"arn:aws:execute-api:us-east-1:123456789012:{api.api_id}/*"
    # The module's shape: allow everyone, deny callers outside the allowed ranges (here: 127.0.0.1).
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": resource},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": resource,
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}}]})
    apigw.update_rest_api(restApiId=api.api_id, patchOperations=[{"op": "replace", "path": "/policy", "value": policy}])
    apigw.create_deployment(restApiId=api.api_id, stageName="dev")
    group = enable_access_log(aws, api.api_id)
    response = requests.put(f"{api.url}/{api.bucket}/refused.txt", data=b"x", timeout=10)
    assert response.status_code == 403
    line = the_line(aws, group, response)
    assert_ids(response, line)
    assert_request_fields(line, api, "refused.txt")
    assert line["status"] == "403" and line["responseLength"] == str(len(response.content))
    # $context.error.message is the gateway's own message; the response type is ACCESS_DENIED.
    assert line["error.message"] == response.json()["Message"]
    assert line["error.message"].startswith("User: anonymous is not authorized to perform: execute-api:Invoke")
    assert line["error.responseType"] == "ACCESS_DENIED"
    # Refused before the integration: nothing of S3's.
    assert (line["integration.status"], line["integration.latency"], line["integrationErrorMessage"]) == ("-", "-", "-")
    assert aws("s3").list_objects_v2(Bucket=api.bucket).get("KeyCount", 0) == 0


def test_a_body_over_the_quota_logs_request_too_large(aws, build_api):
    api = build_api()
    group = enable_access_log(aws, api.api_id)
    response = requests.put(f"{api.url}/{api.bucket}/big", data=b"\0" * (MAX_PAYLOAD_BYTES + 1), timeout=30)
    assert response.status_code == 413
    line = the_line(aws, group, response)
    assert_ids(response, line)
    assert_request_fields(line, api, "big")
    assert line["status"] == "413" and line["responseLength"] == str(len(response.content))
    assert line["error.message"] == response.json()["message"] == "Request Too Long"
    assert line["error.responseType"] == "REQUEST_TOO_LARGE"
    assert (line["integration.status"], line["integration.latency"], line["integrationErrorMessage"]) == ("-", "-", "-")


def test_a_missing_route_and_an_api_key_refusal_log_their_gateway_response_types(aws, build_api):
    api = build_api()
    require_api_key(aws, api)
    group = enable_access_log(aws, api.api_id)
    no_key = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    no_route = requests.put(f"{api.url}/{api.bucket}/k/deeper", data=b"x", timeout=10)
    assert (no_key.status_code, no_route.status_code) == (403, 403)
    key_line, route_line = the_line(aws, group, no_key), the_line(aws, group, no_route)
    assert (key_line["error.message"], key_line["error.responseType"]) == ("Forbidden", "INVALID_API_KEY")
    assert key_line["identity.apiKeyId"] == "-"
    assert (route_line["error.message"], route_line["error.responseType"]) == (
        "Missing Authentication Token", "MISSING_AUTHENTICATION_TOKEN")
    # No resource matched: no resource path; the path is still the one sent.
    assert route_line["resourcePath"] == "-" and route_line["path"] == f"/dev/{api.bucket}/k/deeper"


def test_a_valid_api_key_is_logged_by_its_id(aws, build_api):
    api = build_api()
    apigw = require_api_key(aws, api)
    key = apigw.create_api_key(name="k", enabled=True)
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api.api_id, "stage": "dev"}])
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    group = enable_access_log(aws, api.api_id)
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", headers={"x-api-key": key["value"]}, timeout=10)
    assert response.status_code == 200
    line = the_line(aws, group, response)
    assert line["identity.apiKeyId"] == key["id"]
    assert key["value"] not in json.dumps(lines(aws, group))  # the key itself is never logged


def test_a_gateway_500_logs_the_integrations_error_and_carries_both_ids(aws, build_api):
    # The role does not trust API Gateway: the integration call cannot be made.
    api = build_api(trust={"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    group = enable_access_log(aws, api.api_id)
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    assert response.status_code == 500
    line = the_line(aws, group, response)
    assert_ids(response, line)
    assert line["status"] == "500" and line["error.message"] == "Internal server error"
    assert line["error.responseType"] == "DEFAULT_5XX"
    assert "not trusted to assume" in line["integrationErrorMessage"]
    assert line["integration.status"] == "-"


class TestS3Errors:
    @pytest.fixture
    def local_aws(self):  # overrides conftest's for this class: S3 answers the first PUT with 503 SlowDown
        with LocalAws(faults=faults_module.from_specs("default", "s3.put:slowdown@count=1")) as server:
            yield server

    def test_an_s3_error_logs_s3s_status_behind_the_mapped_500(self, aws, build_api):
        api = build_api()
        group = enable_access_log(aws, api.api_id)
        failed = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
        stored = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
        assert (failed.status_code, stored.status_code) == (500, 200)
        line = the_line(aws, group, failed)
        assert_ids(failed, line)
        assert_request_fields(line, api, "k")
        # The method's 500 comes from the `5\d{2}` integration response; S3 answered 503 SlowDown.
        assert line["status"] == "500" and line["integration.status"] == "503"
        assert line["responseLength"] == str(len(failed.content)) and b"<Code>SlowDown</Code>" in failed.content
        assert line["integration.latency"].isdigit()
        # An answer built from an integration response is not a gateway error.
        assert (line["error.message"], line["error.responseType"], line["integrationErrorMessage"]) == ("-", "-", "-")
        assert the_line(aws, group, stored)["integration.status"] == "200"


def test_a_stage_without_settings_logs_nothing_but_still_answers_with_ids(aws, build_api):
    api = build_api()
    group = f"API-Gateway-Access-Logs_{api.api_id}/dev"
    aws("logs").create_log_group(logGroupName=group)
    responses = [requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10),
                 requests.put(f"{api.url}/{api.bucket}", data=b"x", timeout=10)]
    assert [r.status_code for r in responses] == [200, 403]
    assert all(r.headers["x-amzn-RequestId"] and len(r.headers["x-amz-apigw-id"]) == 16 for r in responses)
    assert len({r.headers["x-amzn-RequestId"] for r in responses}) == 2
    assert aws("logs").describe_log_streams(logGroupName=group)["logStreams"] == []
    assert lines(aws, group) == []


def test_settings_removed_stop_the_lines(aws, build_api):
    api = build_api()
    group = enable_access_log(aws, api.api_id)
    requests.put(f"{api.url}/{api.bucket}/k1", data=b"x", timeout=10)
    aws("apigateway").update_stage(restApiId=api.api_id, stageName="dev",
                                   patchOperations=[{"op": "remove", "path": "/accessLogSettings"}])
    requests.put(f"{api.url}/{api.bucket}/k2", data=b"x", timeout=10)
    assert [line["path"] for line in lines(aws, group)] == [f"/dev/{api.bucket}/k1"]


def test_without_the_accounts_cloudwatch_role_access_logging_is_refused(aws, build_api):
    api = build_api()
    apigw = aws("apigateway")
    # The local account starts with a role set, as an account where logging was set up before.
    assert apigw.get_account()["cloudwatchRoleArn"].startswith("arn:aws:iam::123456789012:role/")
    apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    with pytest.raises(ClientError) as refused:
        enable_access_log(aws, api.api_id)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error["Code"], error["Message"]) == ("BadRequestException", MISSING_CLOUDWATCH_ROLE_MESSAGE)
    assert "accessLogSettings" not in apigw.get_stage(restApiId=api.api_id, stageName="dev")
    # Removing settings needs no role; with a role set again, they are accepted.
    apigw.update_stage(restApiId=api.api_id, stageName="dev",
                       patchOperations=[{"op": "remove", "path": "/accessLogSettings"}])
    apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn",
                                           "value": "arn:aws:iam::123456789012:role/apigw-logs"}])
    aws("logs").delete_log_group(logGroupName=f"API-Gateway-Access-Logs_{api.api_id}/dev")
    enable_access_log(aws, api.api_id)
    assert apigw.get_stage(restApiId=api.api_id, stageName="dev")["accessLogSettings"]["format"] == FORMAT


def test_a_throttled_request_logs_throttled_and_no_integration(aws, build_api):
    api = build_api()
    aws("apigateway").update_stage(restApiId=api.api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"}])
    group = enable_access_log(aws, api.api_id)
    answers = [requests.put(f"{api.url}/{api.bucket}/k{i}", data=b"x", timeout=10) for i in range(3)]
    throttled = next(answer for answer in answers if answer.status_code == 429)
    line = the_line(aws, group, throttled)
    assert_ids(throttled, line)
    assert line["status"] == "429" and line["responseLength"] == str(len(throttled.content))
    assert (line["error.message"], line["error.responseType"]) == ("Too Many Requests", "THROTTLED")
    assert (line["integration.status"], line["integration.latency"]) == ("-", "-")


def test_render_takes_the_longest_known_name_writes_dashes_and_keeps_json_lines_whole():
    from harness.localaws.access_log import render

    variables = {"status": "200", "error.message": 'say "hi"\nthere', "integration.status": None}
    assert render("$context.status. $context.nope|$context.integration.status", variables) == "200. -|-"
    line = render('{"m":"$context.error.message","s":"$context.status"}', variables)
    assert json.loads(line) == {"m": 'say "hi"\nthere', "s": "200"} and "\n" not in line
