"""The local AWS on a bad day: injected S3, control-plane and data-plane faults, and the aws-like profile.

Each test starts its own local AWS with a fault spec or profile (the `local_aws` fixture is
overridden here) and drives it over real HTTP, as the harness and Terraform's provider do.
The expected shapes come from AWS: S3's error XML ("Error responses"), API Gateway's
429/409 JSON errors, IAM/STS `Throttling` (harness/localaws/faults.py cites each), the
500 and 403 API Gateway answers while a role or stage propagates (reference, "Real AWS is
not a perfect world").
"""

import signal
import time

import pytest
import requests
from botocore.exceptions import ClientError

from harness.localaws import LocalAws
from harness.localaws import faults as faults_module
from harness.plumbing.waiting import wait_until


@pytest.fixture
def fault_spec():
    return ("default", "")


@pytest.fixture
def local_aws(fault_spec):
    profile, spec = fault_spec
    with LocalAws(faults=faults_module.from_specs(profile, spec)) as server:
        yield server


def report(local_aws):
    return requests.get(f"{local_aws.endpoint}/_harness/faults", timeout=5).json()


def test_without_faults_nothing_is_injected_and_the_counters_say_so(build_api, aws, local_aws):
    api = build_api()
    assert all(requests.put(f"{api.url}/{api.bucket}/k{i}", data=b"x", timeout=10).status_code == 200
               for i in range(5))
    stored = aws("s3").list_objects_v2(Bucket=api.bucket)["Contents"]
    assert sorted(o["Key"] for o in stored) == [f"k{i}" for i in range(5)]  # every upload reached S3
    assert report(local_aws) == {"profile": "default", "spec": "", "seed": 0, "injected": {}, "total": 0,
                                 "events": []}


@pytest.mark.parametrize("fault_spec", [("default", "s3.put:slowdown@rate=0.5;seed=7")])
def test_every_injected_slowdown_reaches_the_client_as_5xx_and_stores_nothing(build_api, aws, local_aws):
    api = build_api()
    s3 = aws("s3")
    statuses = {}
    for i in range(16):
        response = requests.put(f"{api.url}/{api.bucket}/k{i}", data=b"payload", timeout=10)
        statuses[f"k{i}"] = response.status_code
        if response.status_code != 200:
            # The module's `5\d{2}` integration response passes S3's own error body through.
            assert response.status_code == 500 and b"<Code>SlowDown</Code>" in response.content
    counters = report(local_aws)
    failed_paths = {e["path"] for e in counters["events"]}
    assert counters["injected"]["s3.put:slowdown"] == sum(1 for s in statuses.values() if s != 200) > 0
    assert failed_paths == {f"/{api.bucket}/{k}" for k, s in statuses.items() if s != 200}
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=api.bucket).get("Contents", [])}
    assert stored == {k for k, s in statuses.items() if s == 200}


@pytest.mark.parametrize("fault_spec", [("default", "s3.put:internal@count=3")])
def test_internal_errors_hit_the_first_n_puts_then_uploads_succeed(build_api, aws, local_aws):
    api = build_api()
    answers = [requests.put(f"{api.url}/{api.bucket}/k{i}", data=b"x", timeout=10) for i in range(5)]
    assert [a.status_code for a in answers] == [500, 500, 500, 200, 200]
    assert all(b"<Code>InternalError</Code>" in a.content for a in answers[:3])
    assert not aws("s3").list_objects_v2(Bucket=api.bucket).get("Contents", [])[:0]
    assert {o["Key"] for o in aws("s3").list_objects_v2(Bucket=api.bucket)["Contents"]} == {"k3", "k4"}


@pytest.mark.parametrize("fault_spec", [("default", "s3.put:slowdown@count=1")])
def test_without_a_5xx_integration_response_an_s3_error_reaches_the_client_as_200(build_api, local_aws):
    # Recorded on AWS (reference, "S3 server errors"): with only a default 200 response an S3
    # error passes as 200 with S3's XML body. This is why the module declares error responses.
    api = build_api(selection_patterns=())
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    assert response.status_code == 200 and b"<Code>SlowDown</Code>" in response.content


@pytest.mark.parametrize("fault_spec", [("default", "s3.put:latency=400ms")])
def test_latency_delays_each_put_and_changes_nothing_else(build_api, local_aws):
    api = build_api()
    started = time.monotonic()
    response = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    assert response.status_code == 200 and time.monotonic() - started >= 0.4
    assert report(local_aws)["injected"] == {"s3.put:latency": 1}


