"""Corrections to moto's control planes, so they read back what AWS reads back.

Each gap was found by a round-trip test (create, read back, compare with what AWS
returns; see tests/localaws/test_conformance.py, test_bucket_defaults.py and
test_hostile_requests.py). Every patch is listed in `PATCHES` with the gap it closes and
the moto names it touches; `install()` checks those names against the pinned moto
(`moto_boundary.py`) and then applies the patches once per process. Patches wrap moto's
method and adjust only what the gap needs, so an upstream fix still runs; the few that
replace or re-implement moto code carry the pinned source digest, so a moto upgrade
that changes that code stops the local AWS instead of being silently overridden.

Also here, because they hook the same moto objects:
- API Gateway operations moto does not have (UpdateMethod, UpdateIntegration,
  UpdateIntegrationResponse, UpdateMethodResponse, UpdateResource, UpdateDeployment,
  UpdateGatewayResponse), added to its response class with the rules of
  `patch_operations.py`, and gateway responses that answer each type's default;
- deployment snapshots: a stage serves the API as it was when its deployment was created
  ("A stage serves the deployment it points to; changes take effect only after a new
  deployment", https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html);
- IAM enforcement for session credentials: requests signed with credentials that STS
  issued for an assumed role are authenticated (SigV4) and authorised against the role's
  policies, so a role without s3:PutObject gets S3's AccessDenied as on AWS. Static keys
  (the harness's `test`/`test`) act as an account administrator and are not checked.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.localaws import backends, moto_boundary, s3_integrity
from harness.localaws.moto_boundary import MotoName

# AWS's defaults for fields moto leaves empty (PutIntegration reference:
# https://docs.aws.amazon.com/apigateway/latest/api/API_PutIntegration.html).
DEFAULT_PASSTHROUGH_BEHAVIOR = "WHEN_NO_MATCH"
DEFAULT_TIMEOUT_IN_MILLIS = 29000

_installed = False
_install_lock = threading.Lock()


def _decode_patch_path_item(path: str, prefix: str) -> str:
    """`/binaryMediaTypes/image~1png` -> `image/png` (JSON Pointer escaping, RFC 6901)."""
    return path[len(prefix) :].replace("~1", "/").replace("~0", "~")


def _patch_create_rest_api_keeps_binary_media_types() -> None:
    """Gap: CreateRestApi drops `binaryMediaTypes` (moto 5.2.5)."""
    from moto.apigateway import responses as apigw_responses

    original = apigw_responses.APIGatewayResponse.create_rest_api

    def create_rest_api(self: Any) -> Any:
        status, headers, body = original(self)
        wanted = self._get_param("binaryMediaTypes")
        if status == 200 and wanted:
            api = self.backend.get_rest_api(json.loads(body)["id"])
            api.binaryMediaTypes = list(wanted)
            body = json.dumps(api.to_dict())
        return status, headers, body

    apigw_responses.APIGatewayResponse.create_rest_api = create_rest_api


def _patch_binary_media_type_patch_paths() -> None:
    """Gap: UpdateRestApi `add /binaryMediaTypes/image~1png` stores '' and `remove` fails.

    AWS puts the type in the path, escaped (`/` as `~1`), with no `value`.
    """
    from moto.apigateway import models as apigw_models

    original = apigw_models.RestAPI.apply_patch_operations
    prefix = "/binaryMediaTypes/"

    def apply_patch_operations(self: Any, patch_operations: list[dict[str, Any]]) -> None:
        remaining = []
        for op in patch_operations:
            path = op.get("path", "")
            if path.startswith(prefix) and op.get("op") in ("add", "remove", "replace"):
                item = _decode_patch_path_item(path, prefix)
                if op["op"] == "add" and item not in self.binaryMediaTypes:
                    self.binaryMediaTypes.append(item)
                elif op["op"] == "remove" and item in self.binaryMediaTypes:
                    self.binaryMediaTypes.remove(item)
                elif op["op"] == "replace":
                    index = self.binaryMediaTypes.index(item) if item in self.binaryMediaTypes else -1
                    if index >= 0:
                        self.binaryMediaTypes[index] = op.get("value", item)
                continue
            remaining.append(op)
        if remaining:
            original(self, remaining)

    apigw_models.RestAPI.apply_patch_operations = apply_patch_operations


def _patch_integration_defaults() -> None:
    """Gap: PutIntegration leaves passthroughBehavior/timeoutInMillis empty; AWS defaults
    them to WHEN_NO_MATCH and 29000 and returns timeoutInMillis as a number."""
    from moto.apigateway import models as apigw_models

    original_init = apigw_models.Integration.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not self.passthrough_behaviour:
            self.passthrough_behaviour = DEFAULT_PASSTHROUGH_BEHAVIOR
        self.timeout_in_millis = int(self.timeout_in_millis or DEFAULT_TIMEOUT_IN_MILLIS)

    apigw_models.Integration.__init__ = __init__


def _patch_deployment_snapshots() -> None:
    """Record what a deployment serves, at the moment it is created."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.APIGatewayBackend.create_deployment

    def create_deployment(self: Any, function_id: str, *args: Any, **kwargs: Any) -> Any:
        deployment = original(self, function_id, *args, **kwargs)
        deployment.harness_snapshot = backends.take_snapshot(self.get_rest_api(function_id))  # type: ignore[attr-defined]  # ours, kept on moto's object
        return deployment

    apigw_models.APIGatewayBackend.create_deployment = create_deployment


def _credential_access_key(headers: Any) -> str | None:
    auth = headers.get("Authorization") or ""
    if "Credential=" not in auth:
        return None
    return auth.split("Credential=", 1)[1].split("/", 1)[0]


