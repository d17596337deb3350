"""What S3 checks on a PutObject before it stores anything: the body's digests and the
conditional-write header's value. Pure functions over the request's headers and body; the
moto patch that calls them is in `controlplane/s3.py` ("S3 write checks").

Each answer is S3's, as recorded against AWS in LocalStack's AWS-validated snapshots
(`localstack/localstack`, recorded 2026-02-21; docs/aws-behaviour.md, "Integrity headers
reaching S3" and "Conditional writes"):
- `Content-MD5` that is not the base64 of 16 bytes: 400 `InvalidDigest` "The Content-MD5
  you specified was invalid." (tests/aws/services/s3/test_s3.snapshot.json,
  `test_s3_invalid_content_md5`, md5-error-0..4);
- a well-formed one that does not match: 400 `BadDigest` "The Content-MD5 you specified did
  not match what we received." (same test, md5-error-bad-digest);
- `x-amz-checksum-sha256` that is not the base64 of 32 bytes: 400 `InvalidRequest` "Value
  for x-amz-checksum-sha256 header is invalid." (test_s3.snapshot.json,
  `test_put_object_checksum[SHA256]`, put-wrong-checksum-no-b64);
- a well-formed one that does not match: 400 `BadDigest` "The SHA256 you specified did not
  match the calculated checksum." (same test, put-wrong-checksum-value);
- `If-None-Match` with any value but `*`: 501 `NotImplemented` (tests/aws/services/s3/
  test_s3_api.snapshot.json, `test_put_object_if_none_match_validation`). The PutObject
  API reference says the header "Expects the '*' (asterisk) character".
Nothing is stored after any of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from xml.sax.saxutils import escape

from harness.localaws.integration import header

S3Answer = tuple[int, dict[str, str], bytes]

CONTENT_MD5 = "Content-MD5"
CHECKSUM_SHA256 = "x-amz-checksum-sha256"
IF_NONE_MATCH = "If-None-Match"


def _digest(value: str, size: int) -> bytes | None:
    """The bytes a base64 digest header carries, or None unless it is exactly `size` bytes."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == size else None


def error(status: int, code: str, message: str, **fields: str) -> S3Answer:
    """S3's XML error document, with the extra elements S3 adds for this code."""
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>{extra}</Error>").encode()
    return status, {"Content-Type": "application/xml"}, body


def put_refusal(headers: Mapping[str, str], body: bytes) -> S3Answer | None:
    """S3's answer refusing this PutObject before anything is stored, or None if it may go on."""
    condition = header(headers, IF_NONE_MATCH)
    if condition is not None and condition.strip() != "*":
        return error(501, "NotImplemented", "A header you provided implies functionality that is not implemented",
                     Header=IF_NONE_MATCH,
                     additionalMessage="We don't accept the provided value of If-None-Match header for this API")
    sent_md5 = header(headers, CONTENT_MD5)
    if sent_md5 is not None:
        expected = _digest(sent_md5, 16)
        if expected is None:
            return error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.",
                         **{"Content-MD5": sent_md5})
        calculated = hashlib.md5(body).digest()  # S3's Content-MD5 check, not a security use
        if calculated != expected:
            return error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
                         ExpectedDigest=expected.hex(), CalculatedDigest=base64.b64encode(calculated).decode())
    sent_sha256 = header(headers, CHECKSUM_SHA256)
    if sent_sha256 is not None:
        expected = _digest(sent_sha256, 32)
        if expected is None:
            return error(400, "InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid.")
        if hashlib.sha256(body).digest() != expected:
            return error(400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
    return None


def sent_checksum(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """("SHA256", value) when the request carries x-amz-checksum-sha256: S3 stores it with the
    object and returns it from HeadObject with ChecksumMode=ENABLED (test_s3.snapshot.json,
    `test_put_object_checksum[SHA256]`, head-object-with-checksum)."""
    value = header(headers, CHECKSUM_SHA256)
    return ("SHA256", value.strip()) if value is not None else None
