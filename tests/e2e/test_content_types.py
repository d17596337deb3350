"""Content types: the stored Content-Type is what the client sent."""

import pytest

from harness.localaws.dataplane import UNMAPPED_CONTENT_TYPE_SENT_TO_S3

TYPES = [
    "image/png",
    "image/jpeg",
    "application/pdf",
    "application/octet-stream",
    "application/json",
    "text/plain; charset=utf-8",
    "text/csv; charset=iso-8859-1",
    "application/vnd.example.upload+json",
]


@pytest.mark.parametrize("content_type", TYPES)
def test_content_type_is_stored_as_sent(content_type, upload_client, s3_readback, object_key):
    response = upload_client.put(object_key, b"payload \x00\xff", content_type=content_type)
    assert response.status_code == 200, response.text
    assert s3_readback.get(object_key).content_type == content_type


def test_content_type_absent_gets_the_integration_default(upload_client, s3_readback, object_key):
    """Documented outcome: with no Content-Type from the client the mapping yields
    nothing and the integration's default type reaches S3 (modelled by
    UNMAPPED_CONTENT_TYPE_SENT_TO_S3; S3's own default if that is None)."""
    response = upload_client.put(object_key, b"no type", content_type=None)
    assert response.status_code == 200, response.text
    expected = UNMAPPED_CONTENT_TYPE_SENT_TO_S3 or "binary/octet-stream"
    assert s3_readback.get(object_key).content_type == expected