def _patch_enforce_iam_for_session_credentials() -> None:
    """Gap: moto checks signatures and IAM only after INITIAL_NO_AUTH_ACTION_COUNT requests
    process-wide, so either nothing is checked or the harness's static keys need IAM
    users. Requests signed with STS session keys (ASIA...) that moto issued are checked
    always, with moto's own signature and policy checks (the same steps as moto's
    method, whose source digest is pinned); every other request goes to moto's method."""
    from moto.core import authorization as moto_authorization

    mixin = moto_authorization.ActionAuthenticatorMixin
    original = mixin._authenticate_and_authorize_action

    def _authenticate_and_authorize_action(
        self: Any, iam_request_cls: type, resource: str = "*"
    ) -> None:
        access_key = _credential_access_key(self.headers)
        if (
            access_key is None
            or not access_key.startswith("ASIA")
            or access_key not in backends.session_access_key_ids(self.current_account)
        ):
            original(self, iam_request_cls, resource)
            return
        path = self.raw_path
        query = self.uri.split("?", 1)[1] if "?" in self.uri else ""
        if query:
            path += "?" + query
        iam_request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        iam_request.check_signature()
        iam_request.check_action_permitted(resource)

    mixin._authenticate_and_authorize_action = _authenticate_and_authorize_action


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


def _patch_bucket_policy_conditions() -> None:
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


def _patch_no_instance_tracking() -> None:
    """Gap (memory): moto appends every model instance it ever creates (each S3 key, and
    the deep copies ListObjectVersions makes of keys *with their bodies*) to a class-level
    `instances_tracked` list, only to dispose them on reset. A long-lived server then grows
    without bound (measured: +1 MiB per soak cycle). Instances are no longer tracked; they
    are freed normally, and FakeKey.__del__ disposes its buffer.
    """
    import warnings

    from moto.core import common_models
    from moto.core.model_instances import reset_model_data

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    common_models.BaseModel.__new__ = staticmethod(__new__)
    reset_model_data()
    # Disposal by __del__ is now the normal path, not a leak worth a warning.
    warnings.filterwarnings("ignore", message="S3 key was not disposed of in time")


def _patch_service_list_read_once() -> None:
    """Gap (speed): to route each request, moto's server asks `list_of_moto_modules()`,
    which lists moto's package directory and stats every entry (~200) on every request:
    about a quarter of the server's busy time per control-plane call (py-spy, 300 calls
    each of six APIs). The package does not change while the server runs, so the list is
    read once, by moto's own function.
    """
    import functools

    from moto import backends

    modules = tuple(backends.list_of_moto_modules())

    @functools.wraps(backends.list_of_moto_modules)
    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    backends.list_of_moto_modules = list_of_moto_modules


def _patch_method_names_read_once_per_class() -> None:
    """Gap (speed): to find an action's handler, moto lists the response class's methods
    with `inspect.getmembers` on every call (~5 % of the server's busy time per control-
    plane call). A class's methods do not change once the patches above are in place, so
    each class's list is computed once, by moto's own function; callers get a copy.
    """
    import functools

    from moto.core import responses, utils

    compute = functools.lru_cache(maxsize=None)(utils.method_names_from_class)

    @functools.wraps(utils.method_names_from_class)
    def method_names_from_class(clazz: object) -> list[str]:
        return list(compute(clazz))

    responses.method_names_from_class = method_names_from_class


# How much of a stored object the ETag's MD5 reads at a time (moto reads 16 MiB at once).
ETAG_READ_BYTES = 1024 * 1024


def _patch_key_storage_without_copies() -> None:
    """Gap (memory): moto stores an object through a SpooledTemporaryFile, which first
    copies a body of any size into an in-memory buffer and only then, past the buffer
    size (5 MiB), spills it to a file; and it computes the ETag by reading up to 16 MiB
    of the stored object back into memory at once. Each 9.5 MiB upload thus held two
    extra copies of its body while moto stored it (measured with tracemalloc). A body
    larger than the buffer now goes to the file at once, and the ETag's MD5 reads it
    back in 1 MiB pieces: the same bytes stored and the same ETag, without the copies.
    """
    from moto.s3 import models as s3_models

    key_class: Any = s3_models.FakeKey  # Any: mypy reads a property on the class as its getter
    original_value = key_class.value

    def set_value(self: Any, new_value: bytes) -> None:
        if len(new_value) > self._max_buffer_size:
            self._value_buffer.rollover()  # no-op once it is a file
        original_value.fset(self, new_value)

    key_class.value = property(original_value.fget, set_value)

    def etag(self: Any) -> str:
        # moto 5.2.5's FakeKey.etag, reading ETAG_READ_BYTES at a time instead of 16 MiB.
        if self._etag is None:
            value_md5 = s3_models.md5_hash()
            self._value_buffer.seek(0)
            while True:
                block = self._value_buffer.read(ETAG_READ_BYTES)
                if not block:
                    break
                value_md5.update(block)
            self._etag = value_md5.hexdigest()
        return f'"{self._etag}"'

    key_class.etag = property(etag)


MAX_KEY_BYTES = 1024  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html


def _patch_key_length_limit() -> None:
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


def _patch_atomic_conditional_put() -> None:
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


def _patch_request_condition_keys() -> None:
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


def _patch_put_object_checks() -> None:
    """Gap: moto stores a PutObject whatever its Content-MD5 or x-amz-checksum-sha256 says, and
    takes any If-None-Match value but `*` as no condition. S3 refuses each before storing
    anything (`s3_integrity.put_refusal`, with the recorded answers)."""
    from moto.s3 import responses as s3_responses

    original = s3_responses.S3Response.put_object

    def put_object(self: Any) -> Any:
        refusal = s3_integrity.put_refusal(self.headers, self.body or b"")
        return refusal if refusal is not None else original(self)

    s3_responses.S3Response.put_object = put_object


def _patch_checksum_without_sdk_algorithm() -> None:
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


def _patch_keys_with_line_breaks() -> None:
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


def _patch_list_object_versions_url_encoding() -> None:
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


