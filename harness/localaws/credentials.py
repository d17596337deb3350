"""The integration's credentials: API Gateway assumes the role (STS) and signs as it (SigV4).

API Gateway may assume the integration's `credentials` role only if the role's trust
policy lets `apigateway.amazonaws.com` call sts:AssumeRole
(https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html); it then
signs the S3 call with SigV4 as that role, and S3 evaluates the role's policies
(controlplane/iam.py enforces IAM for such session credentials). A missing or unassumable
role: 500. Sessions are cached until shortly before they expire, as a service would.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.localaws import backends
from harness.localaws.gateway_responses import GatewayResponse, internal_error

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
ROLE_SESSION_NAME = "apigateway"
ROLE_SESSION_SECONDS = 3600
ROLE_REFRESH_MARGIN_SECONDS = 300


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusts_service(trust_policy: str | dict[str, Any], service: str) -> bool:
    """Does a role trust policy let `service` call sts:AssumeRole (explicit Deny wins)?"""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    allowed = False
    for statement in _as_list(document.get("Statement", [])):
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if principal != "*" and service not in services:
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


@dataclass
class _CachedSession:
    credentials: Credentials
    expires_at: float


class RoleSessions:
    """Assumed-role sessions of API Gateway, one per (account, role)."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], _CachedSession] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._sessions.clear()

    def credentials_for(self, role_arn: str | None, account_id: str) -> Credentials | GatewayResponse:
        if not role_arn:
            return internal_error("the integration has no credentials role")
        cache_key = (account_id, role_arn)
        with self._lock:
            cached = self._sessions.get(cache_key)
        if cached and cached.expires_at - ROLE_REFRESH_MARGIN_SECONDS > time.time():
            return cached.credentials
        try:
            trust_policy = backends.role_trust_policy(account_id, role_arn)
        except backends.RoleNotFoundError:
            return internal_error(f"Execution role {role_arn} does not exist")
        if not trusts_service(trust_policy, API_GATEWAY_PRINCIPAL):
            return internal_error(f"API Gateway is not trusted to assume {role_arn}")
        session = backends.assume_role(account_id, role_arn, ROLE_SESSION_NAME, ROLE_SESSION_SECONDS)
        credentials = Credentials(session.access_key_id, session.secret_access_key, session.session_token)
        with self._lock:
            self._sessions[cache_key] = _CachedSession(credentials, time.time() + ROLE_SESSION_SECONDS)
        return credentials


def sign_s3_request(request: AWSRequest, credentials: Credentials, region: str) -> None:
    """SigV4 for S3. The body is not hashed (`UNSIGNED-PAYLOAD`, which S3 accepts), so a
    10 MB upload is not read twice."""
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
