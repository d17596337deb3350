"""Pure logic: payload encodings, routing, response selection, policies, names, overrides."""

import base64

import pytest

from harness.errors import TargetError, WorkspaceError
from harness.lifecycle.workspace import throwaway_name, validate_workspace_name
from harness.localaws import encodings
from harness.localaws.controlplane.s3 import conditions_hold
from harness.localaws.credentials import trusts_service
from harness.localaws.integration import select_integration_response
from harness.localaws.routing import match_route
from harness.targets.target import Target, provider_override

INVALID_UTF8 = b"ok\xff\xfe\xc3("


@pytest.mark.parametrize(
    ("content_type", "types", "binary"),
    [
        ("image/png", ["*/*"], True),
        (None, ["*/*"], True),
        ("image/png", ["image/*"], True),
        ("text/plain", ["image/*"], False),
        ("Image/PNG; q=1", ["image/png"], True),
        ("application/json", [], False),
        ("application/json", None, False),
    ],
)
def test_binary_media_type_matching(content_type, types, binary):
    assert encodings.is_binary(content_type, types) is binary


def test_text_body_replaces_invalid_utf8_with_replacement_character():
    converted = encodings.convert_request(INVALID_UTF8, "text/plain", [], None)
    assert converted == b"ok" + "\ufffd".encode() * 3 + b"("


def test_binary_body_passes_unchanged_even_if_invalid_utf8():
    assert encodings.convert_request(INVALID_UTF8, "image/png", ["*/*"], None) == INVALID_UTF8
    assert encodings.convert_request(INVALID_UTF8, "image/png", ["*/*"], "CONVERT_TO_BINARY") == INVALID_UTF8


def test_convert_to_text_base64_encodes_binary_and_keeps_text():
    encoded = encodings.convert_request(b"\x00\x01", "image/png", ["*/*"], "CONVERT_TO_TEXT")
    assert encoded == base64.b64encode(b"\x00\x01")
    assert encodings.convert_request(b"caf\xc3\xa9", "text/plain", [], "CONVERT_TO_TEXT") == b"caf\xc3\xa9"


def test_convert_to_binary_decodes_text_and_rejects_invalid_base64():
    decoded = encodings.convert_request(base64.b64encode(b"\xff\x00"), "text/plain", [], "CONVERT_TO_BINARY")
    assert decoded == b"\xff\x00"
    with pytest.raises(encodings.InvalidBase64Error):
        encodings.convert_request(b"not base64!!", "text/plain", [], "CONVERT_TO_BINARY")


RESOURCES = [
    {"path": "/"},
    {"path": "/{bucket}"},
    {"path": "/{bucket}/{filename}"},
    {"path": "/static/{filename}"},
    {"path": "/files/{proxy+}"},
]


@pytest.mark.parametrize(
    ("path", "template", "params"),
    [
        ("/", "/", {}),
        ("/b/k", "/{bucket}/{filename}", {"bucket": "b", "filename": "k"}),
        ("/b/a%2Fb%20c", "/{bucket}/{filename}", {"bucket": "b", "filename": "a/b c"}),
        ("/static/x", "/static/{filename}", {"filename": "x"}),
        ("/files/a/b/c", "/files/{proxy+}", {"proxy": "a/b/c"}),
        ("/b/%2E%2E", "/{bucket}/{filename}", {"bucket": "b", "filename": ".."}),  # encoded: data
        ("/x/../b/k", "/{bucket}/{filename}", {"bucket": "b", "filename": "k"}),  # raw: resolved first
    ],
)
def test_route_matching_prefers_literals_and_decodes(path, template, params):
    resource, got = match_route(RESOURCES, path)
    assert (resource["path"], got) == (template, params)


def test_route_miss():
    assert match_route(RESOURCES, "/a/b/c") is None
    assert match_route([{"path": "/{bucket}/{filename}"}], "/only") is None


def test_integration_response_selection_full_match_and_default():
    responses = {
        "200": {"statusCode": "200"},
        "403": {"statusCode": "403", "selectionPattern": "403"},
        "500": {"statusCode": "500", "selectionPattern": "5[0-9]{2}"},
    }
    assert select_integration_response(responses, 403)["statusCode"] == "403"
    assert select_integration_response(responses, 503)["statusCode"] == "500"
    assert select_integration_response(responses, 404)["statusCode"] == "200"
    assert select_integration_response({"4": {"statusCode": "400", "selectionPattern": "4"}}, 404) is None


def test_trust_policy_for_api_gateway():
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    assert trusts_service(trust, "apigateway.amazonaws.com")
    assert not trusts_service(trust, "lambda.amazonaws.com")
    denied = {"Statement": [*trust["Statement"], {**trust["Statement"][0], "Effect": "Deny"}]}
    assert not trusts_service(denied, "apigateway.amazonaws.com")


def test_conditions():
    tls_false = {"Bool": {"aws:SecureTransport": "false"}}
    assert not conditions_hold(tls_false, {"aws:SecureTransport": "true"})
    assert conditions_hold(tls_false, {"aws:SecureTransport": "false"})
    assert not conditions_hold({"IpAddress": {"aws:SourceIp": "1.2.3.4"}}, {})


@pytest.mark.parametrize("name", ["default", "Bad", "has_underscore", "-lead", "x" * 33, ""])
def test_workspace_names_rejected(name):
    with pytest.raises(WorkspaceError):
        validate_workspace_name(name)


def test_throwaway_name_shape():
    assert throwaway_name("1a2b3c4d", "gw0") == "t-1a2b3c4d-gw0"


def test_provider_override_names_arguments_per_major_version():
    v3, v5 = provider_override("3.39.0"), provider_override("5.80.0")
    assert "s3_force_path_style" in v3 and "skip_get_ec2_platforms" in v3
    assert "s3_use_path_style" in v5 and "skip_get_ec2_platforms" not in v5 and "s3_force_path_style" not in v5


def test_target_validation():
    with pytest.raises(TargetError):
        Target("nowhere")
    with pytest.raises(TargetError):
        Target("endpoint")
    assert Target("endpoint", "http://127.0.0.1:1/").endpoint == "http://127.0.0.1:1"
