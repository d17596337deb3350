"""Oversize rejection: API Gateway's 10 MB payload quota, enforced before S3.

Quota: 10,485,760 bytes, not raisable; over it the REQUEST_TOO_LARGE gateway response, 413
(API Gateway quotas and gateway response types; docs/aws-behaviour.md).
Which of the two recorded 413 bodies a regional API sends is unconfirmed, so the check
asserts the status and that nothing was stored, and records the body.
"""

import json

from harness.client.readback import MAX_PAYLOAD_BYTES

API_GATEWAY_413_BODY = {"message": "Request Too Long"}


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def test_oversize_body_is_rejected_and_nothing_is_stored(upload_client, s3_readback, object_key, assumption):
    response = upload_client.put(object_key, b"\x00" * (MAX_PAYLOAD_BYTES + 1),
                                 content_type="application/octet-stream")
    assert response.status_code == 413
    assert not s3_readback.exists(object_key)
    assert s3_readback.keys(prefix=object_key) == []
    assumption("oversize-413-body-is-api-gateways", _json_or_none(response.text) == API_GATEWAY_413_BODY,
               f"413 body {response.text[:80]!r}")


def test_oversize_exactly_at_quota_is_accepted(upload_client, s3_readback, object_key):
    response = upload_client.put(object_key, b"\x01" * MAX_PAYLOAD_BYTES,
                                 content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    assert s3_readback.get(object_key).size == MAX_PAYLOAD_BYTES
