"""API Gateway's Update* operations moto does not have (PATCH): UpdateMethod,
UpdateIntegration, UpdateIntegrationResponse, UpdateMethodResponse, UpdateResource and
UpdateDeployment, added to moto's response class with the rules of `patch_operations.py`, and
the members UpdateIntegration may set that moto's Integration lacks. Also the plumbing every
added handler shares (its path, its patch operations, PatchError as AWS's JSON error), which
`gateway_response_defaults.py` uses for UpdateGatewayResponse. Registered in
`controlplane.PATCHES`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

# moto 5.2.5 has no UpdateMethod, UpdateIntegration, UpdateIntegrationResponse, UpdateMethodResponse,
# UpdateResource, UpdateGatewayResponse or UpdateDeployment: it raised NotImplementedError, which
# the SDKs retried as a 500 for minutes. Each is added to moto's response class: the moto object is
# read into the document AWS answers, patched by patch_operations.py (AWS's rules and messages),
# and written back, so Get* reads what AWS reads and the next deployment snapshots it.

# moto attribute for each member of the document a Get* answers.
METHOD_MEMBERS = {
    "authorizationType": "authorization_type", "authorizerId": "authorizer_id",
    "authorizationScopes": "authorization_scopes", "apiKeyRequired": "api_key_required",
    "operationName": "operation_name", "requestParameters": "request_parameters",
    "requestModels": "request_models", "requestValidatorId": "request_validator_id",
}
INTEGRATION_MEMBERS = {
    "type": "integration_type", "uri": "uri", "httpMethod": "http_method", "credentials": "credentials",
    "passthroughBehavior": "passthrough_behaviour", "cacheKeyParameters": "cache_key_parameters",
    "cacheNamespace": "cache_namespace", "requestParameters": "request_parameters",
    "requestTemplates": "request_templates", "timeoutInMillis": "timeout_in_millis",
    "contentHandling": "content_handling", "connectionType": "connection_type", "tlsConfig": "tls_config",
    # moto has no attribute for these two: the local AWS keeps them (see patch_integration_extra_members).
    "connectionId": "harness_connection_id", "integrationTarget": "harness_integration_target",
}
INTEGRATION_RESPONSE_MEMBERS = {
    "statusCode": "status_code", "selectionPattern": "selection_pattern", "contentHandling": "content_handling",
    "responseParameters": "response_parameters", "responseTemplates": "response_templates",
}
METHOD_RESPONSE_MEMBERS = {
    "statusCode": "status_code", "responseModels": "response_models", "responseParameters": "response_parameters",
}
RESOURCE_MEMBERS = {"parentId": "parent_id", "pathPart": "path_part"}
DEPLOYMENT_MEMBERS = {"description": "description"}


def _document(model: Any, members: dict[str, str]) -> dict[str, Any]:
    """A moto object as the AWS-shaped document patch_operations works on."""
    found = {name: copy.deepcopy(getattr(model, attribute, None)) for name, attribute in members.items()}
    return {name: value for name, value in found.items() if value is not None}


def _write_back(model: Any, members: dict[str, str], document: dict[str, Any]) -> None:
    for name, attribute in members.items():
        setattr(model, attribute, document.get(name))


def answering_patch_errors(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A PatchError becomes AWS's JSON error answer (status, x-amzn-ErrorType, message)."""
    import functools

    from harness.localaws.patch_operations import PatchError

    @functools.wraps(handler)
    def answer(self: Any) -> Any:
        try:
            return handler(self)
        except PatchError as error:
            return self.error(error.code, error.message, error.status)

    return answer


def path_parts(response: Any) -> list[str]:
    from urllib.parse import unquote

    return [unquote(part) for part in response.path.split("/")]


def _find_method(response: Any, api_id: str, resource_id: str, http_method: str) -> tuple[Any, Any, Any]:
    """(api, resource, method), or the NotFoundException AWS answers (recorded messages)."""
    from harness.localaws.patch_operations import not_found

    api = response.backend.apis.get(api_id)
    resource = api.resources.get(resource_id) if api is not None else None
    if resource is None:
        raise not_found("Invalid Resource identifier specified")
    method = resource.resource_methods.get(http_method)
    if method is None:
        raise not_found("Invalid Method identifier specified")
    return api, resource, method


def requested_patch_operations(response: Any) -> list[dict[str, Any]]:
    return list(response._get_param("patchOperations") or [])


