"""Who may upload: the stack's caller check holds, and the throttle and quota bite.

Each check runs for the variant the stack was applied with (`stack_outputs.authorization`:
NONE, AWS_IAM or API_KEY; choose one with `--stack-var authorization="AWS_IAM"`) and is
skipped, with the reason, for the others. Expected answers come from AWS:
- "How do I troubleshoot HTTP 403 errors from API Gateway?"
  (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden): a wrong or
  missing API key gets 403 `{"message":"Forbidden"}`; an unsigned request to an AWS_IAM method
  403 `{"message":"Missing Authentication Token"}`; a caller without execute-api:Invoke 403
  "User: ARN is not authorized to perform: execute-api:Invoke on resource: ARN", under the key
  `Message`, with the account id masked (recorded: ASFHyP3/hyp3#2283).
- A bad signature: 403 whose message starts with "The request signature we calculated does not
  match the signature you provided." (recorded: mhart/aws4#33, rpgreen/apigateway-generic-java-sdk#11).
- Over the throttle: 429 `{"message":"Too Many Requests"}`; over a usage plan quota: 429
  `{"message":"Limit Exceeded"}` ("Gateway response types", THROTTLED and QUOTA_EXCEEDED).
A refused request never stores anything. Throttle and quota checks need a stack applied with
low limits (`--stack-var throttle_burst_limit=4 --stack-var throttle_rate_limit=2`), else
they are skipped: the defaults (50/s, burst 100) are too high to reach in a bounded loop.
"""

import json
import os
import time
import uuid

import pytest
from botocore.credentials import Credentials

from harness.client.readback import sha256
from harness.client.upload_client import CallerAuth

SIGNATURE_MISMATCH_START = "The request signature we calculated does not match the signature you provided."
# A burst check sends at most this many requests; stacks with a larger burst skip it.
MAX_BURST_CHECKED = 20
# New IAM access keys can take seconds to be recognised on AWS; bounded retries for that answer only.
KEY_PROPAGATION_ATTEMPTS = 10
KEY_PROPAGATION_SLEEP = 2.0


def requires(variant):
    def check(stack_outputs):
        if stack_outputs.authorization != variant:
            pytest.skip(f"the stack was applied with authorization={stack_outputs.authorization}, not {variant} "
                        f"(apply with --stack-var authorization='\"{variant}\"')")
    return check


@pytest.fixture
def unique_key():
    """A key with no characters that need encoding, so the resource ARN in AWS's answer is unambiguous."""
    return f"auth-{uuid.uuid4().hex}"


def _refused_and_not_stored(response, s3_readback, key, status, body):
    assert response.status_code == status, response.text
    assert response.json() == body
    assert not s3_readback.exists(key), "a refused request stored an object"


def _masked_arn(stack_outputs, key):
    arn = stack_outputs.values["execution_arn"]  # arn:aws:execute-api:REGION:ACCOUNT:API
    prefix, account, api_id = arn.rsplit(":", 2)
    return f"{prefix}:********{account[-4:]}:{api_id}/{stack_outputs.stage_name}/PUT/{stack_outputs.bucket_name}/{key}"


# --- every variant --------------------------------------------------------------------------

