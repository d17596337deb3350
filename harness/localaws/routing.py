"""Routing of execute-api requests: which API, stage, resource and path parameters.

- Invocation URL, both local forms: `/restapis/{api}/{stage}/_user_request_/{path}` and
  host `{api}.execute-api.localhost` with path `/{stage}/{path}`.
- Literal segments beat `{param}`, which beats greedy `{param+}`. Path parameters are
  URL-decoded ("REST APIs decode URL-encoded request parameters before passing them to
  backend integrations", API Gateway known issues page).
- A method is the resource's own for the HTTP method, else its `ANY`. `OPTIONS` is routed
  like any other method: a REST API has no built-in CORS answer (HTTP APIs have one), so a
  browser's preflight reaches only an OPTIONS (or ANY) method the API defines, and is
  otherwise refused like any unknown method ("CORS for REST APIs in API Gateway",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote

# Unconfirmed: whether API Gateway resolves raw `.`/`..` path segments (RFC 3986 5.2.4)
# before routing. Resolving them is what URL-normalising front ends do, and means a raw
# `/{bucket}/../{other}/{key}` is routed as `/{other}/{key}`, where IAM decides. A `..`
# sent percent-encoded (`%2E%2E%2F`) is data inside one segment either way.
RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING = True

EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.[^:]+(:\d+)?$", re.I)
USER_REQUEST_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<rest>/.*)?$")


def is_execute_api_request(environ: dict[str, Any]) -> bool:
    host = environ.get("HTTP_HOST", "")
    if EXECUTE_API_HOST.match(host):
        return True
    return "/_user_request_" in environ.get("PATH_INFO", "")


def _raw_path(environ: dict[str, Any]) -> tuple[str, str]:
    """The request path as sent (still percent-encoded) and its query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    if "://" in raw:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    path, _, query = raw.partition("?")
    return path, query or environ.get("QUERY_STRING", "")


def raw_request_path(environ: dict[str, Any]) -> str:
    """The request path exactly as sent (what a SigV4 signature covers)."""
    return _raw_path(environ)[0]


def parse_invocation(environ: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(api_id, stage, encoded resource path, query) or None if not an invocation."""
    path, query = _raw_path(environ)
    host_match = EXECUTE_API_HOST.match(environ.get("HTTP_HOST", ""))
    if host_match:
        stage, _, rest = path.lstrip("/").partition("/")
        return host_match.group("api"), unquote(stage), "/" + rest, query
    path_match = USER_REQUEST_PATH.match(path)
    if path_match:
        return path_match.group("api"), unquote(path_match.group("stage")), path_match.group("rest") or "/", query
    return None


def resolve_dot_segments(encoded_path: str) -> str:
    """RFC 3986 remove_dot_segments on raw (still encoded) segments; `..` never climbs above `/`."""
    output: list[str] = []
    segments = encoded_path.split("/")[1:] if encoded_path.startswith("/") else encoded_path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _segments(encoded_path: str) -> list[str]:
    if RESOLVE_DOT_SEGMENTS_BEFORE_ROUTING:
        encoded_path = resolve_dot_segments(encoded_path)
    parts = encoded_path.strip("/").split("/") if encoded_path.strip("/") else []
    return [unquote(part) for part in parts]


def match_route(
    resources: Iterable[dict[str, Any]], encoded_path: str
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The most specific resource matching the path, and its decoded path parameters."""
    request_segments = _segments(encoded_path)
    best: tuple[tuple[int, ...], dict[str, Any], dict[str, str]] | None = None
    for resource in resources:
        template = [s for s in resource["path"].split("/") if s]
        params: dict[str, str] = {}
        score: list[int] = []
        matched = True
        for index, part in enumerate(template):
            greedy = part.startswith("{") and part.endswith("+}")
            if greedy:
                if index != len(template) - 1 or index >= len(request_segments):
                    matched = False
                    break
                params[part[1:-2]] = "/".join(request_segments[index:])
                score.append(0)
                break
            if index >= len(request_segments):
                matched = False
                break
            segment = request_segments[index]
            if part.startswith("{") and part.endswith("}"):
                if segment == "":
                    matched = False
                    break
                params[part[1:-1]] = segment
                score.append(1)
            elif part == segment:
                score.append(2)
            else:
                matched = False
                break
        else:
            if len(template) != len(request_segments):
                matched = False
        if matched and (best is None or tuple(score) > best[0]):
            best = (tuple(score), resource, params)
    return (best[1], best[2]) if best else None


def select_method(resource: dict[str, Any] | None, http_method: str) -> dict[str, Any] | None:
    """The resource's method for this HTTP method, falling back to `ANY`."""
    methods = (resource.get("resourceMethods") or {}) if resource else {}
    return methods.get(http_method.upper()) or methods.get("ANY")