def wildcard_match(pattern: str, value: str) -> bool:
    """IAM's ARN and action wildcards: `*` any run of characters (line breaks too), `?` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _patch_iam_wildcards_match_any_character() -> None:
    """Gap: moto turns `*` into a regex `.*` without escaping the rest or DOTALL, so an
    object key with a line feed falls outside `arn:aws:s3:::bucket/*` (AccessDenied), and
    `.` in a bucket name matches any character."""
    from moto.iam import access_control

    access_control.IAMPolicyStatement._match = staticmethod(  # type: ignore[assignment]  # True for moto's Match: callers test truth
        lambda pattern, string: wildcard_match(pattern, string) or None)


class _RestApiTags:
    """Gap: moto's Resource Groups Tagging API does not list API Gateway REST APIs, which
    AWS's GetResources does (`apigateway:restapis`); the sweeper finds them there."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def iter_tagged_resources(self) -> Any:
        from moto.core.resource_tagging import TaggedResource

        for api in backends.iter_rest_apis(self.backend):
            arn = f"arn:aws:apigateway:{self.backend.region_name}::/restapis/{api.id}"
            yield TaggedResource(arn=arn, tags=dict(api.tags or {}), resource_type="apigateway:restapis")


def _patch_tagging_api_lists_rest_apis() -> None:
    from moto.resourcegroupstaggingapi import models as tagging_models

    original = tagging_models.iter_taggable_backends

    def iter_taggable_backends(account_id: str, region_name: str) -> Any:
        yield from original(account_id, region_name)
        backend = backends.rest_api_backend(account_id, region_name)
        if backend is not None:
            yield _RestApiTags(backend)

    tagging_models.iter_taggable_backends = iter_taggable_backends


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


def _patch_new_bucket_defaults() -> None:
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


def rest_api_policy_as_returned(policy: str) -> str:
    """A stored REST API policy as GetRestApi returns it: minified JSON whose quotes (and any
    backslash or control character) are escaped once more, the body of a JSON string. The
    provider reads it by wrapping it in quotes and unquoting (terraform-provider-aws,
    aws_api_gateway_rest_api_policy read: `NormalizeJsonString("\"" + policy + "\"")`), which
    fails on the raw, unescaped document moto returns. Whether AWS also escapes `/` as `\\/`
    is *unconfirmed*; the provider reads either."""
    try:
        minified = json.dumps(json.loads(policy), separators=(",", ":"))
    except ValueError:
        minified = policy
    return json.dumps(minified)[1:-1]


def _patch_rest_api_policy_shape() -> None:
    """Gap: moto returns `policy` as the raw document it was sent (with its line breaks);
    AWS returns it escaped (see rest_api_policy_as_returned) and provider 3.39 fails with
    "error normalizing API Gateway REST API policy JSON: invalid character '\\n' in string
    literal". The stored document stays raw (the data plane evaluates it)."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.RestAPI.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        result = original(self)
        if result.get("policy"):
            result["policy"] = rest_api_policy_as_returned(result["policy"])
        return result

    apigw_models.RestAPI.to_dict = to_dict


# What GetStage returns for a method setting the caller did not set, recorded against AWS
# in LocalStack's tests/aws/services/apigateway/test_apigateway_common.snapshot.json
# (test_update_stage_remove_wildcard / "update-stage": cacheDataEncrypted false,
# throttlingRateLimit 10000.0 when only the burst was set); the burst default is the
# account's 5,000 (quotas page, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
DEFAULT_METHOD_SETTINGS: dict[str, Any] = {
    "throttlingRateLimit": 10000.0,
    "throttlingBurstLimit": 5000,
    "cacheDataEncrypted": False,
    "cachingEnabled": False,
}


def _patch_method_settings_defaults() -> None:
    """Gap: moto fills a new method setting with its own defaults (rate 1000.0, burst 2000,
    cacheDataEncrypted true), so a stage read back shows limits nobody set."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.Stage._get_default_method_settings

    def _get_default_method_settings(self: Any) -> dict[str, Any]:
        return {**original(self), **DEFAULT_METHOD_SETTINGS}

    apigw_models.Stage._get_default_method_settings = _get_default_method_settings