def _update_method(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_METHOD, operations)
    api, _, method = _find_method(self, parts[2], parts[4], parts[6])
    patched = po.apply(po.UPDATE_METHOD, _document(method, METHOD_MEMBERS), operations)
    patched = po.check_method(patched, api.authorizers, api.request_validators)
    patched.setdefault("apiKeyRequired", False)
    _write_back(method, METHOD_MEMBERS, patched)
    return 200, {}, json.dumps(method.to_json())


def _update_integration(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_INTEGRATION, operations)
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    integration = method.method_integration
    if integration is None:
        raise po.not_found("Invalid Integration identifier specified")
    patched = po.apply(po.UPDATE_INTEGRATION, _document(integration, INTEGRATION_MEMBERS), operations)
    patched.setdefault("cacheKeyParameters", [])
    _write_back(integration, INTEGRATION_MEMBERS, patched)
    return 200, {}, json.dumps(integration.to_json())


def _update_integration_response(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_INTEGRATION_RESPONSE, operations, po.status_code_problem(parts[9]))
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    if method.method_integration is None:
        raise po.not_found("Invalid Integration identifier specified")
    found = (method.method_integration.integration_responses or {}).get(parts[9])
    if found is None:
        raise po.not_found("Invalid Response status code specified")
    patched = po.apply(po.UPDATE_INTEGRATION_RESPONSE, _document(found, INTEGRATION_RESPONSE_MEMBERS), operations)
    patched.setdefault("responseTemplates", {})
    _write_back(found, INTEGRATION_RESPONSE_MEMBERS, patched)
    return 200, {}, json.dumps(found.to_json())


def _update_method_response(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_METHOD_RESPONSE, operations, po.status_code_problem(parts[8]))
    _, _, method = _find_method(self, parts[2], parts[4], parts[6])
    found = method.method_responses.get(parts[8])
    if found is None:
        raise po.not_found("Invalid Response status code specified")
    patched = po.apply(po.UPDATE_METHOD_RESPONSE, _document(found, METHOD_RESPONSE_MEMBERS), operations)
    _write_back(found, METHOD_RESPONSE_MEMBERS, patched)
    return 200, {}, json.dumps({k: v for k, v in found.to_json().items() if v is not None})


def _update_resource(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_RESOURCE, operations)
    api = self.backend.apis.get(parts[2])
    resource = api.resources.get(parts[4]) if api is not None else None
    if resource is None:
        raise po.not_found("Invalid Resource identifier specified")
    before = _document(resource, RESOURCE_MEMBERS)
    patched = po.apply(po.UPDATE_RESOURCE, before, operations)
    if patched != before:
        nodes = {r.id: po.ResourceNode(r.id, r.parent_id, r.path_part) for r in api.resources.values()}
        po.check_resource(nodes, resource.id, before, patched)
        _write_back(resource, RESOURCE_MEMBERS, patched)
    return 200, {}, json.dumps(resource.to_dict())


def _update_deployment(self: Any) -> Any:
    from harness.localaws import patch_operations as po

    parts = path_parts(self)
    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_DEPLOYMENT, operations)
    api = self.backend.apis.get(parts[2])
    deployment = api.deployments.get(parts[4]) if api is not None else None
    if deployment is None:
        raise po.not_found("Invalid Deployment identifier specified")
    patched = po.apply(po.UPDATE_DEPLOYMENT, _document(deployment, DEPLOYMENT_MEMBERS), operations)
    patched.setdefault("description", "")
    _write_back(deployment, DEPLOYMENT_MEMBERS, patched)
    return 200, {}, json.dumps(deployment.to_json())


UPDATE_HANDLERS: dict[str, Callable[[Any], Any]] = {
    "update_method": _update_method,
    "update_integration": _update_integration,
    "update_integration_response": _update_integration_response,
    "update_method_response": _update_method_response,
    "update_resource": _update_resource,
    "update_deployment": _update_deployment,
}


def patch_update_operations() -> None:
    from moto.apigateway import responses as apigw_responses

    for name, handler in UPDATE_HANDLERS.items():
        setattr(apigw_responses.APIGatewayResponse, name, answering_patch_errors(handler))


def patch_integration_extra_members() -> None:
    """Gap: moto's Integration has no connectionId or integrationTarget, which UpdateIntegration
    may set (Patch Operations table) and GetIntegration then returns."""
    from moto.apigateway import models as apigw_models

    original = apigw_models.Integration.to_json

    def to_json(self: Any) -> dict[str, Any]:
        result = original(self)
        for name in ("connectionId", "integrationTarget"):
            value = getattr(self, INTEGRATION_MEMBERS[name], None)
            if value is not None:
                result[name] = value
        return result

    apigw_models.Integration.to_json = to_json
