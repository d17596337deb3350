"""The deployed stack as the checks see it: Terraform's outputs and the URL to invoke.

The run lifecycle builds it from a workspace's outputs (harness/lifecycle/workspace.py); the
upload client and the checks read it. Sensitive outputs (the API key) are never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StackOutputs:
    """The deployed stack as the checks see it."""

    values: dict[str, Any]
    invoke_url: str
    sensitive: frozenset[str] = frozenset()  # outputs Terraform marks sensitive: never printed

    @property
    def bucket_name(self) -> str:
        return str(self.values["bucket_name"])

    @property
    def rest_api_id(self) -> str:
        return str(self.values["rest_api_id"])

    @property
    def stage_name(self) -> str:
        return str(self.values["stage_name"])

    @property
    def role_arn(self) -> str:
        return str(self.values["role_arn"])

    @property
    def region(self) -> str:
        return str(self.values["region"])

    @property
    def authorization(self) -> str:
        return str(self.values.get("authorization") or "NONE")

    @property
    def api_key(self) -> str | None:
        return self.values.get("api_key_value")

    def to_dict(self) -> dict[str, Any]:
        """For printing: sensitive outputs (the API key) are masked."""
        shown = {name: "(sensitive)" if name in self.sensitive and value is not None else value
                 for name, value in self.values.items()}
        return {**shown, "harness_invoke_url": self.invoke_url}
