"""Oversize rejection: API Gateway's 10 MB payload quota, enforced before S3."""

from harness.checks import MAX_PAYLOAD_BYTES


def test_oversize_body_is_rejected_and_nothing_is_stored(upload_client, s3_readback, object_key):
    response = upload_client.put(object_key, b"\x00" * (MAX_PAYLOAD_BYTES + 1),
                                 content_type="application/octet-stream")
    assert response.status_code == 413
    assert not s3_readback.exists(object_key)
    assert s3_readback.keys(prefix=object_key) == []


def test_oversize_exactly_at_quota_is_accepted(upload_client, s3_readback, object_key):
    response = upload_client.put(object_key, b"\x01" * MAX_PAYLOAD_BYTES,
                                 content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    assert s3_readback.get(object_key).size == MAX_PAYLOAD_BYTES
