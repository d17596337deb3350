"""Corrections to moto's S3 control plane, so it answers what S3 answers.

AWS's defaults on a new bucket (SSE-S3, public access block, `BucketOwnerEnforced`); the
1,024-byte key limit; keys with line breaks; `encoding-type=url` on ListObjectVersions;
atomic conditional PUTs (Terraform's lock file); the checks S3 makes on a PutObject before
storing anything and the checksum it stores without an SDK's algorithm header (the rules
are `s3_integrity.py`'s; the hooks are here); and bucket-policy conditions: the condition
operators, the request's condition keys (`aws:SecureTransport`, `s3:if-none-match`,
`s3:if-match`) and their evaluation. Registered in `controlplane.PATCHES`.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import threading
from typing import Any

from harness.localaws import s3_integrity

# The local endpoint speaks plain HTTP but stands in for AWS's TLS endpoints (API Gateway
# calls S3 over TLS), so bucket-policy conditions see aws:SecureTransport = true.
REQUEST_CONDITION_CONTEXT = {"aws:SecureTransport": "true"}
# Condition keys S3 takes from a request's headers ("Enforce conditional writes on Amazon S3
# buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html):
# absent when the request does not carry the header, which the Null operator tests.
HEADER_CONDITION_KEYS = {"If-None-Match": "s3:if-none-match", "If-Match": "s3:if-match"}
_request = threading.local()  # the condition keys of the S3 request this thread is serving


def request_condition_context() -> dict[str, str]:
    """The condition context of the S3 request being served: the fixed keys and its header keys."""
    return {**REQUEST_CONDITION_CONTEXT, **getattr(_request, "condition_keys", {})}


def conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM condition block against a context; unknown operators or keys do not hold.

    Supports Bool, Null, StringEquals, StringNotEquals and StringLike (what bucket policies
    of this project use); anything else makes the statement not apply, and says so here.
    Null "true" holds when the key is absent from the request, "false" when it is present
    ("IAM JSON policy elements: Condition operators", Condition operator to check existence
    of condition keys).
    """
    for operator, clauses in conditions.items():
        for key, expected in clauses.items():
            values = [str(v).lower() if operator in ("Bool", "Null") else str(v)
                      for v in (expected if isinstance(expected, list) else [expected])]
            if operator == "Null":
                if ("false" if key in context else "true") not in values:
                    return False
                continue
            actual = context.get(key)
            if actual is None:
                return False
            if operator in ("Bool", "StringEquals"):
                if actual not in values:
                    return False
            elif operator == "StringNotEquals":
                if actual in values:
                    return False
            elif operator == "StringLike":
                if not any(fnmatch.fnmatchcase(actual, v) for v in values):
                    return False
            else:
                return False
    return True


