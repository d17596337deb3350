"""Drift: what changed outside Terraform, and what the code would change, one finding per change.

Reads Terraform's JSON plan, never its text:
- `resource_drift`: the refresh found the real object differs from state (someone changed
  the infrastructure outside Terraform) -> kind "drift";
- `resource_changes` with actions other than no-op: applying the code would change
  something -> kind "pending".
The live REST API is read too, for what no plan can show -> kind "unmanaged" (methods that
exist on the API but in no Terraform state) and a "pending" live check of binary media types.

Provider noise is removed by the explicit list `NOISE_RULES` below; each rule says why it
is noise and is covered by tests/unit/test_drift.py.

One change made outside Terraform shows up several times in a plan; `findings` folds those
into the finding of the change itself (`COLLAPSES`, in order), each recorded on it:
- the pending change that puts the value back (`reverted_by_apply`), the drift itself
  being the news;
- a mirror attribute that changed the same way (tags_all is tags plus the provider's
  default_tags);
- "known after apply" that is only Terraform re-reading a data source after the change
  (see `_consequence`), when that data source gives back the value there is now;
- a resource gone because the resource it belongs to was deleted (a stage's method settings).
What was folded is listed in the finding's `also`, so nothing is silently dropped.

Each finding carries `diff`: readable lines (a policy as its statements added, removed or
changed, keys sorted; maps key by key; nested blocks by path). `render` prints findings for
people and `report` gives the JSON `harness drift --json` prints.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.lifecycle.workspace import Workspace

EMPTY_VALUES: tuple[Any, ...] = (None, {}, [], "")
UNKNOWN = "(known after apply)"


def _equal_but_empties(before: Any, after: Any) -> bool:
    """Equal once null, {}, [] and "" count as one value, at any depth of blocks and maps."""
    if before in EMPTY_VALUES and after in EMPTY_VALUES:
        return True
    if isinstance(before, dict) and isinstance(after, dict):
        return all(_equal_but_empties(before.get(key), after.get(key)) for key in before.keys() | after.keys())
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(map(_equal_but_empties, before, after))
    return bool(before == after)


def _null_vs_empty(address: str, attribute: str, before: Any, after: Any) -> bool:
    """The provider stores null at create and reads back {}/[]/"" (or the reverse) for
    optional arguments that were never set: request_templates, response_models,
    authorizer_id, stage variables, ... and inside blocks (a bucket lifecycle_rule's `tags`
    after an update). Seen with provider 3.39 against the local AWS."""
    return _equal_but_empties(before, after)


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


def _rest_api_policy_mirror_after_removal(address: str, attribute: str, before: Any, after: Any) -> bool:
    """The same computed mirror after Terraform itself removed the module's
    aws_api_gateway_rest_api_policy (allowed_source_cidrs back to []): the API has no policy
    any more, and the mirror still holds the removed one until the next refresh. The module
    never sets `policy` on the API, so a policy gone from the API is never a change the code
    would make; one added outside Terraform (the other direction) is still drift."""
    return (address.endswith("aws_api_gateway_rest_api.this") and attribute == "policy"
            and after in EMPTY_VALUES and before not in EMPTY_VALUES)


NoiseRule = Callable[[str, str, Any, Any], bool]
NOISE_RULES: list[tuple[str, NoiseRule]] = [
    ("null-vs-empty", _null_vs_empty),
    ("role-inline-policy-mirror", _role_inline_policy_mirror),
    ("rest-api-policy-mirror", _rest_api_policy_mirror),
    ("rest-api-policy-mirror-after-removal", _rest_api_policy_mirror_after_removal),
]
# Rules that hold only when the plan manages the mirrored object through its own resource.
NEEDS_RESOURCE = {"rest-api-policy-mirror": "aws_api_gateway_rest_api_policy"}

# Attributes that mirror another attribute of the same resource: a change to both in the
# same way is one change, reported on the attribute the code sets. tags_all is tags merged
# with the provider's default_tags ("tags_all - A map of tags assigned to the resource,
# including those inherited from the provider default_tags configuration block", AWS
# provider docs for every taggable resource).
MIRROR_ATTRIBUTES = {"tags_all": "tags"}

# Data sources the provider computes from their arguments alone, without a request to AWS:
# the same arguments give the same result, so a re-read after apply gives the value already
# in state. aws_iam_policy_document "generates an IAM policy document in JSON format for use
# with resources that expect policy documents" (AWS provider docs) from its statement blocks;
# reading it sends no request.
PURE_DATA_SOURCES = frozenset({"aws_iam_policy_document"})


@dataclass(frozen=True)
class Finding:
    kind: str  # "drift", "pending" or "unmanaged"
    address: str
    attribute: str
    before: Any
    after: Any
    actions: tuple[str, ...] = ()
    # Readable lines of what changed (policy statements, map keys, nested paths).
    diff: tuple[str, ...] = ()
    # For drift and unmanaged: whether applying the code puts the value back (`harness up`
    # repairs it); None for pending changes.
    reverted_by_apply: bool | None = None
    # What was folded into this finding because it is the same change (see the module doc).
    also: tuple[str, ...] = ()

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
    diffs: list[tuple[str, Any, Any]] = []
    for key in sorted(set(before) | set(after) | {k for k, v in unknown.items() if v is True}):
        if unknown.get(key) is True:
            diffs.append((key, before.get(key), UNKNOWN))
        elif before.get(key) != after.get(key):
            diffs.append((key, before.get(key), after.get(key)))
    return diffs


# --- comparing and describing values ------------------------------------------------------

def _policy(value: Any) -> dict[str, Any] | None:
    """The IAM policy document a string holds, or None."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def _canonical(value: Any) -> Any:
    """A policy value with IAM's equivalences applied: a one-element list is its element and
    list order does not matter ("Action": "s3:*" is ["s3:*"]; IAM JSON policy grammar,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = sorted((_canonical(item) for item in value), key=_dump)
        return items[0] if len(items) == 1 else items
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values, policies compared as documents (whitespace, order and one-element lists aside)."""
    pa, pb = _policy(a), _policy(b)
    if pa is not None and pb is not None:
        return _canonical(pa) == _canonical(pb)
    return bool(a == b)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement") or []
    return [statements] if isinstance(statements, dict) else list(statements)


