"""Drift: what changed outside Terraform, and what the code would change, per attribute.

Reads Terraform's JSON plan, never its text:
- `resource_drift`: the refresh found the real object differs from state (someone changed
  the infrastructure outside Terraform) -> kind "drift";
- `resource_changes` with actions other than no-op: applying the code would change
  something -> kind "pending".

Provider noise is removed by the explicit list `NOISE_RULES` below; each rule says why it
is noise and is covered by tests/unit/test_drift.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

EMPTY_VALUES: tuple[Any, ...] = (None, {}, [], "")


def _null_vs_empty(address: str, attribute: str, before: Any, after: Any) -> bool:
    """The provider stores null at create and reads back {}/[]/"" (or the reverse) for
    optional arguments that were never set: request_templates, response_models,
    authorizer_id, stage variables, ... Seen with provider 3.39 against the local AWS."""
    return before in EMPTY_VALUES and after in EMPTY_VALUES


def _role_inline_policy_placeholder(address: str, attribute: str, before: Any, after: Any) -> bool:
    """Provider 3.x stores `inline_policy = [{name = "", policy = ""}]` at create and then
    reads the role's inline policies, which the module manages with aws_iam_role_policy;
    the policy itself is compared on that resource, so this attribute is noise."""
    if not address.endswith("aws_iam_role.this") or attribute != "inline_policy":
        return False
    placeholder = [{"name": "", "policy": ""}]
    return before in (None, [], placeholder) or after in (None, [], placeholder)


NoiseRule = Callable[[str, str, Any, Any], bool]
NOISE_RULES: list[tuple[str, NoiseRule]] = [
    ("null-vs-empty", _null_vs_empty),
    ("role-inline-policy-placeholder", _role_inline_policy_placeholder),
]


@dataclass(frozen=True)
class Finding:
    kind: str  # "drift" or "pending"
    address: str
    attribute: str
    before: Any
    after: Any
    actions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _noise(address: str, attribute: str, before: Any, after: Any) -> str | None:
    for name, rule in NOISE_RULES:
        if rule(address, attribute, before, after):
            return name
    return None


def _attribute_diffs(change: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    diffs = []
    for key in sorted(set(before) | set(after)):
        if unknown.get(key) is True:
            diffs.append((key, before.get(key), "(known after apply)"))
        elif before.get(key) != after.get(key):
            diffs.append((key, before.get(key), after.get(key)))
    return diffs


def findings(plan: dict[str, Any]) -> list[Finding]:
    """Every non-noise difference in a `terraform show -json` plan."""
    result: list[Finding] = []
    for item in plan.get("resource_drift", []) or []:
        change = item["change"]
        if change.get("after") is None:
            result.append(Finding("drift", item["address"], "(resource)", "exists", "deleted",
                                  tuple(change.get("actions", []))))
            continue
        for attribute, before, after in _attribute_diffs(change):
            if not _noise(item["address"], attribute, before, after):
                result.append(Finding("drift", item["address"], attribute, before, after,
                                      tuple(change.get("actions", []))))
    for item in plan.get("resource_changes", []) or []:
        change = item["change"]
        actions = tuple(change.get("actions", []))
        if actions in (("no-op",), ("read",)):
            continue
        if actions == ("create",):
            result.append(Finding("pending", item["address"], "(resource)", None, "create", actions))
            continue
        if actions == ("delete",):
            result.append(Finding("pending", item["address"], "(resource)", "exists", "delete", actions))
            continue
        diffs = [d for d in _attribute_diffs(change) if not _noise(item["address"], *d)]
        result.extend(Finding("pending", item["address"], a, b, c, actions) for a, b, c in diffs)
    return result
