"""Payload encodings: when API Gateway treats a body as binary, and what it hands on.

Source: "Content type conversions in API Gateway"
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
and "Binary media types for REST APIs"
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html

Request side: a body is binary when its Content-Type matches an entry of the API's
binaryMediaTypes (exact, `type/*`, or `*/*`, which matches every type, an absent one
included). Then:

    binary + undefined          -> bytes as is
    binary + CONVERT_TO_BINARY  -> bytes as is
    binary + CONVERT_TO_TEXT    -> base64-encoded string
    text   + undefined          -> UTF-8 string (invalid sequences become U+FFFD)
    text   + CONVERT_TO_TEXT    -> UTF-8 string (likewise)
    text   + CONVERT_TO_BINARY  -> base64-decoded blob (invalid base64: 500)

AWS's table also lists "text payload whose Content-Type matches + CONVERT_TO_BINARY ->
base64-decoded". API Gateway cannot tell text from binary other than by Content-Type,
so a matching Content-Type always takes the binary rows here; the choice is this one
constant, so it can be flipped if AWS is shown to behave otherwise.

Response side: the same rules, keyed by the first media type of the request's Accept
header and the integration response's contentHandling.

UTF-8 decoding replaces each maximal invalid subsequence with U+FFFD (EF BF BD), as
Python's and Java's decoders do; a lone invalid byte is one U+FFFD.
"""

from __future__ import annotations

import base64
import binascii

CONVERT_TO_TEXT = "CONVERT_TO_TEXT"
CONVERT_TO_BINARY = "CONVERT_TO_BINARY"
MATCHING_TYPE_WITH_CONVERT_TO_BINARY_DECODES_BASE64 = False


class InvalidBase64Error(ValueError):
    """The body had to be base64-decoded but is not base64 (API Gateway answers 500)."""


def media_type(header_value: str | None) -> str | None:
    """`Image/PNG; charset=x` -> `image/png`; None or blank -> None."""
    if not header_value:
        return None
    essence = header_value.split(";", 1)[0].strip().lower()
    return essence or None


def is_binary(content_type: str | None, binary_media_types: list[str] | None) -> bool:
    """Does this Content-Type (or Accept type) match the API's binaryMediaTypes?"""
    wanted = media_type(content_type)
    for entry in binary_media_types or []:
        entry = entry.strip().lower()
        if entry == "*/*":
            return True
        if wanted is None:
            continue
        if entry.endswith("/*"):
            if wanted.split("/", 1)[0] == entry[:-2]:
                return True
        elif wanted == entry:
            return True
    return False


def to_utf8_text(body: bytes) -> bytes:
    return body.decode("utf-8", errors="replace").encode("utf-8")


def _b64decode(body: bytes) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidBase64Error(str(exc)) from exc


def convert(body: bytes, binary: bool, content_handling: str | None) -> bytes:
    """Apply the conversion table to a body whose binary-ness has been decided."""
    if binary:
        if content_handling == CONVERT_TO_TEXT:
            return base64.b64encode(body)
        if (
            content_handling == CONVERT_TO_BINARY
            and MATCHING_TYPE_WITH_CONVERT_TO_BINARY_DECODES_BASE64
        ):
            return _b64decode(body)
        return body
    if content_handling == CONVERT_TO_BINARY:
        return _b64decode(body)
    return to_utf8_text(body)


def convert_request(
    body: bytes,
    content_type: str | None,
    binary_media_types: list[str] | None,
    content_handling: str | None,
) -> bytes:
    return convert(body, is_binary(content_type, binary_media_types), content_handling)

