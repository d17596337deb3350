"""Hostile uploads through the deployed API: each gets AWS's answer, nothing lands outside the bucket.

Sent with raw sockets where `requests` would refuse or fix the request (folded headers,
lying Content-Length, raw `..` segments, bodies that stop mid-stream).
"""

import uuid

import pytest

from harness.checks import sha256
from harness.upload_client import encode_key, raw_put, send_raw

CONTROL_CHARACTERS = {"soh": "\x01", "tab": "\t", "newline": "\n", "unit-separator": "\x1f", "del": "\x7f"}


@pytest.fixture
def other_bucket(deployed_stack):
    """A second bucket the role has no rights to, removed afterwards."""
    s3 = deployed_stack.client("s3")
    name = f"hostile-other-{uuid.uuid4().hex[:12]}"
    kwargs = {} if deployed_stack.outputs.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": deployed_stack.outputs.region}}
    s3.create_bucket(Bucket=name, **kwargs)
    yield name
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


def _url(upload_client, raw_path: str) -> str:
    return f"{upload_client.invoke_url}{raw_path}"


@pytest.mark.parametrize("name", sorted(CONTROL_CHARACTERS))
def test_hostile_control_characters_in_keys_land_verbatim(name, upload_client, s3_readback, object_key):
    key = f"{object_key}/ctl{CONTROL_CHARACTERS[name]}x"
    try:
        response = upload_client.put(key, b"control", content_type="text/plain")
        assert response.status_code == 200, response.text
        assert s3_readback.get(key).sha256 == sha256(b"control")
    finally:
        # XML 1.0 cannot carry most control characters, so a bucket holding such a key
        # cannot be emptied by list-and-batch-delete (Terraform's force_destroy). Single
        # DeleteObject calls name the key in the URL instead.
        s3_readback.s3.delete_object(Bucket=s3_readback.bucket, Key=key)


def test_hostile_raw_dot_segments_resolve_inside_the_bucket(upload_client, s3_readback, object_key):
    raw_path = f"/{upload_client.bucket}/junk/../{encode_key(object_key)}"
    responses = send_raw(_url(upload_client, raw_path), raw_put(
        _url(upload_client, raw_path), ["Content-Type: text/plain", "Content-Length: 3"], b"dot"))
    assert [r.status for r in responses] == [200]
    assert s3_readback.get(object_key).sha256 == sha256(b"dot")


def test_hostile_raw_dot_segments_cannot_reach_another_bucket(upload_client, s3_readback, other_bucket, object_key):
    raw_path = f"/{upload_client.bucket}/../{other_bucket}/{encode_key(object_key)}"
    responses = send_raw(_url(upload_client, raw_path), raw_put(
        _url(upload_client, raw_path), ["Content-Type: text/plain", "Content-Length: 4"], b"evil"))
    assert [r.status for r in responses] == [403], responses
    assert s3_readback.keys(bucket=other_bucket) == []


@pytest.mark.parametrize("bucket_segment", ["{bucket}%2F..%2F{other}", "{other}%2F", "..%2F{other}"])
def test_hostile_encoded_slashes_in_the_bucket_segment_go_nowhere(
        bucket_segment, upload_client, s3_readback, other_bucket, object_key):
    segment = bucket_segment.format(bucket=upload_client.bucket, other=other_bucket)
    url = f"{upload_client.invoke_url}/{segment}/{encode_key(object_key)}"
    response = upload_client.session.put(url, data=b"evil", headers={"Content-Type": "text/plain"},
                                         timeout=upload_client.timeout)
    assert 400 <= response.status_code < 500, response.text
    assert s3_readback.keys(bucket=other_bucket) == []
    assert not s3_readback.exists(object_key)


def _key_of_bytes(prefix: str, total: int) -> str:
    padding = total - len(prefix.encode()) - 1
    return f"{prefix}/{'é' * (padding // 2)}{'k' * (padding % 2)}"


def test_hostile_key_of_1024_bytes_is_accepted(upload_client, s3_readback, object_key):
    key = _key_of_bytes(object_key, 1024)
    assert len(key.encode()) == 1024
    response = upload_client.put(key, b"long", content_type="text/plain")
    assert response.status_code == 200, response.text
    assert s3_readback.get(key).size == 4


def test_hostile_key_of_1025_bytes_gets_s3s_key_too_long(upload_client, s3_readback, object_key):
    key = _key_of_bytes(object_key, 1025)
    assert len(key.encode()) == 1025
    response = upload_client.put(key, b"long", content_type="text/plain")
    assert response.status_code == 400, response.text
    assert "KeyTooLongError" in response.text
    assert s3_readback.keys(prefix=object_key) == []


def test_hostile_injected_header_lines_never_reach_s3(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    # What a naive client sends for Content-Type "text/plain\r\nx-amz-meta-injected: yes...":
    # separate header lines, which the integration does not map.
    injected = ["Content-Type: text/plain", "x-amz-meta-injected: yes", "x-amz-website-redirect-location: /evil",
                "x-amz-storage-class: GLACIER", "Content-Length: 8"]
    responses = send_raw(url, raw_put(url, injected, b"injected"))
    assert [r.status for r in responses] == [200]
    head = s3_readback.s3.head_object(Bucket=s3_readback.bucket, Key=object_key)
    assert head["ContentType"] == "text/plain"
    assert head.get("Metadata", {}) == {}
    assert "WebsiteRedirectLocation" not in head
    assert head.get("StorageClass", "STANDARD") == "STANDARD"


def test_hostile_folded_content_type_is_refused(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    folded = ["Content-Type: text/plain", " x-amz-acl: public-read-write", "Content-Length: 6"]
    responses = send_raw(url, raw_put(url, folded, b"folded"))
    assert [r.status for r in responses] == [400]
    assert not s3_readback.exists(object_key)


def test_hostile_body_stopping_mid_stream_stores_nothing(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    responses = send_raw(url, raw_put(url, ["Content-Type: application/octet-stream", "Content-Length: 100000"],
                                      b"x" * 1000))
    assert all(r.status != 200 for r in responses), responses
    assert [r.status for r in responses] in ([], [400])
    assert not s3_readback.exists(object_key)


def test_hostile_short_content_length_stores_only_the_declared_bytes(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    responses = send_raw(url, raw_put(url, ["Content-Type: text/plain", "Content-Length: 10"],
                                      b"0123456789" + b"GARBAGE-NOT-A-REQUEST\r\n\r\n"))
    # The declared bytes are the body; the rest is not HTTP: answered 400 or dropped with the connection.
    assert responses and responses[0].status == 200, responses
    assert all(r.status == 400 for r in responses[1:]), responses
    assert s3_readback.get(object_key).sha256 == sha256(b"0123456789")
    assert s3_readback.keys(prefix=object_key) == [object_key]


@pytest.mark.parametrize("framing", [
    ["Content-Length: -5"],
    ["Content-Length: ten"],
    ["Content-Length: 5", "Content-Length: 9"],
    ["Content-Length: 5", "Transfer-Encoding: chunked"],
], ids=["negative", "not-a-number", "two-lengths", "length-and-chunked"])
def test_hostile_lying_framing_is_refused(framing, upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    responses = send_raw(url, raw_put(url, ["Content-Type: text/plain", *framing], b"5\r\nhello\r\n0\r\n\r\n"))
    assert [r.status for r in responses] == [400], responses
    assert not s3_readback.exists(object_key)