def _patch_usage_plan_shape() -> None:
    """Gap: moto returns a usage plan's quota without `offset` and its throttle as sent (or
    `int()`-ed on update); AWS returns `quota.offset` (0 unless set), `throttle.rateLimit` as
    a number with a fraction and `burstLimit` as an integer, and `tags` as a map
    (test_apigateway_common.snapshot.json, TestUsagePlans::test_usage_plan_crud)."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.UsagePlan.to_json

    def to_json(self: Any) -> dict[str, Any]:
        result = original(self)
        if result.get("quota"):
            result["quota"] = {"offset": 0, **result["quota"]}
            result["quota"]["limit"] = int(result["quota"]["limit"])
            result["quota"]["offset"] = int(result["quota"]["offset"])
        throttle = result.get("throttle")
        if throttle:
            if throttle.get("rateLimit") is not None:
                throttle["rateLimit"] = float(throttle["rateLimit"])
            if throttle.get("burstLimit") is not None:
                throttle["burstLimit"] = int(throttle["burstLimit"])
        if not result.get("tags"):
            result["tags"] = {}
        return result

    apigw_models.UsagePlan.to_json = to_json


# --- API Gateway update operations (PATCH) ------------------------------------------------------
#
# moto 5.2.5 has no UpdateMethod, UpdateIntegration, UpdateIntegrationResponse, UpdateMethodResponse,
# UpdateResource, UpdateGatewayResponse or UpdateDeployment: it raised NotImplementedError, which
# the SDKs retried as a 500 for minutes. Each is added to moto's response class: the moto object is
# read into the document AWS answers, patched by patch_operations.py (AWS's rules and messages),
# and written back, so Get* reads what AWS reads and the next deployment snapshots it.

# moto attribute for each member of the document a Get* answers.
METHOD_MEMBERS = {
    "authorizationType": "authorization_type", "authorizerId": "authorizer_id",
    "authorizationScopes": "authorization_scopes", "apiKeyRequired": "api_key_required",
    "operationName": "operation_name", "requestParameters": "request_parameters",
    "requestModels": "request_models", "requestValidatorId": "request_validator_id",
}
INTEGRATION_MEMBERS = {
    "type": "integration_type", "uri": "uri", "httpMethod": "http_method", "credentials": "credentials",
    "passthroughBehavior": "passthrough_behaviour", "cacheKeyParameters": "cache_key_parameters",
    "cacheNamespace": "cache_namespace", "requestParameters": "request_parameters",
    "requestTemplates": "request_templates", "timeoutInMillis": "timeout_in_millis",
    "contentHandling": "content_handling", "connectionType": "connection_type", "tlsConfig": "tls_config",
    # moto has no attribute for these two: the local AWS keeps them (see _patch_integration_extra_members).
    "connectionId": "harness_connection_id", "integrationTarget": "harness_integration_target",
}
INTEGRATION_RESPONSE_MEMBERS = {
    "statusCode": "status_code", "selectionPattern": "selection_pattern", "contentHandling": "content_handling",
    "responseParameters": "response_parameters", "responseTemplates": "response_templates",
}
METHOD_RESPONSE_MEMBERS = {
    "statusCode": "status_code", "responseModels": "response_models", "responseParameters": "response_parameters",
}
RESOURCE_MEMBERS = {"parentId": "parent_id", "pathPart": "path_part"}
DEPLOYMENT_MEMBERS = {"description": "description"}


def _document(model: Any, members: dict[str, str]) -> dict[str, Any]:
    """A moto object as the AWS-shaped document patch_operations works on."""
    found = {name: copy.deepcopy(getattr(model, attribute, None)) for name, attribute in members.items()}
    return {name: value for name, value in found.items() if value is not None}


def _write_back(model: Any, members: dict[str, str], document: dict[str, Any]) -> None:
    for name, attribute in members.items():
        setattr(model, attribute, document.get(name))


def _answering_patch_errors(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A PatchError becomes AWS's JSON error answer (status, x-amzn-ErrorType, message)."""
    import functools

    from harness.localaws.patch_operations import PatchError

    @functools.wraps(handler)
    def answer(self: Any) -> Any:
        try:
            return handler(self)
        except PatchError as error:
            return self.error(error.code, error.message, error.status)

    return answer


def _path_parts(response: Any) -> list[str]:
    from urllib.parse import unquote

    return [unquote(part) for part in response.path.split("/")]


def _find_method(response: Any, api_id: str, resource_id: str, http_method: str) -> tuple[Any, Any, Any]:
    """(api, resource, method), or the NotFoundException AWS answers (recorded messages)."""
    from harness.localaws.patch_operations import not_found

    api = response.backend.apis.get(api_id)
    resource = api.resources.get(resource_id) if api is not None else None
    if resource is None:
        raise not_found("Invalid Resource identifier specified")
    method = resource.resource_methods.get(http_method)
    if method is None:
        raise not_found("Invalid Method identifier specified")
    return api, resource, method


def _patch_operations_of(response: Any) -> list[dict[str, Any]]:
    return list(response._get_param("patchOperations") or [])


def _update_method(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_METHOD, operations)
    api, _, method = _find_method(self, parts[2], parts[4], parts[6])
    patched = po.apply(po.UPDATE_METHOD, _document(method, METHOD_MEMBERS), operations)
    patched = po.check_method(patched, api.authorizers, api.request_validators)
    patched.setdefault("apiKeyRequired", False)
    _write_back(method, METHOD_MEMBERS, patched)
    return 200, {}, json.dumps(method.to_json())


def _update_integration(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_INTEGRATION, operations)
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    integration = method.method_integration
    if integration is None:
        raise po.not_found("Invalid Integration identifier specified")
    patched = po.apply(po.UPDATE_INTEGRATION, _document(integration, INTEGRATION_MEMBERS), operations)
    patched.setdefault("cacheKeyParameters", [])
    _write_back(integration, INTEGRATION_MEMBERS, patched)
    return 200, {}, json.dumps(integration.to_json())


def _update_integration_response(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_INTEGRATION_RESPONSE, operations, po.status_code_problem(parts[9]))
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    if method.method_integration is None:
        raise po.not_found("Invalid Integration identifier specified")
    found = (method.method_integration.integration_responses or {}).get(parts[9])
    if found is None:
        raise po.not_found("Invalid Response status code specified")
    patched = po.apply(po.UPDATE_INTEGRATION_RESPONSE, _document(found, INTEGRATION_RESPONSE_MEMBERS), operations)
    patched.setdefault("responseTemplates", {})
    _write_back(found, INTEGRATION_RESPONSE_MEMBERS, patched)
    return 200, {}, json.dumps(found.to_json())


def _update_method_response(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_METHOD_RESPONSE, operations, po.status_code_problem(parts[8]))
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    found = method.method_responses.get(parts[8])
    if found is None:
        raise po.not_found("Invalid Response status code specified")
    patched = po.apply(po.UPDATE_METHOD_RESPONSE, _document(found, METHOD_RESPONSE_MEMBERS), operations)
    _write_back(found, METHOD_RESPONSE_MEMBERS, patched)
    return 200, {}, json.dumps({k: v for k, v in found.to_json().items() if v is not None})


def _update_resource(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_RESOURCE, operations)
    api = self.backend.apis.get(parts[2])
    resource = api.resources.get(parts[4]) if api is not None else None
    if resource is None:
        raise po.not_found("Invalid Resource identifier specified")
    before = _document(resource, RESOURCE_MEMBERS)
    patched = po.apply(po.UPDATE_RESOURCE, before, operations)
    if patched != before:
        nodes = {r.id: po.ResourceNode(r.id, r.parent_id, r.path_part) for r in api.resources.values()}
        po.check_resource(nodes, resource.id, before, patched)
        _write_back(resource, RESOURCE_MEMBERS, patched)
    return 200, {}, json.dumps(resource.to_dict())


