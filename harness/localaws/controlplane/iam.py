"""Corrections to moto's IAM checks: policy wildcards that match any character (line
breaks too), and IAM enforcement for session credentials: requests signed with credentials
that STS issued for an assumed role are authenticated (SigV4) and authorised against the
role's policies, so a role without s3:PutObject gets S3's AccessDenied as on AWS. Static keys
(the harness's `test`/`test`) act as an account administrator and are not checked.
Registered in `controlplane.PATCHES`.
"""

from __future__ import annotations

import re
from typing import Any

from harness.localaws import backends


def _credential_access_key(headers: Any) -> str | None:
    auth = headers.get("Authorization") or ""
    if "Credential=" not in auth:
        return None
    return auth.split("Credential=", 1)[1].split("/", 1)[0]


def patch_enforce_iam_for_session_credentials() -> None:
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


def wildcard_match(pattern: str, value: str) -> bool:
    """IAM's ARN and action wildcards: `*` any run of characters (line breaks too), `?` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def patch_iam_wildcards_match_any_character() -> None:
    """Gap: moto turns `*` into a regex `.*` without escaping the rest or DOTALL, so an
    object key with a line feed falls outside `arn:aws:s3:::bucket/*` (AccessDenied), and
    `.` in a bucket name matches any character."""
    from moto.iam import access_control

    access_control.IAMPolicyStatement._match = staticmethod(  # type: ignore[assignment]  # True for moto's Match: callers test truth
        lambda pattern, string: wildcard_match(pattern, string) or None)
