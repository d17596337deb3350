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

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.workspace import Workspace

EMPTY_VALUES: tuple[Any, ...] = (None, {}, [], "")


def _null_vs_empty(address: str, attribute: str, before: Any, after: Any) -> bool:
    """The provider stores null at create and reads back {}/[]/"" (or the reverse) for
    optional arguments that were never set: request_templates, response_models,
    authorizer_id, stage variables, ... Seen with provider 3.39 against the local AWS."""
    return before in EMPTY_VALUES and after in EMPTY_VALUES


def _role_inline_policy_mirror(address: str, attribute: str, before: Any, after: Any) -> bool:
    """aws_iam_role.inline_policy is computed by the provider from the role's inline
    policies, which the module manages with aws_iam_role_policy: it stores a placeholder
    (`[{name = "", policy = ""}]`) at create and lags one refresh behind after a repair.
    The policy itself is compared on aws_iam_role_policy.put_object, where a real change
    (e.g. widened to s3:*) is reported, so this mirror attribute is noise."""
    return address.endswith("aws_iam_role.this") and attribute == "inline_policy"


def _rest_api_policy_mirror(address: str, attribute: str, before: Any, after: Any) -> bool:
    """aws_api_gateway_rest_api.policy is computed by the provider from the API's policy,
    which the module manages with aws_api_gateway_rest_api_policy (allowed_source_cidrs): the
    API is created without one and reads it back one refresh later (on AWS too). A real
    change is reported on aws_api_gateway_rest_api_policy.source_ip. Applies only when the
    plan holds that resource (`findings` checks), so an out-of-band policy on an API without
    one is still drift."""
    return address.endswith("aws_api_gateway_rest_api.this") and attribute == "policy"


NoiseRule = Callable[[str, str, Any, Any], bool]
NOISE_RULES: list[tuple[str, NoiseRule]] = [
    ("null-vs-empty", _null_vs_empty),
    ("role-inline-policy-mirror", _role_inline_policy_mirror),
    ("rest-api-policy-mirror", _rest_api_policy_mirror),
]
# Rules that hold only when the plan manages the mirrored object through its own resource.
NEEDS_RESOURCE = {"rest-api-policy-mirror": "aws_api_gateway_rest_api_policy"}


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


def _noise(address: str, attribute: str, before: Any, after: Any,
           managed_types: frozenset[str] = frozenset()) -> str | None:
    for name, rule in NOISE_RULES:
        needed = NEEDS_RESOURCE.get(name)
        if needed is not None and needed not in managed_types:
            continue
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
    managed_types = frozenset(item.get("type", "") for item in plan.get("resource_changes", []) or [])
    for item in plan.get("resource_drift", []) or []:
        change = item["change"]
        if change.get("after") is None:
            result.append(Finding("drift", item["address"], "(resource)", "exists", "deleted",
                                  tuple(change.get("actions", []))))
            continue
        for attribute, before, after in _attribute_diffs(change):
            if not _noise(item["address"], attribute, before, after, managed_types):
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


def unmanaged_api_methods(state: dict[str, Any], apigateway: Any) -> list[Finding]:
    """Methods that exist on the deployed REST APIs but in no Terraform state entry.

    A plan can never show these (Terraform does not know them), so the live API is read.
    """
    managed: set[tuple[str, str, str]] = set()
    api_ids: set[str] = set()
    for resource in _state_resources(state):
        values = resource.get("values", {})
        if resource["type"] == "aws_api_gateway_rest_api":
            api_ids.add(values["id"])
        elif resource["type"] == "aws_api_gateway_method":
            managed.add((values["rest_api_id"], values["resource_id"], values["http_method"]))
    result = []
    for api_id in sorted(api_ids):
        for item in apigateway.get_resources(restApiId=api_id).get("items", []):
            for method in sorted(item.get("resourceMethods") or {}):
                if (api_id, item["id"], method) not in managed:
                    result.append(Finding("drift", f"rest_api {api_id} {item['path']}", f"method {method}",
                                          None, "added outside Terraform", ("unmanaged",)))
    return result


def _state_resources(state: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(module: dict[str, Any]) -> None:
        found.extend(module.get("resources", []))
        for child in module.get("child_modules", []):
            walk(child)

    walk(state.get("values", {}).get("root_module", {}))
    return found


def summarize(found: list[Finding]) -> str:
    kinds = sorted({f.kind for f in found})
    return " and ".join({"drift": "drift (changed outside Terraform)",
                         "pending": "pending changes (code differs from what was applied)"}[k] for k in kinds)


def live_binary_media_types(plan: dict[str, Any], apigateway: Any, already: list[Finding]) -> list[Finding]:
    """Compare each REST API's live binaryMediaTypes with what the plan intends.

    Removing binary_media_types from the configuration neither clears it on the API nor
    shows a diff (hashicorp/terraform-provider-aws#48385), so the plan alone can miss it.
    """
    reported = {(f.address, f.attribute) for f in already}
    result = []
    for resource in _state_resources({"values": plan.get("planned_values", {})}):
        if resource.get("type") != "aws_api_gateway_rest_api":
            continue
        if (resource["address"], "binary_media_types") in reported:
            continue
        values = resource.get("values", {})
        if not values.get("id"):
            continue
        intended = sorted(values.get("binary_media_types") or [])
        live = sorted(apigateway.get_rest_api(restApiId=values["id"]).get("binaryMediaTypes") or [])
        if live != intended:
            result.append(Finding("pending", resource["address"], "binary_media_types (live API)", live, intended,
                                  ("live-check",)))
    return result


def check(workspace: Workspace, stack_vars: dict[str, Any] | None = None) -> list[Finding]:
    """Refresh and plan a workspace (with the code's `stack_vars`), then read the live API too."""
    if not workspace.exists():
        raise HarnessError(f"workspace {workspace.name!r} does not exist",
                           f"create it with `harness up --workspace {workspace.name}`")
    with tempfile.TemporaryDirectory() as scratch:
        plan_file = Path(scratch) / "drift.tfplan"
        workspace.runner.plan(workspace.variables(stack_vars), out=plan_file)
        plan = workspace.runner.show_json(plan_file)
    apigateway = workspace.deployer.target.client("apigateway")
    found = findings(plan)
    found += live_binary_media_types(plan, apigateway, found)
    found += unmanaged_api_methods(workspace.runner.show_json(), apigateway)
    return found
