"""Every read or reset of moto's in-memory state (its "backends"), in one place.

The data plane and the control-plane patches ask here for what moto holds (REST APIs
and their deployments, IAM roles, STS sessions) and never import moto's backend
dictionaries themselves, so a moto change in how state is kept has one place to land.
Import moto lazily: moto reads environment variables at import time, which
`server._prepare_environment` sets first.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# IAM and STS are global services; moto keys their backends by partition, not region.
GLOBAL_SERVICE_KEY = "aws"
# moto signs every AssumeRole as issued in us-east-1 (STS's global endpoint).
STS_REGION = "us-east-1"


class RoleNotFoundError(LookupError):
    """The integration's role ARN names no IAM role."""


@dataclass(frozen=True)
class SessionCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


def default_account_id() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return str(DEFAULT_ACCOUNT_ID)


def take_snapshot(api: Any) -> dict[str, Any]:
    """A deep, plain copy of everything the data plane reads from a moto REST API."""
    resources = [resource.to_dict() for resource in api.resources.values()]
    return copy.deepcopy(
        {
            "binaryMediaTypes": list(api.binaryMediaTypes or []),
            "resources": resources,
            "region": api.region_name,
            "accountId": api.account_id,
            # A resource policy takes effect with the next deployment (authorization.py).
            "policy": api.policy,
            "gatewayResponses": put_gateway_responses(api),
        }
    )


def put_gateway_responses(api: Any) -> dict[str, dict[str, Any]]:
    """The gateway responses put on a moto REST API (type -> statusCode, responseParameters,
    responseTemplates); a type's default, which moto may also hold, is left out."""
    return {
        response_type: {
            "statusCode": response.status_code,
            "responseParameters": dict(response.response_parameters or {}),
            "responseTemplates": dict(response.response_templates or {}),
        }
        for response_type, response in dict(getattr(api, "gateway_responses", {}) or {}).items()
        if not getattr(response, "default_response", False)
    }


def deployed_snapshot(api_id: str, stage_name: str) -> dict[str, Any] | None:
    """What the stage serves: the snapshot its deployment took, or None (no such API,
    stage or deployment)."""
    from moto.apigateway.models import apigateway_backends

    for _, backend in apigateway_backends[default_account_id()].items():
        api = backend.apis.get(api_id)
        if api is None:
            continue
        stage = api.stages.get(stage_name)
        if stage is None or not stage.deployment_id:
            return None
        deployment = api.deployments.get(stage.deployment_id)
        if deployment is None:
            return None
        snapshot = getattr(deployment, "harness_snapshot", None)
        if snapshot is None:  # deployed before the patches were installed
            snapshot = deployment.harness_snapshot = take_snapshot(api)  # type: ignore[attr-defined]  # ours, kept on moto's object
        return snapshot
    return None


def rest_api_backend(account_id: str, region_name: str) -> Any | None:
    """moto's API Gateway backend for an account and region, if it was ever used."""
    from moto.apigateway.models import apigateway_backends

    if account_id not in apigateway_backends:
        return None
    return apigateway_backends[account_id][region_name]


def iter_rest_apis(backend: Any) -> Iterator[Any]:
    yield from list(backend.apis.values())


def role_trust_policy(account_id: str, role_arn: str) -> str | dict[str, Any]:
    """The role's trust (assume-role) policy document; RoleNotFoundError if none."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account_id][GLOBAL_SERVICE_KEY].get_role_by_arn(role_arn)
    except Exception as exc:  # moto raises its own NotFoundException
        raise RoleNotFoundError(role_arn) from exc
    return role.assume_role_policy_document


def assume_role(account_id: str, role_arn: str, session_name: str, duration_seconds: int) -> SessionCredentials:
    """STS AssumeRole as a service principal would call it; the keys moto issues (ASIA...)."""
    from moto.sts.models import sts_backends

    assumed = sts_backends[account_id][GLOBAL_SERVICE_KEY].assume_role(
        region_name=STS_REGION,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # moto annotates str; its own AssumeRole handler passes None
        duration=duration_seconds,
        external_id=None,  # type: ignore[arg-type]  # moto annotates str; its own AssumeRole handler passes None
    )
    return SessionCredentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)


def session_access_key_ids(account_id: str) -> set[str]:
    """Access key ids of every live STS session in the account."""
    from moto.sts.models import sts_backends

    backend = sts_backends[account_id][GLOBAL_SERVICE_KEY]
    return {role.access_key_id for role in backend.assumed_roles}


@dataclass(frozen=True)
class ApiKeyView:
    id: str
    value: str
    enabled: bool


@dataclass(frozen=True)
class UsagePlanView:
    """A usage plan bound to a stage: its throttle, quota and keys (plain values)."""

    id: str
    throttle: dict[str, Any]
    quota: dict[str, Any]
    keys: tuple[ApiKeyView, ...]


def usage_plans_for_stage(account_id: str, region: str, api_id: str, stage: str) -> list[UsagePlanView]:
    """Usage plans whose apiStages name this API's stage, with their keys as they are now."""
    backend = rest_api_backend(account_id, region)
    if backend is None:
        return []
    found = []
    for plan in list(backend.usage_plans.values()):
        if not any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.api_stages):
            continue
        keys = []
        for plan_key in list(backend.usage_plan_keys.get(plan.id, {}).values()):
            api_key = backend.keys.get(plan_key.id)
            if api_key is not None:
                keys.append(ApiKeyView(api_key.id, api_key.value, bool(api_key.enabled)))
        found.append(UsagePlanView(plan.id, dict(plan.throttle or {}), dict(plan.quota or {}), tuple(keys)))
    return found


