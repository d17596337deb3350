"""Gateway responses as AWS keeps them: every REST API answers every response type with
that type's default until PutGatewayResponse or UpdateGatewayResponse overrides it, and
again after DeleteGatewayResponse. moto's Get/Put/DeleteGatewayResponse handlers are
replaced (their pinned source digests in `controlplane.PATCHES`) and UpdateGatewayResponse,
which moto lacks, is added.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from harness.localaws.controlplane.apigateway_updates import (
    answering_patch_errors,
    path_parts,
    requested_patch_operations,
)

# Every REST API answers every gateway response type: its default until PutGatewayResponse or
# UpdateGatewayResponse overrides it (`defaultResponse: false`), and the default again after
# DeleteGatewayResponse. Sources: API reference GatewayResponse
# (https://docs.aws.amazon.com/apigateway/latest/api/API_GatewayResponse.html), "Gateway response
# types" (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
# and AWS's answers recorded in LocalStack's test_apigateway_api.snapshot.json
# (TestApiGatewayGatewayResponse::test_gateway_response_crud, _put, _validation, test_update_gateway_response).

# Each type's default status, in the order AWS lists the types (its ValidationException, recorded);
# DEFAULT_4XX and DEFAULT_5XX have none.
GATEWAY_RESPONSE_DEFAULT_STATUS: dict[str, str | None] = {
    "REQUEST_TOO_LARGE": "413", "RESOURCE_NOT_FOUND": "404", "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "MISSING_AUTHENTICATION_TOKEN": "403", "BAD_REQUEST_BODY": "400", "INVALID_SIGNATURE": "403",
    "INVALID_API_KEY": "403", "BAD_REQUEST_PARAMETERS": "400", "AUTHORIZER_FAILURE": "500",
    "UNAUTHORIZED": "401", "INTEGRATION_TIMEOUT": "504", "ACCESS_DENIED": "403", "DEFAULT_4XX": None,
    "DEFAULT_5XX": None, "WAF_FILTERED": "403", "QUOTA_EXCEEDED": "429", "THROTTLED": "429",
    "API_CONFIGURATION_ERROR": "500", "UNSUPPORTED_MEDIA_TYPE": "415", "INTEGRATION_FAILURE": "504",
    "EXPIRED_TOKEN": "403",
}
GATEWAY_RESPONSE_DEFAULT_TEMPLATES = {"application/json": '{"message":$context.error.messageString}'}


def default_gateway_response(response_type: str) -> dict[str, Any]:
    """The type's own default, as GetGatewayResponse answers it on an untouched API (recorded)."""
    document: dict[str, Any] = {
        "responseType": response_type, "defaultResponse": True, "responseParameters": {},
        "responseTemplates": dict(GATEWAY_RESPONSE_DEFAULT_TEMPLATES),
    }
    status = GATEWAY_RESPONSE_DEFAULT_STATUS[response_type]
    if status is not None:
        document["statusCode"] = status
    return document


