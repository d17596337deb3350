"""API Gateway's PATCH semantics: which `patchOperations` each Update* operation accepts, what
they do to the resource, and the errors AWS answers for the others. Pure functions over plain,
AWS-shaped documents (the JSON GetMethod, GetIntegration, ... return); `controlplane/apigateway_updates.py`
moves moto's objects in and out of them.

Sources:
- PatchOperation (https://docs.aws.amazon.com/apigateway/latest/api/API_PatchOperation.html):
  `op` is one of add | remove | replace | move | copy | test; `path` is a JSON Pointer whose `/`
  inside a name is escaped as `~1` (RFC 6901: `~1` is `/`, `~0` is `~`); `value` applies to add
  and replace; `from` to copy.
- Patch Operations (https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html):
  the table of paths and supported ops per Update* operation, reproduced in the specs below.
- What AWS answered, recorded in LocalStack's tests/aws/services/apigateway/
  test_apigateway_api.snapshot.json (TestApiGatewayApiMethod::test_update_method[_validation],
  TestApigatewayMethodResponse::*, TestApiGatewayGatewayResponse::test_update_gateway_response,
  TestApiGatewayApiResource::test_update_resource_*, TestApiGatewayApiRestApi::test_update_rest_api_*):
  the error codes and messages, booleans read from strings ("whatever" reads as false), a map
  entry replaced or removed that does not exist (404), and a map emptied by `remove` leaving the
  member out of the answer.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# In the order AWS lists them in its ValidationException (recorded).
VALID_OPS = ("add", "remove", "move", "test", "replace", "copy")
# The order the supported ops are listed in "Must be one of: [...]". Only one-op lists were
# recorded ("[replace]"); the order of a longer list is *unconfirmed*.
SUPPORTED_OPS_ORDER = ("add", "replace", "remove", "copy")


class PatchError(Exception):
    """An answer AWS gives instead of applying the patch: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequestException", message)


def not_found(message: str) -> PatchError:
    return PatchError(404, "NotFoundException", message)


def conflict(message: str) -> PatchError:
    return PatchError(409, "ConflictException", message)


def unescape(segment: str) -> str:
    """One JSON Pointer segment: `application~1json` -> `application/json` (RFC 6901 order)."""
    return segment.replace("~1", "/").replace("~0", "~")


# How an operation words a refused path or op. PLAIN and PATH_ONLY were recorded for the
# operations that use them; QUOTED for UpdateResource, UpdateApiKey, UpdateModel and
# UpdateRequestValidator.
PLAIN = "plain"  # "Invalid patch path X" / "Invalid patch operation specified. Must be one of: [..]"
# "Invalid patch path  'X' specified for op 'o'. Must be one of: [..]" / "... Please choose supported operations"
QUOTED = "quoted"
PATH_ONLY = "path-only"  # "Invalid patch path X" for both
# UpdateIntegration, UpdateIntegrationResponse and UpdateDeployment refusals were not recorded
# against AWS: *unconfirmed* which wording they use; they follow the older resources'.
UNCONFIRMED_REFUSAL_STYLE = PLAIN

STRING, BOOLEAN, INTEGER, MAP, LIST = "string", "boolean", "integer", "map", "list"


@dataclass(frozen=True)
class Member:
    """One patchable member of a resource and the ops its path accepts.

    `kind` MAP: path `/member/{key}` (the key escaped); `values` says how its values are read
    (STRING or BOOLEAN). LIST: `/member` with the item as `value`, or `/member/{item}`.
    """

    name: str
    kind: str
    ops: frozenset[str]
    values: str = STRING
    # 404 message for replace/remove of a key the map does not have.
    missing_key: str = "Invalid parameter name specified"
    # Emptied by remove: the member leaves the answer (True) or stays as {} (False).
    drop_when_empty: bool = True
    # Message for add/replace of a map entry with no value; None: no value is allowed.
    null_value: str | None = None


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


@dataclass(frozen=True)
class Spec:
    """One Update* operation: its members and how it words refusals."""

    operation: str
    members: tuple[Member, ...]
    style: str
    input_name: str = ""

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def listed_paths(self) -> str:
        return ", ".join(f"/{m.name}" for m in self.members)