def signed_as(service):
    """An Authorization header whose SigV4 scope names `service` (the local AWS accepts any keys)."""
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


@pytest.mark.parametrize("fault_spec", [("default", "apigw:throttle@count=1,apigw:conflict@count=1")])
def test_api_gateway_control_plane_throttles_and_refuses_concurrent_writes(aws, local_aws):
    # Raw HTTP: botocore retries both errors for API Gateway by itself (its service retry policy).
    throttled = requests.get(f"{local_aws.endpoint}/restapis", headers=signed_as("apigateway"), timeout=5)
    assert throttled.status_code == 429
    assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert throttled.json() == {"message": "Too Many Requests"}
    assert requests.get(f"{local_aws.endpoint}/restapis", headers=signed_as("apigateway"),
                        timeout=5).status_code == 200  # reads never get ConflictException
    conflict = requests.post(f"{local_aws.endpoint}/restapis", json={"name": "x"}, headers=signed_as("apigateway"),
                             timeout=5)
    assert conflict.status_code == 409 and conflict.headers["x-amzn-ErrorType"] == "ConflictException"
    assert "concurrent modification" in conflict.json()["message"]
    assert aws("apigateway").create_rest_api(name="x")["id"]  # count=1: the next write goes through
    assert report(local_aws)["injected"] == {"apigw:throttle": 1, "apigw:conflict": 1}


@pytest.mark.slow  # waits out real back-offs or propagation delays: seconds; `make test`, not `make check`
@pytest.mark.parametrize("fault_spec", [("default", "apigw:throttle@count=2,apigw:conflict@count=1")])
def test_an_sdk_retries_throttling_but_leaves_conflicts_to_its_caller(aws, local_aws):
    # Throttling is retried by every AWS SDK; a concurrent modification is not (the AWS
    # provider and the harness's RETRYABLE_ERRORS decide that for themselves).
    assert "items" in aws("apigateway").get_rest_apis()
    with pytest.raises(ClientError, match="ConflictException"):
        aws("apigateway").create_rest_api(name="x")
    assert report(local_aws)["injected"] == {"apigw:throttle": 2, "apigw:conflict": 1}


@pytest.mark.parametrize("fault_spec", [("default", "iam:throttle@count=1,sts:throttle@count=1")])
def test_iam_and_sts_throttle_as_query_apis_do(local_aws):
    for service, form in (("iam", "Action=ListRoles&Version=2010-05-08"),
                          ("sts", "Action=GetCallerIdentity&Version=2011-06-15")):
        headers = {**signed_as(service), "Content-Type": "application/x-www-form-urlencoded"}
        throttled = requests.post(local_aws.endpoint + "/", data=form, headers=headers, timeout=5)
        assert throttled.status_code == 400
        assert "<Code>Throttling</Code>" in throttled.text and "<Message>Rate exceeded</Message>" in throttled.text
        assert requests.post(local_aws.endpoint + "/", data=form, headers=headers,
                             timeout=5).status_code == 200  # count=1: the next call goes through


@pytest.mark.slow  # waits out real back-offs or propagation delays: seconds; `make test`, not `make check`
@pytest.mark.parametrize("fault_spec", [("default", "iam:throttle@count=2")])
def test_an_sdk_with_its_default_retries_gets_through_throttling(aws, local_aws):
    assert "Roles" in aws("iam").list_roles()  # botocore retries `Throttling` by itself
    assert report(local_aws)["injected"] == {"iam:throttle": 2}


@pytest.mark.parametrize("fault_spec", [("default", "data:reset@count=1")])
def test_a_reset_connection_is_never_an_answer(build_api, aws, local_aws):
    api = build_api()
    with pytest.raises(requests.ConnectionError):
        requests.put(f"{api.url}/{api.bucket}/first", data=b"x", timeout=10)
    assert requests.put(f"{api.url}/{api.bucket}/second", data=b"x", timeout=10).status_code == 200
    assert report(local_aws)["events"][0]["path"] == f"/{api.bucket}/first"
    # The reset came after the integration ran: the upload itself may have happened (as when
    # a connection drops on AWS after S3 answered); the client only knows it got no answer.
    assert {o["Key"] for o in aws("s3").list_objects_v2(Bucket=api.bucket)["Contents"]} == {"first", "second"}


