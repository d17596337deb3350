"""Integrity enforced by S3: the digests a client sends reach S3, which refuses a body that
does not match them and stores nothing; a body that matches is stored with the checksum S3
reports back.

The module maps `x-amz-checksum-sha256` and the stack's `content_md5_header` (X-Content-MD5)
onto S3's `x-amz-checksum-sha256` and `Content-MD5` (terraform/modules/s3_upload_api, and
docs/aws-behaviour.md, "Integrity headers reaching S3", for why the MD5 has its own header).
S3's answers are the ones recorded against AWS in LocalStack's AWS-validated snapshots
(tests/aws/services/s3/test_s3.snapshot.json: `test_s3_invalid_content_md5` and
`test_put_object_checksum[SHA256]`); the API passes S3's 400 and its XML error through
(S3 proxy tutorial: integration responses selected by S3's status, the body unmapped).
"""

import base64
import os

import pytest

from harness.client.readback import sha256
from harness.client.upload_client import CHECKSUM_SHA256_HEADER, md5_base64, sha256_base64

WRONG_SHA256 = base64.b64encode(bytes(32)).decode()  # well-formed: 32 bytes, not the body's
WRONG_MD5 = base64.b64encode(bytes(16)).decode()  # well-formed: 16 bytes, not the body's
MALFORMED = "not-a-digest"  # recorded: "not base64 encoded checksum" and "__invalid__" alike


@pytest.fixture
def md5_header(stack_outputs):
    name = stack_outputs.values.get("content_md5_header")
    if not name:
        pytest.skip("the stack has no content_md5_header output: apply it with this checkout's module")
    return name


def _refused(response, s3_readback, key, status, code):
    assert response.status_code == status, response.text
    assert f"<Code>{code}</Code>" in response.text, response.text
    # "Nothing is stored": S3 refuses before it writes (PutObject reference, Content-MD5 and
    # x-amz-checksum-*); HeadObject then answers 404.
    assert not s3_readback.exists(key)


def test_checksum_right_sha256_is_stored_with_the_checksum_s3_reports(upload_client, s3_readback, object_key):
    body = os.urandom(64 * 1024)
    response = upload_client.put(object_key, body, content_type="application/octet-stream")  # sends its SHA-256
    assert response.status_code == 200, response.text
    assert s3_readback.get(object_key).sha256 == sha256(body)
    # HeadObject with ChecksumMode=ENABLED returns the stored ChecksumSHA256 (recorded:
    # test_put_object_checksum[SHA256], head-object-with-checksum).
    assert s3_readback.checksum_sha256(object_key) == sha256_base64(body)


def test_checksum_wrong_sha256_is_refused_and_nothing_stored(upload_client, s3_readback, object_key):
    # Recorded: 400 BadDigest "The SHA256 you specified did not match the calculated checksum."
    response = upload_client.put(object_key, b"the body S3 receives", content_type="text/plain", checksum=False,
                                 headers={CHECKSUM_SHA256_HEADER: WRONG_SHA256})
    _refused(response, s3_readback, object_key, 400, "BadDigest")
    assert "SHA256 you specified did not match" in response.text


def test_checksum_malformed_sha256_is_refused_and_nothing_stored(upload_client, s3_readback, object_key):
    # Recorded: 400 InvalidRequest "Value for x-amz-checksum-sha256 header is invalid."
    response = upload_client.put(object_key, b"x", content_type="text/plain", checksum=False,
                                 headers={CHECKSUM_SHA256_HEADER: MALFORMED})
    _refused(response, s3_readback, object_key, 400, "InvalidRequest")


def test_checksum_right_md5_is_stored(upload_client, s3_readback, object_key, md5_header):
    body = os.urandom(4096)
    response = upload_client.put(object_key, body, content_type="application/octet-stream", checksum=False,
                                 headers={md5_header: md5_base64(body)})
    assert response.status_code == 200, response.text
    stored = s3_readback.get(object_key)
    assert (stored.size, stored.sha256) == (len(body), sha256(body))


def test_checksum_wrong_md5_is_refused_and_nothing_stored(upload_client, s3_readback, object_key, md5_header):
    # Recorded: 400 BadDigest "The Content-MD5 you specified did not match what we received."
    response = upload_client.put(object_key, b"the body S3 receives", content_type="text/plain", checksum=False,
                                 headers={md5_header: WRONG_MD5})
    _refused(response, s3_readback, object_key, 400, "BadDigest")
    assert "Content-MD5 you specified did not match" in response.text


def test_checksum_malformed_md5_is_refused_and_nothing_stored(upload_client, s3_readback, object_key, md5_header):
    # Recorded: 400 InvalidDigest "The Content-MD5 you specified was invalid."
    response = upload_client.put(object_key, b"x", content_type="text/plain", checksum=False,
                                 headers={md5_header: MALFORMED})
    _refused(response, s3_readback, object_key, 400, "InvalidDigest")