def _label(statement: dict[str, Any], index: int) -> str:
    return str(statement["Sid"]) if statement.get("Sid") else f"#{index + 1}"


def _shown(mapping: dict[str, Any], key: str) -> str:
    return _dump(mapping[key]) if key in mapping else "(absent)"


def _sid_pair(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a.get("Sid")) and a.get("Sid") == b.get("Sid")


def _same_statement(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(_canonical(a) == _canonical(b))


def _unnamed_pair(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Statements with different Sids are different statements; without one, order pairs them."""
    return not (a.get("Sid") and b.get("Sid"))


def policy_diff(before: dict[str, Any] | None, after: dict[str, Any] | None, path: str) -> list[str]:
    """Statements removed, changed and added between two policy documents (keys sorted).

    Statements are paired by Sid, then identical ones are set aside, then the rest without a
    Sid on one side are paired in order (a changed statement); what remains is added or
    removed. A policy appearing or disappearing is all its statements, nothing more."""
    lines = []
    if before and after:
        lines += [f"~ {path}.{key}: {_shown(before, key)} -> {_shown(after, key)}"
                  for key in sorted((set(before) | set(after)) - {"Statement"})
                  if _canonical(before.get(key)) != _canonical(after.get(key))]
    old = list(enumerate(_statements(before or {})))
    new = list(enumerate(_statements(after or {})))
    pairs: list[tuple[tuple[int, dict[str, Any]], tuple[int, dict[str, Any]]]] = []
    for match in (_sid_pair, _same_statement, _unnamed_pair):
        for item in list(old):
            partner = next((other for other in new if match(item[1], other[1])), None)
            if partner is not None:
                old.remove(item)
                new.remove(partner)
                pairs.append((item, partner))
    for index, statement in old:
        lines.append(f"- {path} statement {_label(statement, index)}: {_dump(statement)}")
    for (index, a), (_, b) in sorted(pairs, key=lambda pair: pair[0][0]):
        changed = [f"{key}: {_shown(a, key)} -> {_shown(b, key)}"
                   for key in sorted(set(a) | set(b)) if _canonical(a.get(key)) != _canonical(b.get(key))]
        if changed:
            lines.append(f"~ {path} statement {_label(a, index)}: " + "; ".join(changed))
    for index, statement in new:
        lines.append(f"+ {path} statement {_label(statement, index)}: {_dump(statement)}")
    return lines


def value_diff(before: Any, after: Any, path: str) -> list[str]:
    """Readable lines for a change of one attribute: `+`/`-`/`~`, then the path and values."""
    if _same(before, after):
        return []
    if after == UNKNOWN:
        now = before
        if (document := _policy(before)) is not None:
            now = "policy with statements " + ", ".join(_label(s, i) for i, s in enumerate(_statements(document)))
        return [f"~ {path}: {UNKNOWN}, now {now if isinstance(now, str) else _dump(now)}"]
    before_policy, after_policy = _policy(before), _policy(after)
    if (before_policy or after_policy) and \
            (before_policy or before in EMPTY_VALUES) and (after_policy or after in EMPTY_VALUES):
        return policy_diff(before_policy, after_policy, path)
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after)):
            if key not in before:
                lines.append(f"+ {path}.{key}: {_dump(after[key])}")
            elif key not in after:
                lines.append(f"- {path}.{key}: {_dump(before[key])}")
            else:
                lines += value_diff(before[key], after[key], f"{path}.{key}")
        return lines
    if isinstance(before, list) and isinstance(after, list):
        if all(not isinstance(item, (dict, list)) for item in before + after):
            return ([f"- {path}: {_dump(item)}" for item in before if item not in after]
                    + [f"+ {path}: {_dump(item)}" for item in after if item not in before]
                    or [f"~ {path}: {_dump(before)} -> {_dump(after)}"])  # only the order differs
        if len(before) == len(after):
            return [line for index, (a, b) in enumerate(zip(before, after, strict=True))
                    for line in value_diff(a, b, f"{path}[{index}]")]
    return [f"~ {path}: {_dump(before)} -> {_dump(after)}"]


RESOURCE_LINES = {("drift", "deleted"): "- resource deleted outside Terraform",
                  ("pending", "create"): "+ resource to be created",
                  ("pending", "delete"): "- resource to be deleted"}


def _describe(finding: Finding) -> tuple[str, ...]:
    if finding.attribute == "(resource)":
        line = RESOURCE_LINES.get((finding.kind, finding.after))
        return (line,) if line else ()
    return tuple(value_diff(finding.before, finding.after, finding.attribute))


# --- reading the plan's configuration and state -----------------------------------------------

_MODULE_STEP = re.compile(r'module\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.')


def _split_address(address: str) -> tuple[list[str], str, str]:
    """(module names, module instance prefix, resource address without its index)."""
    modules, position = [], 0
    while match := _MODULE_STEP.match(address, position):
        modules.append(match.group(1))
        position = match.end()
    return modules, address[:position], re.sub(r"\[[^\]]*\]$", "", address[position:])


def _config_resource(plan: dict[str, Any], address: str) -> dict[str, Any] | None:
    modules, _, local = _split_address(address)
    module = plan.get("configuration", {}).get("root_module", {})
    for name in modules:
        module = module.get("module_calls", {}).get(name, {}).get("module", {})
    return next((r for r in module.get("resources", []) if r.get("address") == local), None)


def _references(expressions: Any) -> list[str]:
    """Every reference in a configuration block's expressions, nested blocks included."""
    if isinstance(expressions, list):
        return [ref for item in expressions for ref in _references(item)]
    if not isinstance(expressions, dict):
        return []
    found = list(expressions.get("references", []))
    for key, value in expressions.items():
        if key not in ("references", "constant_value"):
            found += _references(value)
    return found


def _referenced_resources(plan: dict[str, Any], address: str) -> set[str]:
    """Addresses (same module instance, index kept when the reference has one) this resource's
    configuration refers to."""
    config = _config_resource(plan, address)
    if config is None:
        return set()
    _, prefix, _ = _split_address(address)
    found = set()
    for ref in _references(config.get("expressions", {})):
        match = re.match(r"((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?)", ref)
        if match and not ref.startswith(("var.", "local.", "module.", "each.", "count.", "path.")):
            found.add(prefix + match.group(1))
    return found


def _all_resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found += _all_resources(child)
    return found


def _state_resources(state: dict[str, Any]) -> list[dict[str, Any]]:
    return _all_resources(state.get("values", {}).get("root_module", {}))


def _args_unchanged(planned: Any, stored: Any) -> bool:
    """The data source's arguments in the plan equal those it was last read with. An argument
    the configuration leaves null may have been filled in by the provider (version
    "2012-10-17", [] for an unset list), so null matches what the provider stored; a code
    change that only unsets an argument is therefore not seen here (the change that made
    Terraform defer the read is reported all the same)."""
    if planned is None or (planned in EMPTY_VALUES and stored in EMPTY_VALUES):
        return True
    if isinstance(planned, dict) and isinstance(stored, dict):
        return all(_args_unchanged(value, stored.get(key)) for key, value in planned.items())
    if isinstance(planned, list) and isinstance(stored, list):
        return len(planned) == len(stored) and all(map(_args_unchanged, planned, stored))
    return bool(planned == stored)


def _consequence(plan: dict[str, Any], state: dict[str, Any] | None, finding: Finding) -> str | None:
    """The data source a "known after apply" pending value comes from, when that value is only
    a consequence of another change: Terraform reads a data source again during apply when a
    managed resource it refers to has a change pending (`action_reason`
    "read_because_dependency_pending", Terraform JSON output format,
    https://developer.hashicorp.com/terraform/internals/json-format; "Data resource
    dependencies", https://developer.hashicorp.com/terraform/language/data-sources), so what
    the resource takes from it is unknown at plan time. It is no change of its own when the
    attribute is exactly that data source's attribute, the data source is pure
    (`PURE_DATA_SOURCES`), its arguments are those it was last read with, and the value it
    then gave equals the resource's value now."""
    if state is None or finding.kind != "pending" or finding.after != UNKNOWN:
        return None
    config = _config_resource(plan, finding.address)
    refs = (config or {}).get("expressions", {}).get(finding.attribute, {}).get("references", [])
    data_refs = [ref for ref in refs if ref.startswith("data.")]
    if not refs or len(data_refs) != len(refs):
        return None
    target = max(refs, key=len)  # e.g. data.aws_iam_policy_document.bucket.json
    if any(not target.startswith(ref) for ref in refs):
        return None  # the value combines more than one thing
    match = re.fullmatch(r"(data\.([a-z0-9_]+)\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?)\.([a-z0-9_]+)", target)
    if match is None or match.group(2) not in PURE_DATA_SOURCES:
        return None
    _, prefix, _ = _split_address(finding.address)
    source, output = prefix + match.group(1), match.group(3)
    read = next((c for c in plan.get("resource_changes", []) or [] if c["address"] == source), None)
    stored = next((r["values"] for r in _state_resources(state) if r["address"] == source), None)
    if read is None or stored is None or read.get("action_reason") != "read_because_dependency_pending":
        return None
    if not _args_unchanged(read["change"].get("after") or {}, stored):
        return None
    return source if _same(stored.get(output), finding.before) else None


# --- folding what is one change into one finding --------------------------------------------

Collapse = Callable[[list[Finding], dict[str, Any], dict[str, Any] | None], list[Finding]]


def _short(address: str) -> str:
    return _split_address(address)[2] if address.startswith("module.") else address


def _reverts(pending: Finding, drift: Finding) -> bool:
    if drift.attribute == "(resource)":  # deleted outside Terraform, created again by apply
        return (drift.after, pending.after) == ("deleted", "create")
    return _same(pending.before, drift.after) and _same(pending.after, drift.before)


def _fold_reverts(found: list[Finding], plan: dict[str, Any], state: dict[str, Any] | None) -> list[Finding]:
    """A pending change that puts back what a drift changed is the repair, not a second change."""
    result = list(found)
    for item in found:
        if item.kind != "drift":
            continue
        revert = next((p for p in result if p.kind == "pending" and p.address == item.address
                       and p.attribute == item.attribute and _reverts(p, item)), None)
        if revert is not None:
            result.remove(revert)
        result[result.index(item)] = replace(item, reverted_by_apply=revert is not None)
    return result


def _fold_mirrors(found: list[Finding], plan: dict[str, Any], state: dict[str, Any] | None) -> list[Finding]:
    """tags_all changed exactly as tags did: one change, reported on tags."""
    result = list(found)
    for mirror in found:
        source = MIRROR_ATTRIBUTES.get(mirror.attribute)
        owner = next((f for f in result if source and f.kind == mirror.kind and f.address == mirror.address
                      and f.attribute == source), None)
        if owner is None or value_diff(owner.before, owner.after, "") != value_diff(mirror.before, mirror.after, ""):
            continue
        result.remove(mirror)
        result[result.index(owner)] = replace(owner, also=(
            *owner.also, f"{mirror.attribute}: the same change ({mirror.attribute} mirrors {source})"))
    return result


def _fold_consequences(found: list[Finding], plan: dict[str, Any], state: dict[str, Any] | None) -> list[Finding]:
    """A "known after apply" that is only a data source read again after another change
    (`_consequence`) goes on that change's finding; with no finding to go on (the change
    was noise) it is no finding either."""
    result = list(found)
    pending = {c["address"] for c in plan.get("resource_changes", []) or []
               if c["change"].get("actions") not in (["no-op"], ["read"])}
    for item in found:
        source = _consequence(plan, state, item)
        if source is None:
            continue
        result.remove(item)
        causes = _referenced_resources(plan, source) & pending
        owner = next((f for f in result if f.address in causes), None)
        if owner is not None:
            note = (f"{_short(item.address)}.{item.attribute}: known after apply only because "
                    f"{_short(source)} is read again after this change (same arguments, so the same value)")
            result[result.index(owner)] = replace(owner, also=(*owner.also, note))
    return result


def _fold_deleted_dependents(found: list[Finding], plan: dict[str, Any],
                             state: dict[str, Any] | None) -> list[Finding]:
    """A resource gone together with a deleted resource its configuration refers to (method
    settings are part of their stage: deleting the stage deletes them) is reported with it."""
    deleted = {f.address: f for f in found if f.kind == "drift" and f.attribute == "(resource)"}
    result = list(found)
    for address, item in deleted.items():
        owner_address = next((a for a in sorted(_referenced_resources(plan, address)) if a in deleted), None)
        if owner_address is None:
            continue
        owner = next((f for f in result if f.address == owner_address and f.attribute == "(resource)"), None)
        if owner is None:  # itself folded into another deletion: keep this one apart
            continue
        result.remove(item)
        result[result.index(owner)] = replace(owner, also=(
            *owner.also, f"{_short(address)}: deleted with it (it belongs to {_short(owner_address)})"))
    return result


COLLAPSES: list[tuple[str, Collapse]] = [
    ("revert", _fold_reverts),
    ("mirror-attribute", _fold_mirrors),
    ("known-after-apply-consequence", _fold_consequences),
    ("deleted-with-owner", _fold_deleted_dependents),
]


def findings(plan: dict[str, Any], state: dict[str, Any] | None = None) -> list[Finding]:
    """Every non-noise change in a `terraform show -json` plan, one finding per change.

    `state` (`terraform show -json` without a plan) lets a "known after apply" that only
    follows from another change be recognised (`_consequence`); without it such a value
    stays a pending finding."""
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
    for _, collapse in COLLAPSES:
        result = collapse(result, plan, state)
    return [replace(f, diff=_describe(f)) for f in result]


# --- what only the live API shows ---------------------------------------------------------------

def unmanaged_api_methods(state: dict[str, Any], apigateway: Any) -> list[Finding]:
    """Methods that exist on the deployed REST APIs but in no Terraform state entry.

    A plan can never show these (Terraform does not know them, so `harness up` leaves them
    in place), so the live API is read: GetResources lists each resource's methods. Kind
    "unmanaged", on the address of the aws_api_gateway_resource the method hangs on (or
    `rest_api ID PATH` for a resource Terraform does not manage either), attribute
    "method VERB"; `after` says what the method does (authorization, integration type)."""
    managed: set[tuple[str, str, str]] = set()
    api_ids: set[str] = set()
    resource_addresses: dict[tuple[str, str], str] = {}
    for resource in _state_resources(state):
        values = resource.get("values", {})
        if resource["type"] == "aws_api_gateway_rest_api":
            api_ids.add(values["id"])
        elif resource["type"] == "aws_api_gateway_method":
            managed.add((values["rest_api_id"], values["resource_id"], values["http_method"]))
        elif resource["type"] == "aws_api_gateway_resource":
            resource_addresses[(values["rest_api_id"], values["id"])] = resource["address"]
    result = []
    for api_id in sorted(api_ids):
        for item in apigateway.get_resources(restApiId=api_id).get("items", []):
            for method in sorted(item.get("resourceMethods") or {}):
                if (api_id, item["id"], method) in managed:
                    continue
                live = apigateway.get_method(restApiId=api_id, resourceId=item["id"], httpMethod=method)
                address = resource_addresses.get((api_id, item["id"]), f"rest_api {api_id} {item['path']}")
                after = {"path": item["path"], "authorization": live.get("authorizationType"),
                         "api_key_required": live.get("apiKeyRequired", False),
                         "integration": (live.get("methodIntegration") or {}).get("type")}
                result.append(Finding("unmanaged", address, f"method {method}", None, after, ("unmanaged",),
                                      diff=(f"+ {method} {item['path']}: {_dump(after)} (not in Terraform state)",),
                                      reverted_by_apply=False))
    return result


def live_binary_media_types(plan: dict[str, Any], apigateway: Any, already: list[Finding]) -> list[Finding]:
    """Compare each REST API's live binaryMediaTypes with what the plan intends.

    Removing binary_media_types from the configuration neither clears it on the API nor
    shows a diff (hashicorp/terraform-provider-aws#48385), so the plan alone can miss it.
    """
    reported = {(f.address, f.attribute) for f in already}
    result = []
    for resource in _all_resources(plan.get("planned_values", {}).get("root_module", {})):
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
            attribute = "binary_media_types (live API)"
            result.append(Finding("pending", resource["address"], attribute, live, intended, ("live-check",),
                                  diff=tuple(value_diff(live, intended, attribute))))
    return result


# --- reporting ---------------------------------------------------------------------------------

KIND_SUMMARY = {
    "drift": "drift (changed outside Terraform)",
    "pending": "pending changes (code differs from what was applied)",
    "unmanaged": "unmanaged objects (added outside Terraform, unknown to it)",
}


def summarize(found: list[Finding]) -> str:
    return " and ".join(KIND_SUMMARY[kind] for kind in sorted({f.kind for f in found}))


def report(workspace: str, found: list[Finding]) -> dict[str, Any]:
    """What `harness drift --json` prints."""
    return {"workspace": workspace, "clean": not found, "findings": [f.to_dict() for f in found]}


def _repair(finding: Finding) -> str:
    if finding.kind == "unmanaged":
        return "  (Terraform does not manage it: `harness up` leaves it; remove it where it was added)"
    if finding.kind == "drift":
        return ("  (`harness up` reverts it)" if finding.reverted_by_apply else
                "  (`harness up` leaves it: the code does not set this or ignores changes to it)")
    return ""


def render(workspace: str, found: list[Finding]) -> str:
    """Findings for people: one block per change, its diff lines, what was folded into it."""
    if not found:
        return f"workspace {workspace}: clean (no drift, no pending changes)"
    lines = [f"workspace {workspace}: {summarize(found)}"]
    for finding in found:
        lines.append(f"  [{finding.kind}] {finding.address}: {finding.attribute}{_repair(finding)}")
        if finding.diff:
            lines += [f"      {line}" for line in finding.diff]
        else:
            lines.append(f"      {_dump(finding.before)} -> {_dump(finding.after)}")
        lines += [f"      also: {note}" for note in finding.also]
    return "\n".join(lines)


def check(workspace: Workspace, stack_vars: dict[str, Any] | None = None) -> list[Finding]:
    """Refresh and plan a workspace (with the code's `stack_vars`), then read the live API too."""
    if not workspace.exists():
        raise HarnessError(f"workspace {workspace.name!r} does not exist",
                           f"create it with `harness up --workspace {workspace.name}`")
    with tempfile.TemporaryDirectory() as scratch:
        plan_file = Path(scratch) / "drift.tfplan"
        workspace.runner.plan(workspace.variables(stack_vars), out=plan_file)
        plan = workspace.runner.show_json(plan_file)
    state = workspace.runner.show_json()
    apigateway = workspace.deployer.target.client("apigateway")
    found = findings(plan, state)
    found += live_binary_media_types(plan, apigateway, found)
    found += unmanaged_api_methods(state, apigateway)
    return found
