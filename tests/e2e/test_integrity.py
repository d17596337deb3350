"""Binary integrity: what S3 stores is byte-for-byte what the client sent."""

import os

import pytest

from harness.client.readback import MAX_PAYLOAD_BYTES, integrity_bodies, sha256
from harness.client.upload_client import sha256_base64

BODIES = integrity_bodies()


@pytest.mark.parametrize("name", sorted(BODIES))
def test_integrity_body_arrives_unchanged(name, upload_client, s3_readback, object_key):
    body = BODIES[name]
    response = upload_client.put(object_key, body, content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    stored = s3_readback.get(object_key)
    assert (stored.size, stored.sha256) == (len(body), sha256(body))
    # The client sent the body's SHA-256 and S3 checked it against what arrived: the checksum
    # S3 recorded is the client's (HeadObject with ChecksumMode=ENABLED; tests/e2e/test_checksums.py).
    assert s3_readback.checksum_sha256(object_key) == sha256_base64(body)


@pytest.mark.parametrize("content_type", ["image/png", "text/plain", "application/json"])
def test_integrity_invalid_utf8_survives_any_content_type(content_type, upload_client, s3_readback, object_key):
    body = b"\x89PNG\r\n\x1a\n\xff\xd8\xff\xe0" + bytes(range(128, 256))
    response = upload_client.put(object_key, body, content_type=content_type)
    assert response.status_code == 200, response.text
    assert s3_readback.get(object_key).sha256 == sha256(body)


def test_integrity_just_under_quota(upload_client, s3_readback, object_key):
    body = os.urandom(MAX_PAYLOAD_BYTES - 1024)
    response = upload_client.put(object_key, body, content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    stored = s3_readback.get(object_key)
    assert (stored.size, stored.sha256) == (len(body), sha256(body))


def test_integrity_etag_reaches_client(upload_client, s3_readback, object_key):
    response = upload_client.put(object_key, b"etag me", content_type="text/plain")
    assert response.status_code == 200
    assert response.headers.get("ETag", "").strip('"') == s3_readback.get(object_key).etag