def test_authorization_authorised_caller_uploads_byte_identical(upload_client, s3_readback, object_key):
    body = os.urandom(4096) + bytes(range(256))
    response = upload_client.put(object_key, body, content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    stored = s3_readback.get(object_key)
    assert (stored.size, stored.sha256) == (len(body), sha256(body))


# --- API_KEY --------------------------------------------------------------------------------

def test_authorization_missing_api_key_is_forbidden(stack_outputs, upload_client, s3_readback, unique_key):
    requires("API_KEY")(stack_outputs)
    anonymous = upload_client.fresh(CallerAuth())
    response = anonymous.put(unique_key, b"no key", content_type="text/plain")
    _refused_and_not_stored(response, s3_readback, unique_key, 403, {"message": "Forbidden"})


def test_authorization_wrong_api_key_is_forbidden(stack_outputs, upload_client, s3_readback, unique_key):
    requires("API_KEY")(stack_outputs)
    wrong = upload_client.fresh(CallerAuth("API_KEY", api_key=uuid.uuid4().hex + uuid.uuid4().hex[:8]))
    response = wrong.put(unique_key, b"wrong key", content_type="text/plain")
    _refused_and_not_stored(response, s3_readback, unique_key, 403, {"message": "Forbidden"})


# --- AWS_IAM --------------------------------------------------------------------------------

@pytest.fixture
def iam_user(deployed_stack, harness_run, request):
    """Make IAM users (tagged with the run, see harness/client/scratch.py) with access keys and an
    inline policy; all removed afterwards, by the run's teardown if not here."""
    iam = deployed_stack.client("iam")
    made = []

    def make(actions, resource):
        name = harness_run.create_scratch_user(deployed_stack, request.node.name)
        made.append(name)
        iam.put_user_policy(UserName=name, PolicyName="caller", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        user_arn = iam.get_user(UserName=name)["User"]["Arn"]
        return user_arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    yield make
    for name in made:
        harness_run.remove_scratch(deployed_stack, "user", name)


def _put_as(upload_client, auth, key, body):
    """PUT as another caller, retrying (bounded) only while AWS does not know a new key yet."""
    client = upload_client.fresh(auth)
    for _ in range(KEY_PROPAGATION_ATTEMPTS):
        response = client.put(key, body, content_type="text/plain")
        if "security token included in the request is invalid" not in response.text:
            return response
        time.sleep(KEY_PROPAGATION_SLEEP)
    return response


def test_authorization_unsigned_request_is_refused(stack_outputs, upload_client, s3_readback, unique_key):
    requires("AWS_IAM")(stack_outputs)
    anonymous = upload_client.fresh(CallerAuth())
    response = anonymous.put(unique_key, b"unsigned", content_type="text/plain")
    _refused_and_not_stored(response, s3_readback, unique_key, 403, {"message": "Missing Authentication Token"})


def test_authorization_wrong_signature_is_refused(stack_outputs, upload_client, s3_readback, unique_key, iam_user):
    requires("AWS_IAM")(stack_outputs)
    _, credentials = iam_user("execute-api:Invoke", f"{stack_outputs.values['execution_arn']}/*")
    wrong_secret = Credentials(credentials.access_key, credentials.secret_key[::-1] + "x")
    response = _put_as(upload_client, CallerAuth("AWS_IAM", credentials=wrong_secret, region=stack_outputs.region),
                       unique_key, b"badly signed")
    assert response.status_code == 403, response.text
    assert response.json()["message"].startswith(SIGNATURE_MISMATCH_START), response.text
    assert not s3_readback.exists(unique_key)


def test_authorization_caller_without_invoke_is_refused(stack_outputs, upload_client, s3_readback, unique_key,
                                                        iam_user):
    requires("AWS_IAM")(stack_outputs)
    user_arn, credentials = iam_user("s3:ListAllMyBuckets", "*")
    response = _put_as(upload_client, CallerAuth("AWS_IAM", credentials=credentials, region=stack_outputs.region),
                       unique_key, b"not allowed")
    expected = (f"User: {user_arn} is not authorized to perform: execute-api:Invoke on resource: "
                f"{_masked_arn(stack_outputs, unique_key)}")
    _refused_and_not_stored(response, s3_readback, unique_key, 403, {"Message": expected})


def test_authorization_caller_with_invoke_uploads(stack_outputs, upload_client, s3_readback, unique_key, iam_user):
    """Not only the harness's own (administrator) identity: a user allowed exactly execute-api:Invoke."""
    requires("AWS_IAM")(stack_outputs)
    _, credentials = iam_user("execute-api:Invoke", f"{stack_outputs.values['execution_arn']}/*/PUT/*")
    response = _put_as(upload_client, CallerAuth("AWS_IAM", credentials=credentials, region=stack_outputs.region),
                       unique_key, b"allowed")
    assert response.status_code == 200, response.text
    assert s3_readback.get(unique_key).sha256 == sha256(b"allowed")


# --- throttling and quota -------------------------------------------------------------------

def _stage_limits(deployed_stack, stack_outputs):
    stage = deployed_stack.client("apigateway").get_stage(restApiId=stack_outputs.rest_api_id,
                                                          stageName=stack_outputs.stage_name)
    return stage.get("methodSettings", {}).get("*/*", {})


def test_authorization_burst_above_the_throttle_gets_429s(deployed_stack, stack_outputs, upload_client,
                                                          s3_readback, object_key):
    limits = _stage_limits(deployed_stack, stack_outputs)
    burst = int(limits.get("throttlingBurstLimit", 5000))
    if burst > MAX_BURST_CHECKED:
        pytest.skip(f"the stage's burst is {burst}; apply with --stack-var throttle_burst_limit=4 "
                    "--stack-var throttle_rate_limit=2 to check throttling in a bounded loop")
    sent = 2 * burst + 6
    answers = []
    deadline = time.monotonic() + 30
    for index in range(sent):
        if time.monotonic() > deadline:
            break
        key = f"{object_key}/{index:03d}"
        response = upload_client.put(key, b"burst", content_type="text/plain")
        answers.append((key, response.status_code, response.text))
    throttled = [(key, text) for key, status, text in answers if status == 429]
    passed = [key for key, status, _ in answers if status == 200]
    assert {status for _, status, _ in answers} <= {200, 429}, answers[:3]
    assert throttled, f"no 429 in {len(answers)} requests against a burst of {burst}"
    assert passed, "every request was throttled"
    assert all(json.loads(text) == {"message": "Too Many Requests"} for _, text in throttled), throttled[:2]
    assert sorted(s3_readback.keys(prefix=object_key)) == sorted(passed), "stored exactly the accepted requests"


def test_authorization_usage_plan_quota_gets_limit_exceeded(deployed_stack, stack_outputs, upload_client,
                                                            s3_readback, object_key):
    requires("API_KEY")(stack_outputs)
    plans = deployed_stack.client("apigateway").get_usage_plans()["items"]
    quota = next((p.get("quota") for p in plans if any(
        s.get("apiId") == stack_outputs.rest_api_id for s in p.get("apiStages", []))), None)
    if not quota or int(quota["limit"]) > MAX_BURST_CHECKED:
        pytest.skip(f"the usage plan's quota is {quota}; apply with --stack-var "
                    "'usage_plan_quota={\"limit\":12,\"period\":\"DAY\"}' to check it in a bounded loop")
    rate = float(_stage_limits(deployed_stack, stack_outputs).get("throttlingRateLimit", 10000.0))
    answers = []
    for index in range(int(quota["limit"]) + 5):
        key = f"{object_key}/{index:03d}"
        response = upload_client.put(key, b"quota", content_type="text/plain")
        answers.append((key, response.status_code, response.text))
        if response.status_code == 429 and json.loads(response.text) == {"message": "Limit Exceeded"}:
            break
        time.sleep(min(1.0, 1.1 / rate))  # stay under the throttle: this check is about the quota
    key, status, text = answers[-1]
    assert (status, json.loads(text)) == (429, {"message": "Limit Exceeded"}), answers[-3:]
    assert not s3_readback.exists(key)
    # Under the throttle here too: which answer wins when both limits are exceeded is not this check's subject.
    time.sleep(min(1.0, 1.1 / rate))
    after = upload_client.put(f"{object_key}/after", b"quota", content_type="text/plain")
    assert after.status_code == 429 and after.json() == {"message": "Limit Exceeded"}, after.text


# --- resource policy: source ranges -----------------------------------------------------------


def _source_ranges(deployed_stack, stack_outputs):
    """The aws:SourceIp ranges the API's resource policy allows, or None without one."""
    policy = deployed_stack.client("apigateway").get_rest_api(restApiId=stack_outputs.rest_api_id).get("policy")
    if not policy:
        return None
    document = json.loads(policy.replace('\\"', '"').replace("\\/", "/"))
    for statement in document.get("Statement", []):
        ranges = statement.get("Condition", {}).get("NotIpAddress", {}).get("aws:SourceIp")
        if statement.get("Effect") == "Deny" and ranges:
            return [ranges] if isinstance(ranges, str) else ranges
    return None


def test_authorization_resource_policy_refuses_callers_outside_the_ranges(
        deployed_stack, stack_outputs, upload_client, s3_readback, unique_key):
    """Apply with --stack-var 'allowed_source_cidrs=["127.0.0.2/32"]' (and --no-readiness-gate: the
    gate probes from 127.0.0.1, which the policy refuses). A Deny with NotIpAddress on
    aws:SourceIp refuses every other caller with 403 and AWS's explicit-deny message
    ("Controlling access to an API with API Gateway resource policies"); a caller from the
    allowed range uploads."""
    from harness.client.upload_client import raw_put, send_raw

    ranges = _source_ranges(deployed_stack, stack_outputs)
    if ranges != ["127.0.0.2/32"]:
        pytest.skip(f"the API's resource policy allows {ranges}; apply with allowed_source_cidrs=[\"127.0.0.2/32\"]")
    refused = upload_client.put(unique_key, b"outside", content_type="text/plain")
    assert refused.status_code == 403, refused.text
    assert "with an explicit deny" in refused.text
    assert not s3_readback.exists(unique_key)

    allowed_key = f"{unique_key}-allowed"
    url = upload_client.url(allowed_key)
    request = raw_put(url, ["Content-Type: text/plain", "Content-Length: 6",
                            *upload_client.auth.header_lines("PUT", url, b"inside")] if upload_client.auth
                      else ["Content-Type: text/plain", "Content-Length: 6"], b"inside")
    responses = send_raw(url, request, source_address="127.0.0.2")
    assert [r.status for r in responses] == [200], responses
    assert s3_readback.get(allowed_key).sha256 == sha256(b"inside")
