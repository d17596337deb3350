"""Hostile uploads through the deployed API: nothing lands outside the bucket, nothing is half-stored.

Sent with raw sockets where `requests` would refuse or fix the request (folded headers,
lying Content-Length, raw `..` segments, bodies that stop mid-stream). What AWS answers to
raw `..` segments, folded headers and Content-Length with chunked is not recorded
(docs/aws-behaviour.md, "Mapping framing headers"): for those the checks
assert what must hold whatever AWS answers, and record the answer as an assumption.
"""

import pytest

from harness.client import scratch
from harness.client.readback import sha256
from harness.client.upload_client import encode_key, raw_put, send_raw

CONTROL_CHARACTERS = {"soh": "\x01", "tab": "\t", "newline": "\n", "unit-separator": "\x1f", "del": "\x7f"}


@pytest.fixture
def other_bucket(scratch_bucket):
    """A second bucket the role has no rights to (tagged with the run, always removed)."""
    return scratch_bucket()


def _url(upload_client, raw_path: str) -> str:
    return f"{upload_client.invoke_url}{raw_path}"


def _auth(upload_client, url: str, body: bytes) -> list[str]:
    """The caller check's header lines (API key or SigV4 over `body`, the payload the gateway
    will read), so each hostile request reaches the check it is about behind any gate."""
    return upload_client.auth.header_lines("PUT", url, body)


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
        # DeleteObject calls name the key in the URL instead; one per version, since with
        # overwrite_policy keep_versions a plain delete only adds a delete marker.
        scratch.delete_versions(s3_readback.s3, s3_readback.bucket, key)


def test_hostile_raw_dot_segments_stay_inside_the_bucket(upload_client, s3_readback, object_key, assumption):
    raw_path = f"/{upload_client.bucket}/junk/../{encode_key(object_key)}"
    url = _url(upload_client, raw_path)
    responses = send_raw(url, raw_put(
        url, ["Content-Type: text/plain", "Content-Length: 3", *_auth(upload_client, url, b"dot")], b"dot"))
    statuses = [r.status for r in responses]
    assert len(statuses) == 1, responses
    if statuses == [200]:  # resolved before routing: it must land exactly at the resolved key
        assert s3_readback.get(object_key).sha256 == sha256(b"dot")
    else:  # not resolved: no route has four segments, so nothing is written
        assert 400 <= statuses[0] < 500, responses
        assert s3_readback.keys(prefix=object_key) == []
    assumption("raw-dot-segments-resolved-before-routing", statuses == [200], f"status {statuses[0]}")


def test_hostile_raw_dot_segments_cannot_reach_another_bucket(upload_client, s3_readback, other_bucket, object_key):
    raw_path = f"/{upload_client.bucket}/../{other_bucket}/{encode_key(object_key)}"
    url = _url(upload_client, raw_path)
    responses = send_raw(url, raw_put(
        url, ["Content-Type: text/plain", "Content-Length: 4", *_auth(upload_client, url, b"evil")], b"evil"))
    assert s3_readback.keys(bucket=other_bucket) == [], "a raw .. reached another bucket"
    # Resolved, the write reaches the other bucket and IAM refuses it (AccessDenied); not
    # resolved, no route matches (Missing Authentication Token): 403 either way.
    assert [r.status for r in responses] == [403], responses


@pytest.mark.parametrize("bucket_segment", ["{bucket}%2F..%2F{other}", "{other}%2F", "..%2F{other}"])
def test_hostile_encoded_slashes_in_the_bucket_segment_go_nowhere(
        bucket_segment, upload_client, s3_readback, other_bucket, object_key):
    segment = bucket_segment.format(bucket=upload_client.bucket, other=other_bucket)
    url = f"{upload_client.invoke_url}/{segment}/{encode_key(object_key)}"
    headers = {"Content-Type": "text/plain", **upload_client.auth.headers("PUT", url, b"evil")}
    response = upload_client.session.put(url, data=b"evil", headers=headers, timeout=upload_client.timeout)
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
                "x-amz-storage-class: GLACIER", "Content-Length: 8", *_auth(upload_client, url, b"injected")]
    responses = send_raw(url, raw_put(url, injected, b"injected"))
    assert [r.status for r in responses] == [200]
    head = s3_readback.s3.head_object(Bucket=s3_readback.bucket, Key=object_key)
    assert head["ContentType"] == "text/plain"
    assert head.get("Metadata", {}) == {}
    assert "WebsiteRedirectLocation" not in head
    assert head.get("StorageClass", "STANDARD") == "STANDARD"


