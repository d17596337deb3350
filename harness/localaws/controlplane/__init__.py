"""The patches the local AWS makes to moto, and their registry: corrections to moto's
control planes, so they read back what AWS reads back, and measured speed-ups.

Each gap was found by a round-trip test (create, read back, compare with what AWS
returns; see tests/localaws/test_conformance.py, test_bucket_defaults.py and
test_hostile_requests.py). Every patch is listed in `PATCHES` with the gap it closes and
the moto names it touches; `install()` checks those names against the pinned moto
(`moto_boundary.py`) and then applies the patches once per process, in the order listed
(patches of one moto method wrap each other in that order). Patches wrap moto's
method and adjust only what the gap needs, so an upstream fix still runs; the few that
replace or re-implement moto code carry the pinned source digest, so a moto upgrade
that changes that code stops the local AWS instead of being silently overridden.

The patches themselves, one module per concern:
- `apigateway.py`: corrections to API Gateway's control plane, deployment snapshots;
- `apigateway_updates.py`: the Update* operations (PATCH) moto lacks;
- `gateway_response_defaults.py`: every gateway response type's default, and
  UpdateGatewayResponse;
- `s3.py`: corrections to S3 (bucket defaults, keys, conditional and checked writes,
  checksums, bucket-policy conditions and condition keys);
- `iam.py`: IAM wildcards, and IAM enforcement for session credentials;
- `account.py`: API Gateway's account CloudWatch role;
- `speedups.py`: speed-ups and memory savings, measured; not corrections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from harness.localaws import moto_boundary
from harness.localaws.controlplane import (
    account,
    apigateway,
    apigateway_updates,
    gateway_response_defaults,
    iam,
    s3,
    speedups,
)
from harness.localaws.moto_boundary import MotoName

_installed = False
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Patch:
    """One patch to moto: its name, the function applying it, and the moto names it touches."""

    name: str
    apply: Callable[[], None]
    touches: tuple[MotoName, ...]


_S3_RESPONSE = "moto.s3.responses"
_S3_MODELS = "moto.s3.models"
_APIGW_MODELS = "moto.apigateway.models"
_APIGW_RESPONSES = "moto.apigateway.responses"

PATCHES: list[Patch] = [
    Patch("new-bucket defaults", s3.patch_new_bucket_defaults, (
        MotoName(_S3_MODELS, "S3Backend.create_bucket"),
        MotoName(_S3_MODELS, "S3Backend.delete_bucket_encryption"),
        MotoName(_S3_MODELS, "S3Backend.get_bucket"),
        MotoName(_S3_MODELS, "PublicAccessBlock"),
    )),
    Patch("S3 key length limit", s3.patch_key_length_limit, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
        MotoName(_S3_RESPONSE, "S3Response.parse_key_name"),
        MotoName("moto.s3.exceptions", "S3ClientError"),
    )),
    Patch("S3 keys with line breaks", s3.patch_keys_with_line_breaks, (
        MotoName(_S3_MODELS, "S3Backend._url_module"),
    )),
    Patch("IAM wildcards", iam.patch_iam_wildcards_match_any_character, (
        MotoName("moto.iam.access_control", "IAMPolicyStatement._match", source_sha256="63ec83d5128c4050"),
    )),
    Patch("ListObjectVersions encoding-type=url", s3.patch_list_object_versions_url_encoding, (
        MotoName(_S3_RESPONSE, "S3Response.list_object_versions"),
    )),
    Patch("atomic conditional PUT", s3.patch_atomic_conditional_put, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
    )),
    Patch("S3 write checks", s3.patch_put_object_checks, (
        MotoName(_S3_RESPONSE, "S3Response.put_object"),
        # setup_class sets `self.body` to the payload as stored (aws-chunked framing removed).
        MotoName(_S3_RESPONSE, "S3Response.setup_class"),
    )),
    Patch("checksum without SDK algorithm", s3.patch_checksum_without_sdk_algorithm, (
        MotoName(_S3_RESPONSE, "S3Response._get_checksum"),
    )),
    Patch("request condition keys", s3.patch_request_condition_keys, (
        MotoName(_S3_RESPONSE, "S3Response._key_response"),
    )),
    Patch("tagging API lists REST APIs", apigateway.patch_tagging_api_lists_rest_apis, (
        MotoName("moto.resourcegroupstaggingapi.models", "iter_taggable_backends"),
        MotoName("moto.core.resource_tagging", "TaggedResource"),
    )),
    Patch("service list read once", speedups.patch_service_list_read_once, (
        MotoName("moto.backends", "list_of_moto_modules"),
        # It calls the function through the module at every request, so the patch reaches it.
        MotoName("moto.moto_server.werkzeug_app", "DomainDispatcherApplication.get_backend_for_host"),
    )),
    Patch("method names read once per class", speedups.patch_method_names_read_once_per_class, (
        MotoName("moto.core.utils", "method_names_from_class"),
        # Imported by name there, and called with the response class on every action.
        MotoName("moto.core.responses", "method_names_from_class"),
        MotoName("moto.core.responses", "BaseResponse.call_action"),
    )),
    Patch("no unbounded instance tracking", speedups.patch_no_instance_tracking, (
        MotoName("moto.core.common_models", "BaseModel.__new__", source_sha256="08cf0ef20e88029a"),
        MotoName("moto.core.model_instances", "reset_model_data"),
    )),
    Patch("object storage without extra copies", speedups.patch_key_storage_without_copies, (
        # __init__ makes `_value_buffer` a SpooledTemporaryFile of `_max_buffer_size`.
        MotoName(_S3_MODELS, "FakeKey.__init__", source_sha256="cd9d1347667a9ccf"),
        MotoName(_S3_MODELS, "FakeKey.value.fset", source_sha256="519ac4d9ad6adcd8"),
        MotoName(_S3_MODELS, "FakeKey.etag", source_sha256="aa3062e82e089cb3"),
        MotoName(_S3_MODELS, "md5_hash"),
    )),
    Patch("bucket policy conditions", s3.patch_bucket_policy_conditions, (
        MotoName(_S3_MODELS, "FakeBucket.get_permission", source_sha256="7571412a3495a0e3"),
        MotoName("moto.iam.access_control", "IAMPolicyStatement.is_action_permitted"),
        MotoName("moto.iam.access_control", "PermissionResult"),
    )),
    Patch("CreateRestApi keeps binaryMediaTypes", apigateway.patch_create_rest_api_keeps_binary_media_types, (
        MotoName("moto.apigateway.responses", "APIGatewayResponse.create_rest_api"),
    )),
    Patch("binaryMediaTypes patch paths", apigateway.patch_binary_media_type_patch_paths, (
        MotoName(_APIGW_MODELS, "RestAPI.apply_patch_operations"),
    )),
    Patch("integration defaults", apigateway.patch_integration_defaults, (
        MotoName(_APIGW_MODELS, "Integration.__init__"),
    )),
    Patch("deployment snapshots", apigateway.patch_deployment_snapshots, (
        MotoName(_APIGW_MODELS, "APIGatewayBackend.create_deployment"),
    )),
    Patch("REST API policy as AWS returns it", apigateway.patch_rest_api_policy_shape, (
        MotoName(_APIGW_MODELS, "RestAPI.to_dict"),
    )),
    Patch("method settings defaults", apigateway.patch_method_settings_defaults, (
        MotoName(_APIGW_MODELS, "Stage._get_default_method_settings"),
    )),
    Patch("usage plan shape", apigateway.patch_usage_plan_shape, (
        MotoName(_APIGW_MODELS, "UsagePlan.to_json"),
    )),
    Patch("API Gateway update operations", apigateway_updates.patch_update_operations, (
        *(MotoName(_APIGW_RESPONSES, f"APIGatewayResponse.{name}", absent=True)
          for name in apigateway_updates.UPDATE_HANDLERS),
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
    Patch("integration connectionId and integrationTarget", apigateway_updates.patch_integration_extra_members, (
        MotoName(_APIGW_MODELS, "Integration.to_json"),
    )),
    Patch("gateway responses", gateway_response_defaults.patch_gateway_responses, (
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.get_gateway_response", source_sha256="36d51a33bdf5ab2a"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.get_gateway_responses", source_sha256="4d39bef7b17c9f45"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.delete_gateway_response", source_sha256="311d05fe5354434d"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.put_gateway_response", source_sha256="5dbd1ae396c0915a"),
        MotoName(_APIGW_RESPONSES, "APIGatewayResponse.update_gateway_response", absent=True),
        MotoName(_APIGW_MODELS, "GatewayResponse.to_json"),
    )),
    Patch("stage method setting removal", apigateway.patch_stage_method_setting_removal, (
        MotoName(_APIGW_MODELS, "Stage.apply_operations"),
        MotoName("moto.apigateway.exceptions", "BadRequestException"),
    )),
    Patch("usage plan rate limit", apigateway.patch_usage_plan_rate_limit, (
        MotoName(_APIGW_MODELS, "UsagePlan.apply_patch_operations"),
    )),
    Patch("account CloudWatch role", account.patch_account_cloudwatch_role, (
        MotoName(_APIGW_MODELS, "APIGatewayBackend.__init__"),
        MotoName(_APIGW_MODELS, "APIGatewayBackend.update_stage"),
        # Its `cloudwatch_role_arn`, which UpdateAccount sets and GetAccount returns.
        MotoName(_APIGW_MODELS, "Account.apply_patch_operations"),
        MotoName(_APIGW_MODELS, "Account.to_json"),
        MotoName("moto.apigateway.exceptions", "BadRequestException"),
        MotoName("moto.utilities.utils", "get_partition"),
    )),
    Patch("IAM for session credentials", iam.patch_enforce_iam_for_session_credentials, (
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