_PARAMETERS_MISSING = "Invalid parameter name specified"
_CONTENT_TYPE_MISSING = "Content-Type specified was not found"

UPDATE_METHOD = Spec("UpdateMethod", (
    Member("authorizationScopes", LIST, _ops("add", "remove")),
    Member("authorizationType", STRING, _ops("replace")),
    Member("authorizerId", STRING, _ops("replace")),
    Member("apiKeyRequired", BOOLEAN, _ops("replace")),
    Member("operationName", STRING, _ops("replace")),
    Member("requestParameters", MAP, _ops("add", "replace", "remove"), values=BOOLEAN),
    Member("requestModels", MAP, _ops("add", "replace", "remove"), missing_key=_CONTENT_TYPE_MISSING),
    Member("requestValidatorId", STRING, _ops("replace")),
), PLAIN, "updateMethodInput")

# `/credentials` is not in AWS's Patch Operations table; CloudFormation documents the
# integration's Credentials as updatable in place (AWS::ApiGateway::Method Integration,
# "Update requires: No interruption"). *Unconfirmed* that UpdateIntegration takes it.
INTEGRATION_CREDENTIALS_PATCHABLE = True

UPDATE_INTEGRATION = Spec("UpdateIntegration", (
    Member("cacheKeyParameters", LIST, _ops("add", "replace", "remove")),
    Member("cacheNamespace", STRING, _ops("replace")),
    Member("connectionId", STRING, _ops("replace")),
    Member("connectionType", STRING, _ops("replace")),
    Member("contentHandling", STRING, _ops("replace")),
    *((Member("credentials", STRING, _ops("replace")),) if INTEGRATION_CREDENTIALS_PATCHABLE else ()),
    Member("httpMethod", STRING, _ops("replace")),
    Member("integrationTarget", STRING, _ops("replace")),
    Member("passthroughBehavior", STRING, _ops("replace")),
    Member("requestParameters", MAP, _ops("add", "replace", "remove")),
    Member("requestTemplates", MAP, _ops("add", "replace", "remove"), missing_key=_CONTENT_TYPE_MISSING),
    Member("timeoutInMillis", INTEGER, _ops("replace")),
    Member("tlsConfig/insecureSkipVerification", BOOLEAN, _ops("replace")),
    Member("type", STRING, _ops()),
    Member("uri", STRING, _ops("replace")),
), UNCONFIRMED_REFUSAL_STYLE, "updateIntegrationInput")

UPDATE_INTEGRATION_RESPONSE = Spec("UpdateIntegrationResponse", (
    Member("contentHandling", STRING, _ops("replace")),
    Member("responseParameters", MAP, _ops("add", "replace", "remove")),
    Member("responseTemplates", MAP, _ops("add", "replace", "remove"), missing_key=_CONTENT_TYPE_MISSING),
    Member("selectionPattern", STRING, _ops("replace")),
), UNCONFIRMED_REFUSAL_STYLE, "updateIntegrationResponseInput")

UPDATE_METHOD_RESPONSE = Spec("UpdateMethodResponse", (
    Member("responseModels", MAP, _ops("add", "replace", "remove"), missing_key=_CONTENT_TYPE_MISSING),
    Member("responseParameters", MAP, _ops("add", "replace", "remove"), values=BOOLEAN),
), PLAIN, "updateMethodResponseInput")

UPDATE_RESOURCE = Spec("UpdateResource", (
    Member("parentId", STRING, _ops("replace")),
    Member("pathPart", STRING, _ops("replace")),
), QUOTED, "updateResourceInput")

UPDATE_GATEWAY_RESPONSE = Spec("UpdateGatewayResponse", (
    Member("statusCode", STRING, _ops("replace")),
    Member("responseParameters", MAP, _ops("add", "replace", "remove"), drop_when_empty=False,
           null_value="Invalid null or empty value in responseParameters"),
    Member("responseTemplates", MAP, _ops("add", "replace", "remove"), drop_when_empty=False,
           missing_key=_CONTENT_TYPE_MISSING, null_value="Invalid null or empty value in responseTemplates"),
), PATH_ONLY, "updateGatewayResponseInput")

UPDATE_DEPLOYMENT = Spec("UpdateDeployment", (
    Member("description", STRING, _ops("replace")),
), UNCONFIRMED_REFUSAL_STYLE, "updateDeploymentInput")