def patch_bucket_policy_conditions() -> None:
    """Gap: moto evaluates bucket policies ignoring conditions, and a statement whose
    condition does not hold comes out as DENIED instead of not applying; a policy that
    denies non-TLS access therefore denied every request. Policies without conditions
    still go to moto's method (its source digest is pinned, so a moto that learns
    conditions stops the local AWS rather than being overridden)."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        if not any(statement.get("Condition") for statement in statements):
            return original(self, action, resource)
        result = PermissionResult.NEUTRAL
        context = request_condition_context()
        for statement in statements:
            condition = statement.get("Condition")
            if condition and not conditions_hold(condition, context):
                continue
            plain = {k: v for k, v in statement.items() if k != "Condition"}
            verdict = IAMPolicyStatement(plain).is_action_permitted(action, resource)
            if verdict == PermissionResult.DENIED:
                return verdict
            if verdict == PermissionResult.PERMITTED:
                result = verdict
        return result

    FakeBucket.get_permission = get_permission


MAX_KEY_BYTES = 1024  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html


def patch_key_length_limit() -> None:
    """Gap: moto stores keys of any length; S3 answers 400 KeyTooLongError ("Your key is
    too long") for a key over 1,024 bytes of UTF-8."""
    from moto.s3 import responses as s3_responses
    from moto.s3.exceptions import S3ClientError

    class KeyTooLongError(S3ClientError):
        # The 400 is moto's serializer's default error status; `code` is the error code (set below).
        def __init__(self) -> None:
            super().__init__("KeyTooLongError", "Your key is too long")

    original = s3_responses.S3Response.put_object

    def put_object(self: Any) -> Any:
        if len(self.parse_key_name().encode()) > MAX_KEY_BYTES:
            raise KeyTooLongError()
        return original(self)

    s3_responses.S3Response.put_object = put_object


def patch_atomic_conditional_put() -> None:
    """Gap: moto checks `If-None-Match: *` and stores the object in two steps, so two
    concurrent conditional PUTs of one key can both succeed. S3 lets exactly one win
    (the other gets 412), which Terraform's S3 lock file (`use_lockfile`) relies on."""
    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response.put_object
    conditional_puts = threading.Lock()

    def put_object(self: Any) -> Any:
        if self.headers.get("If-None-Match") != "*":
            return original(self)
        with conditional_puts:
            return original(self)

    s3_responses.S3Response.put_object = put_object


def patch_request_condition_keys() -> None:
    """Gap: moto evaluates a bucket policy without the request's own condition keys, so a
    policy that requires `If-None-Match` (s3:if-none-match) could not be enforced. The keys of
    the request's headers are kept for the thread serving it while moto handles the object
    request (where it checks the bucket policy)."""
    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response._key_response

    def _key_response(self: Any, request: Any, full_url: str) -> Any:
        _request.condition_keys = {key: self.headers[header] for header, key in HEADER_CONDITION_KEYS.items()
                                   if self.headers.get(header) is not None}
        try:
            return original(self, request, full_url)
        finally:
            _request.condition_keys = {}

    s3_responses.S3Response._key_response = _key_response


def patch_put_object_checks() -> None:
    """Gap: moto stores a PutObject whatever its Content-MD5 or x-amz-checksum-sha256 says, and
    takes any If-None-Match value but `*` as no condition. S3 refuses each before storing
    anything (`s3_integrity.put_refusal`, with the recorded answers)."""
    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response.put_object

    def put_object(self: Any) -> Any:
        refusal = s3_integrity.put_refusal(self.headers, self.body or b"")
        return refusal if refusal is not None else original(self)

    s3_responses.S3Response.put_object = put_object


def patch_checksum_without_sdk_algorithm() -> None:
    """Gap: moto reads an x-amz-checksum-* header only next to x-amz-sdk-checksum-algorithm
    (which SDKs add, a plain HTTP client or API Gateway does not), so the SHA-256 a request
    carries was neither stored nor returned. S3 stores it and answers it to HeadObject with
    ChecksumMode=ENABLED (`s3_integrity.sent_checksum`)."""
    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response._get_checksum

    def _get_checksum(self: Any, response_headers: dict[str, Any]) -> tuple[str, str | None]:
        algorithm, value = original(self, response_headers)
        sent = None if algorithm else s3_integrity.sent_checksum(self.headers)
        if sent is None:
            return algorithm, value
        response_headers[f"x-amz-checksum-{sent[0].lower()}"] = sent[1]
        return sent

    s3_responses.S3Response._get_checksum = _get_checksum


def patch_keys_with_line_breaks() -> None:
    """Gap: moto routes S3 object URLs with `.+`, which stops at a line feed, so a key with
    LF gets a routing 404; S3 stores any UTF-8 key, control characters included."""
    from moto.s3 import models as s3_models

    original = s3_models.S3Backend._url_module.fget  # type: ignore[attr-defined]  # a property: mypy sees its getter

    def url_module(self: Any) -> Any:
        module = original(self)  # moto reloads moto.s3.urls here, so fix it each time
        for pattern in list(module.url_paths):
            # A class, not a scoped flag: moto turns these into werkzeug rules by cutting at ")".
            fixed = pattern.replace("(?P<key_name>.+)", r"(?P<key_name>[\s\S]+)").replace(
                "(?P<key_name>/.*)", r"(?P<key_name>/[\s\S]*)")
            if fixed != pattern:
                module.url_paths[fixed] = module.url_paths.pop(pattern)
        return module

    s3_models.S3Backend._url_module = property(url_module)  # type: ignore[assignment]  # a property where mypy sees a method


def patch_list_object_versions_url_encoding() -> None:
    """Gap: moto ignores `encoding-type=url` on ListObjectVersions, so a key with a control
    character reaches the client as raw XML it cannot parse. S3 URL-encodes keys then; it
    is how Terraform's force_destroy and the sweeper empty such buckets."""
    import html
    from urllib.parse import quote

    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response.list_object_versions

    def encode(match: re.Match[str]) -> str:
        return f"<{match.group(1)}>{quote(html.unescape(match.group(2)), safe='/')}</{match.group(1)}>"

    def list_object_versions(self: Any) -> Any:
        response = original(self)
        if self.querystring.get("encoding-type", [None])[0] != "url":
            return response
        status, headers, body = response
        text = body.decode() if isinstance(body, bytes) else body
        text = re.sub(r"<(Key|KeyMarker|NextKeyMarker|Prefix)>(.*?)</\1>", encode, text, flags=re.S)
        text = text.replace("</ListVersionsResult>", "<EncodingType>url</EncodingType></ListVersionsResult>")
        return status, headers, text.encode() if isinstance(body, bytes) else text

    s3_responses.S3Response.list_object_versions = list_object_versions


# What S3 gives every new general purpose bucket, recorded against AWS in LocalStack's
# tests/aws/services/s3/test_s3_api.snapshot.json (validated 2026-02-21):
# test_s3_default_bucket_encryption, test_crud_public_access_block,
# test_crud_bucket_ownership_controls. SSE-S3 since 2023-01-05
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html);
# Block Public Access on and ACLs disabled since April 2023
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
DEFAULT_BUCKET_ENCRYPTION_RULE: dict[str, Any] = {
    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
    "BucketKeyEnabled": False,
}
DEFAULT_OBJECT_OWNERSHIP = "BucketOwnerEnforced"