def _update_deployment(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = _path_parts(self)
    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_DEPLOYMENT, operations)
    api = self.backend.apis.get(parts[2])
    deployment = api.deployments.get(parts[4]) if api is not None else None
    if deployment is None:
        raise po.not_found("Invalid Deployment identifier specified")
    patched = po.apply(po.UPDATE_DEPLOYMENT, _document(deployment, DEPLOYMENT_MEMBERS), operations)
    patched.setdefault("description", "")
    _write_back(deployment, DEPLOYMENT_MEMBERS, patched)
    return 200, {}, json.dumps(deployment.to_json())


UPDATE_HANDLERS: dict[str, Callable[[Any], Any]] = {
    "update_method": _update_method,
    "update_integration": _update_integration,
    "update_integration_response": _update_integration_response,
    "update_method_response": _update_method_response,
    "update_resource": _update_resource,
    "update_deployment": _update_deployment,
}


def _patch_update_operations() -> None:
    from moto.apigateway import responses as apigw_responses

    for name, handler in UPDATE_HANDLERS.items():
        setattr(apigw_responses.APIGatewayResponse, name, _answering_patch_errors(handler))


def _patch_integration_extra_members() -> None:
    """Gap: moto's Integration has no connectionId or integrationTarget, which UpdateIntegration
    may set (Patch Operations table) and GetIntegration then returns."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.Integration.to_json

    def to_json(self: Any) -> dict[str, Any]:
        result = original(self)
        for name in ("connectionId", "integrationTarget"):
            value = getattr(self, INTEGRATION_MEMBERS[name], None)
            if value is not None:
                result[name] = value
        return result

    apigw_models.Integration.to_json = to_json


# --- gateway responses ---------------------------------------------------------------------------
#
# Every REST API answers every gateway response type: its default until PutGatewayResponse or
# UpdateGatewayResponse overrides it (`defaultResponse: false`), and the default again after
# DeleteGatewayResponse. Sources: API reference GatewayResponse
# (https://docs.aws.amazon.com/apigateway/latest/api/API_GatewayResponse.html), "Gateway response
# types" (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
# and AWS's answers recorded in LocalStack's test_apigateway_api.snapshot.json
# (TestApiGatewayGatewayResponse::test_gateway_response_crud, _put, _validation, test_update_gateway_response).

# Each type's default status, in the order AWS lists the types (its ValidationException, recorded);
# DEFAULT_4XX and DEFAULT_5XX have none.
GATEWAY_RESPONSE_DEFAULT_STATUS: dict[str, str | None] = {
    "REQUEST_TOO_LARGE": "413", "RESOURCE_NOT_FOUND": "404", "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "MISSING_AUTHENTICATION_TOKEN": "403", "BAD_REQUEST_BODY": "400", "INVALID_SIGNATURE": "403",
    "INVALID_API_KEY": "403", "BAD_REQUEST_PARAMETERS": "400", "AUTHORIZER_FAILURE": "500",
    "UNAUTHORIZED": "401", "INTEGRATION_TIMEOUT": "504", "ACCESS_DENIED": "403", "DEFAULT_4XX": None,
    "DEFAULT_5XX": None, "WAF_FILTERED": "403", "QUOTA_EXCEEDED": "429", "THROTTLED": "429",
    "API_CONFIGURATION_ERROR": "500", "UNSUPPORTED_MEDIA_TYPE": "415", "INTEGRATION_FAILURE": "504",
    "EXPIRED_TOKEN": "403",
}
GATEWAY_RESPONSE_DEFAULT_TEMPLATES = {"application/json": '{"message":$context.error.messageString}'}


def default_gateway_response(response_type: str) -> dict[str, Any]:
    """The type's own default, as GetGatewayResponse answers it on an untouched API (recorded)."""
    document: dict[str, Any] = {
        "responseType": response_type, "defaultResponse": True, "responseParameters": {},
        "responseTemplates": dict(GATEWAY_RESPONSE_DEFAULT_TEMPLATES),
    }
    status = GATEWAY_RESPONSE_DEFAULT_STATUS[response_type]
    if status is not None:
        document["statusCode"] = status
    return document


