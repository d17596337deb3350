"""Corrections to moto's API Gateway control plane, so it reads back what AWS reads back.

Lost `binaryMediaTypes` (CreateRestApi, UpdateRestApi's escaped paths), PutIntegration's
defaults, the REST API policy as GetRestApi returns it, method settings' defaults, the usage
plan's shape and rate limit, UpdateStage removing a method setting, and REST APIs in the
Resource Groups Tagging API. Also deployment snapshots: a stage serves the API as it was when
its deployment was created ("A stage serves the deployment it points to; changes take effect
only after a new deployment",
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html).
Registered, with the moto names each touches, in `controlplane.PATCHES`.
"""

from __future__ import annotations

import json
from typing import Any

from harness.localaws import backends

# AWS's defaults for fields moto leaves empty (PutIntegration reference:
# https://docs.aws.amazon.com/apigateway/latest/api/API_PutIntegration.html).
DEFAULT_PASSTHROUGH_BEHAVIOR = "WHEN_NO_MATCH"
DEFAULT_TIMEOUT_IN_MILLIS = 29000


def _decode_patch_path_item(path: str, prefix: str) -> str:
    """`/binaryMediaTypes/image~1png` -> `image/png` (JSON Pointer escaping, RFC 6901)."""
    return path[len(prefix) :].replace("~1", "/").replace("~0", "~")


def patch_create_rest_api_keeps_binary_media_types() -> None:
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


def patch_binary_media_type_patch_paths() -> None:
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


def patch_integration_defaults() -> None:
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


def patch_deployment_snapshots() -> None:
    """Record what a deployment serves, at the moment it is created."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.APIGatewayBackend.create_deployment

    def create_deployment(self: Any, function_id: str, *args: Any, **kwargs: Any) -> Any:
        deployment = original(self, function_id, *args, **kwargs)
        deployment.harness_snapshot = backends.take_snapshot(self.get_rest_api(function_id))  # type: ignore[attr-defined]  # ours, kept on moto's object
        return deployment

    apigw_models.APIGatewayBackend.create_deployment = create_deployment


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


def patch_tagging_api_lists_rest_apis() -> None:
    from moto.resourcegroupstaggingapi import models as tagging_models

    original = tagging_models.iter_taggable_backends

    def iter_taggable_backends(account_id: str, region_name: str) -> Any:
        yield from original(account_id, region_name)
        backend = backends.rest_api_backend(account_id, region_name)
        if backend is not None:
            yield _RestApiTags(backend)

    tagging_models.iter_taggable_backends = iter_taggable_backends


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


def patch_rest_api_policy_shape() -> None:
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


def patch_method_settings_defaults() -> None:
    """Gap: moto fills a new method setting with its own defaults (rate 1000.0, burst 2000,
    cacheDataEncrypted true), so a stage read back shows limits nobody set."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.Stage._get_default_method_settings

    def _get_default_method_settings(self: Any) -> dict[str, Any]:
        return {**original(self), **DEFAULT_METHOD_SETTINGS}

    apigw_models.Stage._get_default_method_settings = _get_default_method_settings


def patch_usage_plan_shape() -> None:
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


def patch_stage_method_setting_removal() -> None:
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


def patch_usage_plan_rate_limit() -> None:
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
