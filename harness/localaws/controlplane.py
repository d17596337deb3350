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

from harness.localaws import backends, moto_boundary
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
        deployment.harness_snapshot = backends.take_snapshot(self.get_rest_api(function_id))
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


def conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM condition block against a context; unknown operators or keys do not hold.

    Supports Bool, StringEquals, StringNotEquals and StringLike (what bucket policies of
    this project use); anything else makes the statement not apply, and says so here.
    """
    for operator, clauses in conditions.items():
        for key, expected in clauses.items():
            values = [str(v).lower() if operator == "Bool" else str(v)
                      for v in (expected if isinstance(expected, list) else [expected])]
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
        for statement in statements:
            condition = statement.get("Condition")
            if condition and not conditions_hold(condition, REQUEST_CONDITION_CONTEXT):
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

    common_models.BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign]
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

    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]


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

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]


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

    key_class = s3_models.FakeKey
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
        code = 400

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


def _patch_keys_with_line_breaks() -> None:
    """Gap: moto routes S3 object URLs with `.+`, which stops at a line feed, so a key with
    LF gets a routing 404; S3 stores any UTF-8 key, control characters included."""
    from moto.s3 import models as s3_models

    original = s3_models.S3Backend._url_module.fget

    def url_module(self: Any) -> Any:
        module = original(self)  # moto reloads moto.s3.urls here, so fix it each time
        for pattern in list(module.url_paths):
            # A class, not a scoped flag: moto turns these into werkzeug rules by cutting at ")".
            fixed = pattern.replace("(?P<key_name>.+)", r"(?P<key_name>[\s\S]+)").replace(
                "(?P<key_name>/.*)", r"(?P<key_name>/[\s\S]*)")
            if fixed != pattern:
                module.url_paths[fixed] = module.url_paths.pop(pattern)
        return module

    s3_models.S3Backend._url_module = property(url_module)


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

    access_control.IAMPolicyStatement._match = staticmethod(  # type: ignore[method-assign]
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
            bucket.ownership_rule = DEFAULT_OBJECT_OWNERSHIP
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
        return result  # type: ignore[no-any-return]

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
        return result  # type: ignore[no-any-return]

    apigw_models.UsagePlan.to_json = to_json


@dataclass(frozen=True)
class Patch:
    """One correction: its name, the function applying it, and the moto names it touches."""

    name: str
    apply: Callable[[], None]
    touches: tuple[MotoName, ...]


_S3_RESPONSE = "moto.s3.responses"
_S3_MODELS = "moto.s3.models"
_APIGW_MODELS = "moto.apigateway.models"

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