def _default_bucket_encryption() -> dict[str, Any]:
    """moto's stored form of a bucket encryption configuration (the parsed request XML)."""
    return {"Rule": copy.deepcopy(DEFAULT_BUCKET_ENCRYPTION_RULE)}


def patch_new_bucket_defaults() -> None:
    """Gap: moto creates buckets with no encryption, public access block or ownership
    controls, so their reads answer 404 where AWS answers the defaults above; and
    DeleteBucketEncryption leaves none where AWS "resets the default encryption for the
    bucket as server-side encryption with Amazon S3 managed keys (SSE-S3)"
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html).
    Deleting the public access block or the ownership controls leaves none, as on AWS
    (404 NoSuchPublicAccessBlockConfiguration / OwnershipControlsNotFoundError), which
    moto already answers (its NoSuchPublicAccessBlockConfiguration error lacks the
    `BucketName` element AWS adds; SDKs read only Code and Message). An
    `x-amz-object-ownership` header at creation still wins (moto applies it after
    create_bucket returns)."""
    from moto.s3 import models as s3_models

    original_create = s3_models.S3Backend.create_bucket
    original_delete_encryption = s3_models.S3Backend.delete_bucket_encryption

    def create_bucket(self: Any, *args: Any, **kwargs: Any) -> Any:
        bucket = original_create(self, *args, **kwargs)
        if bucket.encryption is None:
            bucket.encryption = _default_bucket_encryption()
        if bucket.public_access_block is None:
            bucket.public_access_block = s3_models.PublicAccessBlock(True, True, True, True)
        if bucket.ownership_rule is None:
            bucket.ownership_rule = DEFAULT_OBJECT_OWNERSHIP  # type: ignore[assignment]  # moto annotates dict; it stores the string too
        return bucket

    def delete_bucket_encryption(self: Any, bucket_name: str) -> None:
        original_delete_encryption(self, bucket_name)
        bucket = self.get_bucket(bucket_name)
        if bucket.encryption is None:
            bucket.encryption = _default_bucket_encryption()

    s3_models.S3Backend.create_bucket = create_bucket
    s3_models.S3Backend.delete_bucket_encryption = delete_bucket_encryption