def test_hostile_folded_header_never_becomes_a_header(upload_client, s3_readback, object_key, assumption):
    url = upload_client.url(object_key)
    folded = ["Content-Type: text/plain", " x-amz-acl: public-read-write", "Content-Length: 6",
              *_auth(upload_client, url, b"folded")]
    responses = send_raw(url, raw_put(url, folded, b"folded"))
    statuses = [r.status for r in responses]
    assert len(statuses) == 1 and statuses[0] in (200, 400), responses
    if statuses == [400]:
        assert not s3_readback.exists(object_key)
    else:
        # RFC 7230 section 3.2.4: the fold may be replaced by spaces, so it stays part of
        # Content-Type; it must never become an ACL header that opens the object.
        assert s3_readback.get(object_key).content_type.startswith("text/plain")
        grants = s3_readback.s3.get_object_acl(Bucket=s3_readback.bucket, Key=object_key)["Grants"]
        assert not [g for g in grants if "AllUsers" in g.get("Grantee", {}).get("URI", "")], grants
    assumption("folded-header-refused", statuses == [400], f"status {statuses[0]}")


def test_hostile_body_stopping_mid_stream_stores_nothing(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    # Half-closing the socket is how the body "stops": the server sees the end of the stream.
    # A SigV4 signature covers the payload's hash, and a payload that never arrives cannot be
    # signed: the signature is over the declared 100,000 bytes. Behind AWS_IAM the gateway may
    # therefore refuse it as badly signed instead; what must hold either way is checked below.
    declared = b"x" * 100000
    responses = send_raw(url, raw_put(url, ["Content-Type: application/octet-stream", "Content-Length: 100000",
                                            *_auth(upload_client, url, declared)], b"x" * 1000), half_close=True)
    assert all(r.status != 200 for r in responses), responses
    assert [r.status for r in responses] in ([], [400])
    assert not s3_readback.exists(object_key)


def test_hostile_short_content_length_stores_only_the_declared_bytes(upload_client, s3_readback, object_key):
    url = upload_client.url(object_key)
    responses = send_raw(url, raw_put(url, ["Content-Type: text/plain", "Content-Length: 10",
                                            *_auth(upload_client, url, b"0123456789")],
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
], ids=["negative", "not-a-number", "two-lengths"])
def test_hostile_invalid_content_length_is_refused(framing, upload_client, s3_readback, object_key):
    """RFC 7230 section 3.3.3: an invalid or conflicting Content-Length makes the framing
    invalid, and a server MUST answer 400 and close the connection."""
    url = upload_client.url(object_key)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    responses = send_raw(url, raw_put(url, ["Content-Type: text/plain", *framing,
                                            *_auth(upload_client, url, body)], body))
    assert [r.status for r in responses] == [400], responses
    assert not s3_readback.exists(object_key)


def test_hostile_length_and_chunked_never_lets_the_length_win(upload_client, s3_readback, object_key, assumption):
    """RFC 7230 section 3.3.3: with both, Transfer-Encoding overrides Content-Length, or the
    message is an error; letting Content-Length win is how requests are smuggled."""
    url = upload_client.url(object_key)
    # Signed over the decoded body (`hello`), the payload a gateway honouring chunked reads.
    responses = send_raw(url, raw_put(url, ["Content-Type: text/plain", "Content-Length: 5",
                                            "Transfer-Encoding: chunked", *_auth(upload_client, url, b"hello")],
                                      b"5\r\nhello\r\n0\r\n\r\n"))
    statuses = [r.status for r in responses]
    assert statuses in ([400], [200]), responses
    if statuses == [400]:
        assert not s3_readback.exists(object_key)
    else:
        assert s3_readback.get(object_key).sha256 == sha256(b"hello"), "Content-Length won over chunked"
    assumption("length-and-chunked-refused", statuses == [400], f"status {statuses[0]}")