def stage_method_settings(account_id: str, region: str, api_id: str, stage: str) -> dict[str, Any]:
    """The stage's methodSettings (`*/*`, `~1res~1{x}/PUT`, ...) as they are now."""
    backend = rest_api_backend(account_id, region)
    api = backend.apis.get(api_id) if backend is not None else None
    found = api.stages.get(stage) if api is not None else None
    return copy.deepcopy(found.method_settings) if found is not None else {}


def stage_access_log_settings(account_id: str, region: str, api_id: str, stage: str) -> dict[str, str] | None:
    """The stage's accessLogSettings (destinationArn, format) as they are now, or None."""
    backend = rest_api_backend(account_id, region)
    api = backend.apis.get(api_id) if backend is not None else None
    found = api.stages.get(stage) if api is not None else None
    settings = getattr(found, "access_log_settings", None) if found is not None else None
    return dict(settings) if settings else None


def append_log_event(account_id: str, region: str, group_name: str, stream_name: str, timestamp_ms: int,
                     message: str) -> bool:
    """Append one event to a CloudWatch Logs stream (created when missing); False if the
    group does not exist."""
    from moto.logs.models import logs_backends

    group = logs_backends[account_id][region].groups.get(group_name)
    if group is None:
        return False
    if stream_name not in group.streams:
        group.create_log_stream(stream_name)
    group.streams[stream_name].put_log_events([{"timestamp": timestamp_ms, "message": message}])
    return True


@dataclass(frozen=True)
class Caller:
    """Who signed a request: an IAM user or an STS session, or an account administrator."""

    arn: str
    secret_access_key: str | None  # None: not known here (static keys), the signature is not checked
    policies: tuple[Any, ...] = ()
    administrator: bool = False

    def is_invoke_permitted(self, resource: str) -> str:
        """"allow", "deny" or "neutral" for execute-api:Invoke on `resource` (moto's IAM evaluation)."""
        if self.administrator:
            return "allow"
        from moto.iam.access_control import IAMPolicy, PermissionResult

        verdict = "neutral"
        for policy in self.policies:
            result = IAMPolicy(policy).is_action_permitted("execute-api:Invoke", resource)
            if result == PermissionResult.DENIED:
                return "deny"
            if result == PermissionResult.PERMITTED:
                verdict = "allow"
        return verdict


def caller_identity(account_id: str, access_key_id: str, session_token: str | None) -> Caller | None:
    """The principal behind an access key id; None for a key AWS would not know.

    IAM users' keys (AKIA...) and live STS sessions (ASIA...) are looked up in moto's IAM and STS
    state; any other key id is one of the local AWS's static keys, which act as the account
    administrator (`root`).
    """
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

    headers = {"X-Amz-Security-Token": session_token} if session_token else {}
    try:
        key = create_access_key(account_id, GLOBAL_SERVICE_KEY, access_key_id, headers)
        credentials = key.create_credentials()
        return Caller(key.arn, credentials.secret_key, tuple(key.collect_policies()))
    except CreateAccessKeyFailure:
        pass
    except Exception:  # an ASIA key moto issued no session for
        return None
    if access_key_id.startswith(("AKIA", "ASIA")):
        return None
    return Caller(f"arn:aws:iam::{account_id}:root", None, administrator=True)


def reset() -> None:
    """Forget every AWS resource (moto's own reset)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
