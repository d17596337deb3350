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
        }
    )


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
            snapshot = deployment.harness_snapshot = take_snapshot(api)
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
    return role.assume_role_policy_document  # type: ignore[no-any-return]


def assume_role(account_id: str, role_arn: str, session_name: str, duration_seconds: int) -> SessionCredentials:
    """STS AssumeRole as a service principal would call it; the keys moto issues (ASIA...)."""
    from moto.sts.models import sts_backends

    assumed = sts_backends[account_id][GLOBAL_SERVICE_KEY].assume_role(
        region_name=STS_REGION,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=duration_seconds,
        external_id=None,
    )
    return SessionCredentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)


def session_access_key_ids(account_id: str) -> set[str]:
    """Access key ids of every live STS session in the account."""
    from moto.sts.models import sts_backends

    backend = sts_backends[account_id][GLOBAL_SERVICE_KEY]
    return {role.access_key_id for role in backend.assumed_roles}


def reset() -> None:
    """Forget every AWS resource (moto's own reset)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