@pytest.mark.slow  # waits out real back-offs or propagation delays: seconds; `make test`, not `make check`
@pytest.mark.parametrize("fault_spec", [("aws-like:role=2s,stage=0s,flap=0", "")])
def test_a_new_role_is_not_assumable_until_it_propagates(build_api, local_aws, capfd):
    api = build_api()
    first = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    assert first.status_code == 500 and first.json() == {"message": "Internal server error"}
    err = capfd.readouterr().err
    assert ("Execution failed due to configuration error: API Gateway does not have permission to assume "
            "the provided role arn:aws:iam::") in err
    # Until the role propagates (2 s after it was made), every call fails the same way; then one succeeds.
    statuses = [first.status_code]

    def served() -> bool:
        statuses.append(requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10).status_code)
        return statuses[-1] == 200

    wait_until(served, 30, what="the role to propagate", interval=0.25)
    assert set(statuses[:-1]) == {500}


@pytest.mark.slow  # waits out real back-offs or propagation delays: seconds; `make test`, not `make check`
@pytest.mark.parametrize("fault_spec", [("aws-like:role=0s,stage=2s,flap=1", "")])
def test_a_new_stage_answers_403_then_serves_then_flaps_once(build_api, local_aws):
    api = build_api()
    first = requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10)
    assert first.status_code == 403 and first.json() == {"message": "Missing Authentication Token"}
    statuses = [first.status_code]

    def served() -> bool:
        statuses.append(requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10).status_code)
        return statuses[-1] == 200

    wait_until(served, 30, what="the stage to go live", interval=0.1)  # 2 s after the deployment
    assert set(statuses[:-1]) == {403}
    after = [requests.put(f"{api.url}/{api.bucket}/k", data=b"x", timeout=10).status_code for _ in range(3)]
    assert after == [403, 200, 200]  # the flap: 403 once more, then it serves


@pytest.mark.parametrize("fault_spec", [("default", "s3.put:slowdown@count=4")])
def test_the_soak_judge_counts_a_200_for_a_faulted_request_as_a_false_pass(build_api, aws, local_aws):
    from harness.client.readback import S3ReadBack
    from harness.jobs.soak import judge_uploads

    bodies = {"a": b"1", "b": b"2", "c": b"3"}

    def upload_all(api):
        outcomes = [(key, requests.put(f"{api.url}/{api.bucket}/{key}", data=body, timeout=10).status_code)
                    for key, body in bodies.items()]
        return judge_uploads(outcomes, api.bucket, report(local_aws)["events"],
                             S3ReadBack(aws("s3"), api.bucket), bodies)

    # A module without error responses lets S3's SlowDown through as 200: the judge must see it.
    lying = upload_all(build_api(selection_patterns=()))
    assert len(lying["false_passes"]) == 3 and lying["errors"] == [], lying
    # The same faults against the module's error responses are failures the client saw.
    honest = upload_all(build_api())
    assert (honest["false_passes"], honest["expected_failures"], honest["errors"]) == ([], 1, [])


@pytest.mark.slow  # starts the CLI several times: seconds; `make test`, not `make check`
def test_harness_localaws_takes_the_profile_and_faults_from_flags_or_the_environment(harness_cli):
    spec = "apigw:conflict@count=2;seed=1"
    for args, env in ((["--profile", "aws-like", "--role-delay", "8s", "--faults", spec], {}),
                      ([], {"HARNESS_LOCALAWS_PROFILE": "aws-like:role=8s",
                            "HARNESS_LOCALAWS_FAULTS": "apigw:conflict@count=2;seed=1"})):
        server = harness_cli.start_harness("localaws", "--port", "0", *args, env=env)
        try:
            endpoint = server.wait_for_output("ready ", timeout=60).split()[1]
            counters = requests.get(f"{endpoint}/_harness/faults", timeout=5).json()
            assert counters["profile"] == "aws-like:role=8s,stage=3s,flap=1"
            assert (counters["spec"], counters["seed"], counters["injected"]) == (
                "apigw:conflict@count=2;seed=1", 1, {"apigw:conflict": 0})
        finally:
            server.signal_group(signal.SIGTERM)
            server.finish(timeout=15)


def test_a_bad_fault_spec_is_one_clear_error_and_no_server(harness_cli):
    result = harness_cli.harness("localaws", "--port", "0", "--faults", "s3.put:slowdown@rate=3", timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "rate must be a number in (0, 1]" in result.stderr