def effective_gateway_response(response_type: str, explicit: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What GetGatewayResponse answers: the override, or the default, which follows an overridden
    DEFAULT_5XX (recorded: status, parameters and templates, still `defaultResponse: true`) or
    DEFAULT_4XX ("Changing the status code of this fallback gateway response changes the status
    codes of all other 4XX responses", Gateway response types; its parameters and templates are
    taken along as for 5XX, which for 4XX is *unconfirmed*)."""
    if response_type in explicit:
        return explicit[response_type]
    document = default_gateway_response(response_type)
    status = document.get("statusCode")
    family = {"4": "DEFAULT_4XX", "5": "DEFAULT_5XX"}.get(status[0]) if status else None
    if family in explicit:
        for name in ("statusCode", "responseParameters", "responseTemplates"):
            if name in explicit[family]:
                document[name] = copy.deepcopy(explicit[family][name])
    return document


def _gateway_response_api(response: Any) -> tuple[Any, str]:
    """(api, response type) of a gateway-response call, or AWS's error (recorded messages)."""
    from harness.localaws.patch_operations import PatchError, not_found

    parts = _path_parts(response)
    api_id = parts[2]
    response_type = parts[4] if len(parts) > 4 else ""
    if response_type and response_type not in GATEWAY_RESPONSE_DEFAULT_STATUS:
        raise PatchError(400, "ValidationException", (
            f"1 validation error detected: Value '{response_type}' at 'responseType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(GATEWAY_RESPONSE_DEFAULT_STATUS)}]"))
    api = response.backend.apis.get(api_id)
    if api is None:
        raise not_found(f"Invalid API identifier specified {response.current_account}:{api_id}")
    return api, response_type


def _explicit_gateway_responses(api: Any) -> dict[str, dict[str, Any]]:
    return {name: stored.to_json() for name, stored in api.gateway_responses.items()}


def _store_gateway_response(api: Any, document: dict[str, Any]) -> Any:
    """Keep an override where moto keeps it (RestAPI.gateway_responses), every field filled."""
    from moto.apigateway.models import GatewayResponse

    # statusCode is a string ("403") or absent (DEFAULT_4XX/5XX), as moto's own handler passes it.
    stored = GatewayResponse(document["responseType"], document.get("statusCode"),  # type: ignore[arg-type]  # str|None: moto says int
                             document.get("responseParameters") or {}, document.get("responseTemplates") or {})
    api.gateway_responses[document["responseType"]] = stored
    return stored


def _get_gateway_response(self: Any) -> Any:
    api, response_type = _gateway_response_api(self)
    return 200, {}, json.dumps(effective_gateway_response(response_type, _explicit_gateway_responses(api)))


def _get_gateway_responses(self: Any) -> Any:
    api, _ = _gateway_response_api(self)
    explicit = _explicit_gateway_responses(api)
    items = [effective_gateway_response(name, explicit) for name in GATEWAY_RESPONSE_DEFAULT_STATUS]
    return 200, {}, json.dumps({"item": items})


def _delete_gateway_response(self: Any) -> Any:
    from harness.localaws.patch_operations import not_found

    api, response_type = _gateway_response_api(self)
    if response_type not in api.gateway_responses:
        raise not_found("Gateway response type not defined on api")
    del api.gateway_responses[response_type]
    return 202, {}, "{}"


def _put_gateway_response(self: Any) -> Any:
    """Fields left out of the request take the type's own default (recorded: a put of only
    responseParameters answers the type's status and the default template)."""
    api, response_type = _gateway_response_api(self)
    params = json.loads(self.body or "{}")
    document = default_gateway_response(response_type)
    document["defaultResponse"] = False
    for name in ("statusCode", "responseParameters", "responseTemplates"):
        if params.get(name) is not None:
            document[name] = params[name]
    stored = _store_gateway_response(api, document)
    return 201, {}, json.dumps(stored.to_json())


def _update_gateway_response(self: Any) -> Any:
    """An untouched type is patched from its own default and becomes an override (recorded)."""
    from harness.localaws import patch_operations as po

    operations = _patch_operations_of(self)
    po.validate_ops(po.UPDATE_GATEWAY_RESPONSE, operations)
    api, response_type = _gateway_response_api(self)
    current = api.gateway_responses.get(response_type)
    document = current.to_json() if current is not None else default_gateway_response(response_type)
    patched = po.apply(po.UPDATE_GATEWAY_RESPONSE, document, operations)
    patched["defaultResponse"] = False
    stored = _store_gateway_response(api, patched)
    return 200, {}, json.dumps(stored.to_json())


GATEWAY_RESPONSE_HANDLERS: dict[str, Callable[[Any], Any]] = {
    "get_gateway_response": _get_gateway_response,
    "get_gateway_responses": _get_gateway_responses,
    "delete_gateway_response": _delete_gateway_response,
    "put_gateway_response": _put_gateway_response,
    "update_gateway_response": _update_gateway_response,
}


def _patch_gateway_responses() -> None:
    """Gap: moto answers GetGatewayResponse on an untouched type with 404, lists only overrides,
    deletes silently what was never set, stores a put's missing fields as null, and has no
    UpdateGatewayResponse."""
    from moto.apigateway import responses as apigw_responses

    for name, handler in GATEWAY_RESPONSE_HANDLERS.items():
        setattr(apigw_responses.APIGatewayResponse, name, _answering_patch_errors(handler))


def _patch_stage_method_setting_removal() -> None:
    """Gap: moto ignores UpdateStage `remove /{resourcePath}/{httpMethod}` (what Terraform sends
    when aws_api_gateway_method_settings is destroyed), so the stage keeps throttling nobody set.
    AWS removes the setting, and refuses one that does not exist (recorded in
    test_apigateway_common.snapshot.json, TestStages::test_update_stage_remove_wildcard)."""
    from moto.apigateway import models as apigw_models
    from moto.apigateway.exceptions import BadRequestException

    original = apigw_models.Stage.apply_operations

    def apply_operations(self: Any, patch_operations: list[dict[str, Any]]) -> Any:
        remaining = []
        for op in patch_operations:
            parts = str(op.get("path", "")).split("/")
            if op.get("op") == "remove" and len(parts) == 3 and parts[1] and parts[2]:
                key = f"{parts[1]}/{parts[2]}"
                if key not in self.method_settings:
                    raise BadRequestException(f"Cannot remove method setting {key} because there is no method "
                                              "setting for this method ")
                del self.method_settings[key]
                continue
            remaining.append(op)
        return original(self, remaining)

    apigw_models.Stage.apply_operations = apply_operations


def _patch_usage_plan_rate_limit() -> None:
    """Gap: moto reads UpdateUsagePlan `/throttle/rateLimit` with int(), so a rate like "2.5"
    fails with a 500 and "2" loses nothing only by luck; AWS keeps a rate with a fraction
    (test_apigateway_common.snapshot.json, TestUsagePlans::test_usage_plan_crud)."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.UsagePlan.apply_patch_operations

    def apply_patch_operations(self: Any, patch_operations: list[dict[str, Any]]) -> None:
        remaining = []
        for op in patch_operations:
            if op.get("path") == "/throttle/rateLimit" and op.get("op") in ("add", "replace"):
                self.throttle["rateLimit"] = float(op["value"])
                continue
            remaining.append(op)
        original(self, remaining)

    apigw_models.UsagePlan.apply_patch_operations = apply_patch_operations


# The local AWS's account, in every region, starts with API Gateway's CloudWatch role set, as an
# account does once anyone has turned on API Gateway logging there: the e2e stack logs by
# default and never sets this account-wide role itself (terraform/stacks/e2e/variables.tf).
# A test clears it (UpdateAccount `replace /cloudwatchRoleArn ""`) to see a fresh account's
# refusal. The role is not created in IAM: the local AWS never assumes it (on AWS, API Gateway
# does, to write the lines).
ACCOUNT_CLOUDWATCH_ROLE_NAME = "localaws-apigateway-cloudwatch"
# What AWS answers UpdateStage when access log settings are set while the region's account has
# no CloudWatch role (400 BadRequestException; recorded by users in
# aws-solutions/virtual-waiting-room-on-aws#74 and anomalyco/sst#1556; the requirement itself:
# "Set up CloudWatch logging for REST APIs", Permissions for CloudWatch logging,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
MISSING_CLOUDWATCH_ROLE_MESSAGE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


def account_cloudwatch_role_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{ACCOUNT_CLOUDWATCH_ROLE_NAME}"


def _patch_account_cloudwatch_role() -> None:
    """Gaps: moto's API Gateway account has no CloudWatch role and accepts access log settings
    without one; AWS refuses them (MISSING_CLOUDWATCH_ROLE_MESSAGE). The local account starts
    with a role set (ACCOUNT_CLOUDWATCH_ROLE_NAME). CreateStage takes no access log settings
    (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html): only UpdateStage
    sets them, and removing them needs no role."""
    from moto.apigateway import models as apigw_models
    from moto.apigateway.exceptions import BadRequestException
    from moto.utilities.utils import get_partition

    original_init = apigw_models.APIGatewayBackend.__init__
    original_update = apigw_models.APIGatewayBackend.update_stage

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.account.cloudwatch_role_arn = account_cloudwatch_role_arn(get_partition(region_name), account_id)

    def update_stage(self: Any, function_id: str, stage_name: str, patch_operations: Any) -> Any:
        enables_logging = any(
            op.get("op") in ("add", "replace") and str(op.get("path", "")).startswith("/accessLogSettings")
            for op in patch_operations or [])
        if enables_logging and not self.account.cloudwatch_role_arn:
            raise BadRequestException(MISSING_CLOUDWATCH_ROLE_MESSAGE)
        return original_update(self, function_id, stage_name, patch_operations)

    apigw_models.APIGatewayBackend.__init__ = __init__
    apigw_models.APIGatewayBackend.update_stage = update_stage


@dataclass(frozen=True)
class Patch:
    """One correction: its name, the function applying it, and the moto names it touches."""

    name: str
    apply: Callable[[], None]
    touches: tuple[MotoName, ...]


_S3_RESPONSE = "moto.s3.responses"
_S3_MODELS = "moto.s3.models"
_APIGW_MODELS = "moto.apigateway.models"
_APIGW_RESPONSES = "moto.apigateway.responses"

PATCHES: list[Patch] = [
    Patch("new-bucket defaults", _patch_new_bucket_defaults, (
        MotoName(_S3_MODELS, "S3Backend.create_bucket"),
        MotoName(_S3_MODELS, "S3Backend.delete_bucket_encryption"),
        MotoName(_S3_MODELS, "S3Backend.get_bucket"),
        MotoName(_S3_MODELS, "PublicAccessBlock"),
    )),
    Patch("S3 key length limit", _patch_key_length_limit, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
        MotoName(_S3_RESPONSE, "S3Response.parse_key_name"),
        MotoName("moto.s3.exceptions", "S3ClientError"),
    )),
    Patch("S3 keys with line breaks", _patch_keys_with_line_breaks, (
        MotoName(_S3_MODELS, "S3Backend._url_module"),
    )),
    Patch("IAM wildcards", _patch_iam_wildcards_match_any_character, (
        MotoName("moto.iam.access_control", "IAMPolicyStatement._match", source_sha256="63ec83d5128c4050"),
    )),
    Patch("ListObjectVersions encoding-type=url", _patch_list_object_versions_url_encoding, (
        MotoName(_S3_RESPONSE, "S3Response.list_object_versions"),
    )),
    Patch("atomic conditional PUT", _patch_atomic_conditional_put, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
    )),
    Patch("S3 write checks", _patch_put_object_checks, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
        # setup_class sets `self.body` to the payload as stored (aws-chunked framing removed).
        MotoName(_S3_RESPONSE, "S3Response.setup_class"),
    )),
    Patch("checksum without SDK algorithm", _patch_checksum_without_sdk_algorithm, (
        MotoName(_S3_RESPONSE, "S3Response._get_checksum"),
    )),
    Patch("request condition keys", _patch_request_condition_keys, (
        MotoName(_S3_RESPONSE, "S3Response._key_response"),
    )),
    Patch("tagging API lists REST APIs", _patch_tagging_api_lists_rest_apis, (
        MotoName("moto.resourcegroupstaggingapi.models", "iter_taggable_backends"),
        MotoName("moto.core.resource_tagging", "TaggedResource"),
    )),
    Patch("service list read once", _patch_service_list_read_once, (
        MotoName("moto.backends", "list_of_moto_modules"),
        # It calls the function through the module at every request, so the patch reaches it.
        MotoName("moto.moto_server.werkzeug_app", "DomainDispatcherApplication.get_backend_for_host"),
    )),
    Patch("method names read once per class", _patch_method_names_read_once_per_class, (
        MotoName("moto.core.utils", "method_names_from_class"),
        # Imported by name there, and called with the response class on every action.
        MotoName("moto.core.responses", "method_names_from_class"),
        MotoName("moto.core.responses", "BaseResponse.call_action"),
    )),
    Patch("no unbounded instance tracking", _patch_no_instance_tracking, (
        MotoName("moto.core.common_models", "BaseModel.__new__", source_sha256="08cf0ef20e88029a"),
        MotoName("moto.core.model_instances", "reset_model_data"),
    )),
    Patch("object storage without extra copies", _patch_key_storage_without_copies, (
        # __init__ makes `_value_buffer` a SpooledTemporaryFile of `_max_buffer_size`.
        MotoName(_S3_MODELS, "FakeKey.__init__", source_sha256="cd9d1347667a9ccf"),
        MotoName(_S3_MODELS, "FakeKey.value.fset", source_sha256="519ac4d9ad6adcd8"),
        MotoName(_S3_MODELS, "FakeKey.etag", source_sha256="aa3062e82e089cb3"),
        MotoName(_S3_MODELS, "md5_hash"),
    )),
    Patch("bucket policy conditions", _patch_bucket_policy_conditions, (
        MotoName(_S3_MODELS, "FakeBucket.get_permission", source_sha256="7571412a3495a0e3"),
        MotoName("moto.iam.access_control", "IAMPolicyStatement.is_action_permitted"),
        MotoName("moto.iam.access_control", "PermissionResult"),
    )),
    Patch("CreateRestApi keeps binaryMediaTypes", _patch_create_rest_api_keeps_binary_media_types, (
        MotoName("moto.apigateway.responses", "APIGatewayResponse.create_rest_api"),
    )),
    Patch("binaryMediaTypes patch paths", _patch_binary_media_type_patch_paths, (
        MotoName(_APIGW_MODELS, "RestAPI.apply_patch_operations"),
    )),
    Patch("integration defaults", _patch_integration_defaults, (
        MotoName(_APIGW_MODELS, "Integration.__init__"),
    )),
    Patch("deployment snapshots", _patch_deployment_snapshots, (
        MotoName(_APIGW_MODELS, "APIGatewayBackend.create_deployment"),
    )),
    Patch("REST API policy as AWS returns it", _patch_rest_api_policy_shape, (
        MotoName(_APIGW_MODELS, "RestAPI.to_dict"),
    )),
    Patch("method settings defaults", _patch_method_settings_defaults, (
        MotoName(_APIGW_MODELS, "Stage._get_default_method_settings"),
    )),
    Patch("usage plan shape", _patch_usage_plan_shape, (
        MotoName(_APIGW_MODELS, "UsagePlan.to_json"),
    )),
    Patch("API Gateway update operations", _patch_update_operations, (
        *(MotoName(_APIGW_RESPONSES, f"APIGatewayResponse.{name}", absent=True) for name in UPDATE_HANDLERS),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse._get_param"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.error"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.backend"),
        MotoName(_APIGW_MODELS, "Method.to_json"),
        MotoName(_APIGW_MODELS, "Integration.to_json"),
        MotoName(_APIGW_MODELS, "IntegrationResponse.to_json"),
        MotoName(_APIGW_MODELS, "MethodResponse.to_json"),
        MotoName(_APIGW_MODELS, "Resource.to_dict"),
        MotoName(_APIGW_MODELS, "Deployment.to_json"),
    )),
    Patch("integration connectionId and integrationTarget", _patch_integration_extra_members, (
        MotoName(_APIGW_MODELS, "Integration.to_json"),
    )),
    Patch("gateway responses", _patch_gateway_responses, (
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.get_gateway_response", source_sha256="36d51a33bdf5ab2a"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.get_gateway_responses", source_sha256="4d39bef7b17c9f45"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.delete_gateway_response", source_sha256="311d05fe5354434d"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.put_gateway_response", source_sha256="5dbd1ae396c0915a"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.update_gateway_response", absent=True),
        MotoName(_APIGW_MODELS, "GatewayResponse.to_json"),
    )),
    Patch("stage method setting removal", _patch_stage_method_setting_removal, (
        MotoName(_APIGW_MODELS, "Stage.apply_operations"),
        MotoName("moto.apigateway.exceptions", "BadRequestException"),
    )),
    Patch("usage plan rate limit", _patch_usage_plan_rate_limit, (
        MotoName(_APIGW_MODELS, "UsagePlan.apply_patch_operations"),
    )),
    Patch("account CloudWatch role", _patch_account_cloudwatch_role, (
        MotoName(_APIGW_MODELS, "APIGatewayBackend.__init__"),
        MotoName(_APIGW_MODELS, "APIGatewayBackend.update_stage"),
        # Its `cloudwatch_role_arn`, which UpdateAccount sets and GetAccount returns.
        MotoName(_APIGW_MODELS, "Account.apply_patch_operations"),
        MotoName(_APIGW_MODELS, "Account.to_json"),
        MotoName("moto.apigateway.exceptions", "BadRequestException"),
        MotoName("moto.utilities.utils", "get_partition"),
    )),
    Patch("IAM for session credentials", _patch_enforce_iam_for_session_credentials, (
        MotoName("moto.core.authorization", "ActionAuthenticatorMixin._authenticate_and_authorize_action",
                 source_sha256="f8cfc0296ca017fa"),
    )),
]

# moto names read outside the patches: backends.py (moto's state) and server.py (moto's
# WSGI app).
READS: list[tuple[str, MotoName]] = [
    ("backends", MotoName(_APIGW_MODELS, "apigateway_backends")),
    ("backends", MotoName("moto.iam.models", "iam_backends")),
    ("backends", MotoName("moto.sts.models", "sts_backends")),
    ("backends", MotoName("moto.moto_api._internal.models", "moto_api_backend")),
    ("backends", MotoName("moto.core", "DEFAULT_ACCOUNT_ID")),
    ("backends", MotoName("moto.iam.access_control", "create_access_key")),
    ("backends", MotoName("moto.iam.access_control", "CreateAccessKeyFailure")),
    ("backends", MotoName("moto.iam.access_control", "IAMPolicy")),
    ("backends", MotoName(_APIGW_MODELS, "APIGatewayBackend")),
    ("backends", MotoName("moto.logs.models", "logs_backends")),
    ("backends", MotoName("moto.logs.models", "LogGroup.create_log_stream")),
    ("backends", MotoName("moto.logs.models", "LogStream.put_log_events")),
    ("server", MotoName("moto.moto_server.werkzeug_app", "DomainDispatcherApplication")),
    ("server", MotoName("moto.moto_server.werkzeug_app", "create_backend_app")),
]


def moto_uses() -> list[tuple[str, MotoName]]:
    """Every moto name the local AWS relies on, with who relies on it."""
    return [(patch.name, name) for patch in PATCHES for name in patch.touches] + READS


def install() -> None:
    """Check the moto boundary, then apply every patch once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        moto_boundary.ensure(moto_uses())
        for patch in PATCHES:
            patch.apply()
        _installed = True
