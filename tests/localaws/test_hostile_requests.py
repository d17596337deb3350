"""Request framing and S3 edge cases the local AWS must answer as AWS does."""

import json
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from harness.client.upload_client import parse_responses, raw_put
from harness.localaws import LocalAws
from harness.localaws.controlplane.iam import wildcard_match
from harness.localaws.routing import resolve_dot_segments


@pytest.mark.parametrize(("raw", "resolved"), [
    ("/b/k", "/b/k"), ("/b/x/../k", "/b/k"), ("/b/./k", "/b/k"), ("/../../b/k", "/b/k"),
    ("/b/k/..", "/b/"), ("/b/%2E%2E/k", "/b/%2E%2E/k"), ("/b/..%2Fk", "/b/..%2Fk"),
])
def test_dot_segments_resolve_like_rfc_3986(raw, resolved):
    assert resolve_dot_segments(raw) == resolved


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a\nb", True),
    ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k", False),
    ("s3:Put?bject", "s3:PutObject", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::other/k", False),
])
def test_iam_wildcards(pattern, value, matches):
    assert wildcard_match(pattern, value) is matches


def test_key_over_1024_bytes_is_key_too_long(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="keys-bucket")
    s3.put_object(Bucket="keys-bucket", Key="k" * 1024, Body=b"ok")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket="keys-bucket", Key="k" * 1025, Body=b"no")
    assert info.value.response["Error"]["Code"] == "KeyTooLongError"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_keys_with_line_feeds_are_stored(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="lf-bucket")
    s3.put_object(Bucket="lf-bucket", Key="a\nb\n", Body=b"lf")
    assert s3.get_object(Bucket="lf-bucket", Key="a\nb\n")["Body"].read() == b"lf"


def test_concurrent_conditional_puts_let_exactly_one_win(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="lock-bucket")
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def try_lock(index: int) -> None:
        start.wait()
        try:
            s3.put_object(Bucket="lock-bucket", Key="state.tflock", Body=json.dumps({"ID": index}).encode(),
                          IfNoneMatch="*")
            outcomes.append("won")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=try_lock, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["PreconditionFailed"] * 7 + ["won"]


def test_tagging_api_lists_tagged_rest_apis_and_buckets(aws):
    api = aws("apigateway").create_rest_api(name="tagged", tags={"harness:run-id": "abc"})
    aws("apigateway").create_rest_api(name="untagged")
    aws("s3").create_bucket(Bucket="tagged-bucket")
    aws("s3").put_bucket_tagging(Bucket="tagged-bucket", Tagging={"TagSet": [{"Key": "harness:run-id",
                                                                                 "Value": "abc"}]})
    found = aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "harness:run-id", "Values": ["abc"]}])["ResourceTagMappingList"]
    arns = sorted(item["ResourceARN"] for item in found)
    assert arns == sorted([f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}", "arn:aws:s3:::tagged-bucket"])


def test_a_body_that_goes_quiet_is_timed_out_and_stores_nothing(build_api, aws, local_aws):
    # A second server on the same (process-wide) backends, with a short idle timeout.
    with LocalAws(idle_timeout=1.0) as quiet_server:
        api = build_api()
        url = api.url.replace(local_aws.endpoint, quiet_server.endpoint) + f"/{api.bucket}/quiet"
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", quiet_server.port), timeout=20) as sock:
            sock.sendall(raw_put(url, ["Content-Type: text/plain", "Content-Length: 1000"], b"x" * 10))
            received = b""
            while chunk := sock.recv(65536):  # the server answers, then closes
                received += chunk
        assert time.monotonic() - started < 15
    assert [r.status for r in parse_responses(received)] == [408]
    with pytest.raises(ClientError):
        aws("s3").head_object(Bucket=api.bucket, Key="quiet")