def effective_gateway_response(response_type: str, explicit: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What GetGatewayResponse answers: the override, or the default, which follows an overridden
    DEFAULT_5XX (recorded: status, parameters and templates, still `defaultResponse: true`) or
    DEFAULT_4XX ("Changing the status code of this fallback gateway response changes the status
    codes of all other 4XX responses", Gateway response types; its parameters and templates are
    taken along as for 5XX, which for 4XX is *unconfirmed*)."""
    if response_type in explicit:
        return explicit[response_type]
    document = default_gateway_response(response_type)
    status = document.get("statusCode")
    family = {"4": "DEFAULT_4XX", "5": "DEFAULT_5XX"}.get(status[0]) if status else None
    if family in explicit:
        for name in ("statusCode", "responseParameters", "responseTemplates"):
            if name in explicit[family]:
                document[name] = copy.deepcopy(explicit[family][name])
    return document


def _gateway_response_api(response: Any) -> tuple[Any, str]:
    """(api, response type) of a gateway-response call, or AWS's error (recorded messages)."""
    from harness.localaws.patch_operations import PatchError, not_found

    parts = path_parts(response)
    api_id = parts[2]
    response_type = parts[4] if len(parts) > 4 else ""
    if response_type and response_type not in GATEWAY_RESPONSE_DEFAULT_STATUS:
        raise PatchError(400, "ValidationException", (
            f"1 validation error detected: Value '{response_type}' at 'responseType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(GATEWAY_RESPONSE_DEFAULT_STATUS)}]"))
    api = response.backend.apis.get(api_id)
    if api is None:
        raise not_found(f"Invalid API identifier specified {response.current_account}:{api_id}")
    return api, response_type


def _explicit_gateway_responses(api: Any) -> dict[str, dict[str, Any]]:
    return {name: stored.to_json() for name, stored in api.gateway_responses.items()}


def _store_gateway_response(api: Any, document: dict[str, Any]) -> Any:
    """Keep an override where moto keeps it (RestAPI.gateway_responses), every field filled."""
    from moto.apigateway.models import GatewayResponse

    # statusCode is a string ("403") or absent (DEFAULT_4XX/5XX), as moto's own handler passes it.
    stored = GatewayResponse(document["responseType"], document.get("statusCode"),  # type: ignore[arg-type]  # str|None: moto says int
                             document.get("responseParameters") or {}, document.get("responseTemplates") or {})
    api.gateway_responses[document["responseType"]] = stored
    return stored


def _get_gateway_response(self: Any) -> Any:
    api, response_type = _gateway_response_api(self)
    return 200, {}, json.dumps(effective_gateway_response(response_type, _explicit_gateway_responses(api)))


def _get_gateway_responses(self: Any) -> Any:
    api, _ = _gateway_response_api(self)
    explicit = _explicit_gateway_responses(api)
    items = [effective_gateway_response(name, explicit) for name in GATEWAY_RESPONSE_DEFAULT_STATUS]
    return 200, {}, json.dumps({"item": items})


def _delete_gateway_response(self: Any) -> Any:
    from harness.localaws.patch_operations import not_found

    api, response_type = _gateway_response_api(self)
    if response_type not in api.gateway_responses:
        raise not_found("Gateway response type not defined on api")
    del api.gateway_responses[response_type]
    return 202, {}, "{}"


def _put_gateway_response(self: Any) -> Any:
    """Fields left out of the request take the type's own default (recorded: a put of only
    responseParameters answers the type's status and the default template)."""
    api, response_type = _gateway_response_api(self)
    params = json.loads(self.body or "{}")
    document = default_gateway_response(response_type)
    document["defaultResponse"] = False
    for name in ("statusCode", "responseParameters", "responseTemplates"):
        if params.get(name) is not None:
            document[name] = params[name]
    stored = _store_gateway_response(api, document)
    return 201, {}, json.dumps(stored.to_json())


def _update_gateway_response(self: Any) -> Any:
    """An untouched type is patched from its own default and becomes an override (recorded)."""
    from harness.localaws import patch_operations as po

    operations = requested_patch_operations(self)
    po.validate_ops(po.UPDATE_GATEWAY_RESPONSE, operations)
    api, response_type = _gateway_response_api(self)
    current = api.gateway_responses.get(response_type)
    document = current.to_json() if current is not None else default_gateway_response(response_type)
    patched = po.apply(po.UPDATE_GATEWAY_RESPONSE, document, operations)
    patched["defaultResponse"] = False
    stored = _store_gateway_response(api, patched)
    return 200, {}, json.dumps(stored.to_json())


GATEWAY_RESPONSE_HANDLERS: dict[str, Callable[[Any], Any]] = {
    "get_gateway_response": _get_gateway_response,
    "get_gateway_responses": _get_gateway_responses,
    "delete_gateway_response": _delete_gateway_response,
    "put_gateway_response": _put_gateway_response,
    "update_gateway_response": _update_gateway_response,
}


def patch_gateway_responses() -> None:
    """Gap: moto answers GetGatewayResponse on an untouched type with 404, lists only overrides,
    deletes silently what was never set, stores a put's missing fields as null, and has no
    UpdateGatewayResponse."""
    from moto.apigateway import responses as apigw_responses

    for name, handler in GATEWAY_RESPONSE_HANDLERS.items():
        setattr(apigw_responses.APIGatewayResponse, name, answering_patch_errors(handler))
