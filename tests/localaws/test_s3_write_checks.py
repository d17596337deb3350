"""What the local AWS's S3 checks on a PutObject, and what its gateway lets reach the mapping.

Against the real local AWS server over HTTP. Expected answers are S3's as recorded against
AWS (harness/localaws/s3_integrity.py names each snapshot), the condition key of "Enforce
conditional writes on Amazon S3 buckets", and the REGIONAL API recorded dropping a client's
Content-MD5 (harness/localaws/dataplane.py, DROPPED_REQUEST_HEADERS).
"""

import base64
import hashlib
import json

import pytest
import requests
from botocore.exceptions import ClientError

BODY = b"the bytes S3 receives"
SHA256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
MD5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()


@pytest.fixture
def bucket(aws):
    aws("s3").create_bucket(Bucket="write-checks")
    return "write-checks"


def _put(local_aws, bucket, key, headers):
    return requests.put(f"{local_aws.endpoint}/{bucket}/{key}", data=BODY, headers=headers, timeout=30)


@pytest.mark.parametrize(("headers", "code", "message"), [
    ({"Content-MD5": "__invalid__"}, "InvalidDigest", "The Content-MD5 you specified was invalid."),
    ({"Content-MD5": base64.b64encode(b"123").decode()}, "InvalidDigest", "The Content-MD5 you specified was invalid."),
    ({"Content-MD5": base64.b64encode(bytes(16)).decode()}, "BadDigest",
     "The Content-MD5 you specified did not match what we received."),
    ({"x-amz-checksum-sha256": "not base64 encoded checksum"}, "InvalidRequest",
     "Value for x-amz-checksum-sha256 header is invalid."),
    ({"x-amz-checksum-sha256": base64.b64encode(bytes(32)).decode()}, "BadDigest",
     "The SHA256 you specified did not match the calculated checksum."),
])
def test_a_digest_that_does_not_match_is_refused_and_nothing_stored(aws, local_aws, bucket, headers, code, message):
    response = _put(local_aws, bucket, "k", headers)
    assert response.status_code == 400, response.text
    assert f"<Code>{code}</Code>" in response.text and f"<Message>{message}</Message>" in response.text
    assert aws("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_matching_digests_store_the_body_and_the_sha256(aws, local_aws, bucket):
    response = _put(local_aws, bucket, "k", {"Content-MD5": MD5, "x-amz-checksum-sha256": SHA256})
    assert response.status_code == 200, response.text
    s3 = aws("s3")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY
    assert s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"] == SHA256


def test_if_none_match_other_than_a_star_is_not_implemented(aws, bucket):
    s3 = aws("s3")
    etag = s3.put_object(Bucket=bucket, Key="k", Body=BODY)["ETag"]
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="k", Body=b"other", IfNoneMatch=etag)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY


def test_a_bucket_policy_can_require_if_none_match(aws, bucket):
    s3 = aws("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"Null": {"s3:if-none-match": "true"}}}]}))
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="plain", Body=BODY)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.put_object(Bucket=bucket, Key="conditional", Body=BODY, IfNoneMatch="*")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["conditional"]
    with pytest.raises(ClientError) as existing:
        s3.put_object(Bucket=bucket, Key="conditional", Body=b"again", IfNoneMatch="*")
    assert existing.value.response["Error"]["Code"] == "PreconditionFailed"


def test_a_clients_content_md5_never_reaches_a_mapping(aws, build_api):
    """Mapped from method.request.header.Content-MD5, a wrong digest reaches nobody (stored);
    mapped from another header, the same digest reaches S3 and is refused."""
    api = build_api(selection_patterns=(("400", "4\\d{2}"), ("500", "5\\d{2}")))
    apigw = aws("apigateway")
    wrong = base64.b64encode(bytes(16)).decode()
    outcomes = {}
    for source in ("Content-MD5", "X-Content-MD5"):
        apigw.update_integration(restApiId=api.api_id, resourceId=api.resource_id, httpMethod="PUT", patchOperations=[
            {"op": "add", "path": "/requestParameters/integration.request.header.Content-MD5",
             "value": f"method.request.header.{source}"}])
        apigw.create_deployment(restApiId=api.api_id, stageName="dev")
        response = requests.put(f"{api.url}/{api.bucket}/{source}", data=BODY, timeout=30,
                                headers={source: wrong, "Content-Type": "text/plain"})
        outcomes[source] = response.status_code
    assert outcomes == {"Content-MD5": 200, "X-Content-MD5": 400}
    assert [o["Key"] for o in aws("s3").list_objects_v2(Bucket=api.bucket)["Contents"]] == ["Content-MD5"]