SPECS = {spec.operation: spec for spec in (
    UPDATE_METHOD, UPDATE_INTEGRATION, UPDATE_INTEGRATION_RESPONSE, UPDATE_METHOD_RESPONSE,
    UPDATE_RESOURCE, UPDATE_GATEWAY_RESPONSE, UPDATE_DEPLOYMENT)}


def validate_ops(spec: Spec, operations: Iterable[Mapping[str, Any]], extra: Iterable[str] = ()) -> None:
    """AWS's input validation: every `op` outside the enum, all reported at once (ValidationException).

    `extra` adds other constraint violations AWS reports in the same message (e.g. a status code).
    """
    problems = [
        f"Value '{op.get('op')}' at '{spec.input_name}.patchOperations.{index}.member.op' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(VALID_OPS)}]"
        for index, op in enumerate(operations, start=1) if op.get("op") not in VALID_OPS
    ]
    problems.extend(extra)
    if problems:
        plural = "s" if len(problems) > 1 else ""
        raise PatchError(400, "ValidationException",
                         f"{len(problems)} validation error{plural} detected: {'; '.join(problems)}")


def _refuse_path(spec: Spec, op: str, path: str) -> PatchError:
    if spec.style == QUOTED:
        return bad_request(f"Invalid patch path  '{path}' specified for op '{op}'. Must be one of: "
                           f"[{spec.listed_paths()}]")
    return bad_request(f"Invalid patch path {path}")


def _refuse_op(spec: Spec, member: Member, op: str, path: str) -> PatchError:
    if spec.style == QUOTED:
        return bad_request(f"Invalid patch path  '{path}' specified for op '{op}'. Please choose supported operations")
    if spec.style == PATH_ONLY or not member.ops:
        return bad_request(f"Invalid patch path {path}")
    listed = ", ".join(o for o in SUPPORTED_OPS_ORDER if o in member.ops)
    return bad_request(f"Invalid patch operation specified. Must be one of: [{listed}]")


@dataclass(frozen=True)
class Target:
    member: Member
    key: str | None  # the (unescaped) map key or list item named in the path


def resolve(spec: Spec, op: str, path: str | None) -> Target:
    """The member a path names, or the refusal AWS answers."""
    shown = "null" if path is None else path
    if not path or not path.startswith("/"):
        raise _refuse_path(spec, op, shown)
    # Members whose own name has a slash (tlsConfig/insecureSkipVerification) match whole.
    for whole in spec.members:
        if whole.kind not in (MAP, LIST) and path == f"/{whole.name}":
            return _allowed(spec, whole, op, path, None)
    head, _, rest = path[1:].partition("/")
    member = spec.member(head)
    if member is None:
        raise _refuse_path(spec, op, shown)
    if member.kind == MAP:
        # `/requestParameters` alone, or a key with an unescaped `/`, is not a path (recorded).
        if not rest or "/" in rest:
            raise _refuse_path(spec, op, shown)
        return _allowed(spec, member, op, path, unescape(rest))
    if member.kind == LIST:
        if "/" in rest:
            raise _refuse_path(spec, op, shown)
        return _allowed(spec, member, op, path, unescape(rest) if rest else None)
    raise _refuse_path(spec, op, shown)


def _allowed(spec: Spec, member: Member, op: str, path: str, key: str | None) -> Target:
    if op not in member.ops:
        raise _refuse_op(spec, member, op, path)
    return Target(member, key)


def read_boolean(value: Any) -> bool:
    """API Gateway reads a patch value as a boolean: "true" (any case) or not (recorded: "whatever" -> false)."""
    return str(value).strip().lower() == "true"


def _read_value(member: Member, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == BOOLEAN:
        return read_boolean(value)
    if kind == INTEGER:
        try:
            return int(str(value))
        except ValueError:
            raise bad_request(f"Invalid {member.name} value: {value}") from None
    return str(value)


def _set(document: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = name.split("/")
    node = document
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            if value is None:
                return
            child = node[part] = {}
        node = child
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


def apply(spec: Spec, document: Mapping[str, Any], operations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The document after the operations, applied in order; all or nothing (a copy is patched).

    Raises PatchError with AWS's answer for the first operation AWS refuses.
    """
    operations = list(operations)
    validate_ops(spec, operations)
    result = copy.deepcopy(dict(document))
    for operation in operations:
        op = str(operation.get("op"))
        target = resolve(spec, op, operation.get("path"))
        member, value = target.member, operation.get("value")
        if member.kind == MAP:
            _apply_map(result, member, op, target.key or "", value)
        elif member.kind == LIST:
            _apply_list(result, member, op, target.key if target.key is not None else value)
        else:
            _set(result, member.name, _read_value(member, member.kind, value))
    return result


def _apply_map(document: dict[str, Any], member: Member, op: str, key: str, value: Any) -> None:
    entries = dict(document.get(member.name) or {})
    if op in ("replace", "remove") and key not in entries:
        raise not_found(member.missing_key)
    if op in ("add", "replace"):
        if value is None and member.null_value is not None:
            raise bad_request(member.null_value)
        entries[key] = _read_value(member, member.values, value)
    else:
        del entries[key]
    if entries or not member.drop_when_empty:
        document[member.name] = entries
    else:
        document.pop(member.name, None)


def _apply_list(document: dict[str, Any], member: Member, op: str, item: Any) -> None:
    items = list(document.get(member.name) or [])
    if item is None:
        raise bad_request(f"Invalid patch path /{member.name}")
    if op in ("add", "replace"):
        if item not in items:
            items.append(str(item))
    elif item in items:
        items.remove(item)
    if items:
        document[member.name] = items
    else:
        document.pop(member.name, None)


# --- rules of one operation that depend on more than the patched document --------------------

CUSTOM_AUTHORIZATION_TYPES = ("CUSTOM", "COGNITO_USER_POOLS")


def check_method(document: dict[str, Any], authorizer_ids: Iterable[str],
                 validator_ids: Iterable[str]) -> dict[str, Any]:
    """UpdateMethod's cross-field rules (recorded): CUSTOM and COGNITO_USER_POOLS need an
    authorizer of the API; an authorizerId on any other type is dropped (AWS ignores it); a
    requestValidatorId must name a validator of the API, and an empty one removes it."""
    result = dict(document)
    if result.get("authorizationType") in CUSTOM_AUTHORIZATION_TYPES:
        if result.get("authorizerId") not in set(authorizer_ids):
            raise bad_request("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                              "COGNITO_USER_POOLS requires a valid authorizer.")
    else:
        result.pop("authorizerId", None)
    validator = result.get("requestValidatorId")
    if not validator:
        result.pop("requestValidatorId", None)
    elif validator not in set(validator_ids):
        raise bad_request("Invalid Request Validator identifier specified")
    return result


@dataclass(frozen=True)
class ResourceNode:
    id: str
    parent_id: str | None
    path_part: str


def check_resource(resources: Mapping[str, ResourceNode], resource_id: str, before: Mapping[str, Any],
                   after: Mapping[str, Any]) -> None:
    """UpdateResource's rules (recorded): the root cannot move or be renamed; the new parent must
    exist and not be the resource or below it; no sibling may have the same pathPart (409)."""
    node = resources[resource_id]
    for name in ("pathPart", "parentId"):
        if after.get(name) != before.get(name) and node.parent_id is None:
            raise bad_request(f"Root resource cannot update its {name}.")
    parent = str(after.get("parentId"))
    if parent not in resources:
        raise not_found("Invalid Resource identifier specified")
    ancestor: str | None = parent
    while ancestor is not None:
        if ancestor == resource_id:
            raise bad_request("Resources cannot be cyclical.")
        ancestor = resources[ancestor].parent_id
    path_part = str(after.get("pathPart"))
    if any(other.parent_id == parent and other.path_part == path_part and other.id != resource_id
           for other in resources.values()):
        raise conflict(f"Another resource with the same parent already has this name: {path_part}")


STATUS_CODE_PATTERN = re.compile(r"[1-5]\d\d")


def status_code_problem(status_code: str) -> list[str]:
    """The ValidationException part for a status code outside [1-5]\\d\\d (recorded)."""
    if STATUS_CODE_PATTERN.fullmatch(status_code):
        return []
    return [f"Value '{status_code}' at 'statusCode' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [1-5]\\d\\d"]
