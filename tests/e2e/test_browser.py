"""Uploads from a real browser: headless Chromium PUTs a File from a page on another origin.

Every other check speaks HTTP from Python, which no CORS rule binds; these go through the
browser's own CORS enforcement, as a web page would. The page is served from a loopback origin
the stack allows (its `cors_allowed_origins`; the e2e stack allows http://127.0.0.1:14263), and
its JavaScript calls `fetch(url, {method: "PUT", body: file})`. What is expected:
- A cross-origin PUT is never "simple", so the browser first sends a preflight OPTIONS without
  credentials, which the API must answer 2xx with Access-Control-Allow-Origin, -Methods and
  -Headers covering what the page sends; the PUT's answer must carry the origin too, or the
  page cannot read it ("CORS for REST APIs in API Gateway",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html; the Fetch
  standard's CORS protocol, https://fetch.spec.whatwg.org/#http-cors-protocol).
- API Gateway's own refusals (403 without a key or a signature) reach the page only through
  gateway responses (DEFAULT_4XX) carrying the origin ("Gateway responses for REST APIs").
- From an origin the stack does not allow, the preflight's origin does not match and the
  browser sends no PUT at all: fetch rejects, nothing is stored.
- Over 10,485,760 bytes API Gateway answers 413 REQUEST_TOO_LARGE, which cannot be customised
  (API Gateway known issues); whether it carries DEFAULT_4XX's headers is the assumption
  oversize-413-carries-no-cors-headers, recorded per target. A page must check a file's size
  before sending it.
Each check runs in a fresh browser context (no shared preflight cache) and sends what the
stack's caller check needs: nothing, `x-api-key`, or a SigV4 signature made here for the exact
URL and body (the page cannot sign; it sends the headers it is given).
"""

import base64
import json
import uuid

import pytest

from harness.client.readback import MAX_PAYLOAD_BYTES, png_image, sha256

# JavaScript run in the page: build a File, PUT it with fetch, report what the page can see.
UPLOAD_JS = """
async ({url, bytes, size, contentType, headers}) => {
  const raw = size === null ? Uint8Array.from(atob(bytes), c => c.charCodeAt(0)) : new Uint8Array(size);
  const file = new File([raw], "upload.bin", {type: contentType});
  try {
    const answer = await fetch(url, {method: "PUT", body: file, headers: {"Content-Type": contentType, ...headers},
                                      signal: AbortSignal.timeout(120000)});
    return {read: true, status: answer.status, body: await answer.text(), sent: file.size};
  } catch (error) {
    return {read: false, error: String(error), sent: file.size};
  }
}
"""
REFUSALS = {  # what each caller check answers a page that sends no credentials
    "API_KEY": {"message": "Forbidden"},
    "AWS_IAM": {"message": "Missing Authentication Token"},
}


def _upload(chromium, origin, url, *, body=None, size=None, content_type="application/octet-stream",
            headers=None):
    """Open the test page at `origin` in a fresh context and PUT a File there; (what the page saw, console lines)."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{origin}/", timeout=30_000)
        seen = page.evaluate(UPLOAD_JS, {
            "url": url, "bytes": base64.b64encode(body).decode() if body is not None else None,
            "size": size, "contentType": content_type, "headers": headers or {}})
        return seen, console
    finally:
        context.close()


def _credentials(upload_client, url, body):
    """The caller check's headers for this exact PUT (nothing, x-api-key, or a SigV4 signature)."""
    return upload_client.auth.headers("PUT", url, body)


def test_browser_upload_is_byte_identical(chromium, page_origins, upload_client, s3_readback, object_key):
    body = png_image(64, 64) + bytes(range(256))
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # what a text conversion anywhere on the way would mangle
    url = upload_client.url(object_key)
    seen, console = _upload(chromium, page_origins.allowed, url, body=body, content_type="image/png",
                            headers=_credentials(upload_client, url, body))
    assert seen["read"] and seen["status"] == 200, (seen, console)
    stored = s3_readback.get(object_key)
    assert (stored.size, stored.sha256, stored.content_type) == (len(body), sha256(body), "image/png")
    # Shown with -rP (what a closing note or a reviewer quotes): what the page sent, what S3 holds.
    print(f"observed: page {page_origins.allowed} PUT {len(body)} bytes; S3 holds {stored.size} bytes, "
          f"sha256 {stored.sha256}, {stored.content_type}")


def test_browser_reads_the_caller_checks_refusal(chromium, page_origins, stack_outputs, upload_client,
                                                 s3_readback, object_key):
    if stack_outputs.authorization not in REFUSALS:
        pytest.skip(f"the stack was applied with authorization={stack_outputs.authorization}, which refuses no "
                    "caller (apply with --stack-var authorization='\"API_KEY\"' or '\"AWS_IAM\"')")
    seen, console = _upload(chromium, page_origins.allowed, upload_client.url(object_key), body=b"no credentials",
                            content_type="text/plain")
    assert seen["read"], (seen, console)  # the 403 carries the origin (DEFAULT_4XX)
    assert seen["status"] == 403, seen
    assert json.loads(seen["body"]) == REFUSALS[stack_outputs.authorization]
    assert not s3_readback.exists(object_key)
    print(f"observed: the page read {seen['status']} {seen['body']}; nothing stored")


def test_browser_reads_an_s3_refusal(chromium, page_origins, upload_client, s3_readback, object_key):
    """A write S3 refuses (a bucket the role may not write) comes back through a mapped error response."""
    foreign = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    url = upload_client.url(object_key, bucket=foreign)
    body = b"to a bucket the role may not write"
    seen, console = _upload(chromium, page_origins.allowed, url, body=body, content_type="text/plain",
                            headers=_credentials(upload_client, url, body))
    assert seen["read"], (seen, console)  # the mapped 403/404 carries the origin
    assert seen["status"] in (403, 404), seen
    assert not s3_readback.exists(object_key)


def test_browser_oversize_upload_is_refused_and_nothing_is_stored(chromium, page_origins, upload_client,
                                                                  s3_readback, object_key, assumption):
    size = MAX_PAYLOAD_BYTES + 1
    url = upload_client.url(object_key)
    seen, console = _upload(chromium, page_origins.allowed, url, size=size,
                            headers=_credentials(upload_client, url, b"\0" * size))
    assert seen["sent"] == size
    observed = (f"the page read status {seen['status']}" if seen["read"]
                else f"the page saw only a failed fetch ({seen['error']})")
    assumption("oversize-413-carries-no-cors-headers", not seen["read"], observed)
    assert not seen["read"] or seen["status"] == 413, (seen, console)
    assert not s3_readback.exists(object_key)
    assert s3_readback.keys(prefix=object_key) == []
    print(f"observed: {size} bytes sent; {observed}; nothing stored under {object_key}")


def test_browser_preflight_passes_without_credentials(page_origins, stack_outputs, upload_client, object_key):
    """The preflight exactly as Chromium sends it for these checks' PUTs: no key, no signature."""
    wanted = {"content-type", *{"API_KEY": ["x-api-key"], "AWS_IAM": ["authorization", "x-amz-date"]}.get(
        stack_outputs.authorization, [])}
    answer = upload_client.session.options(upload_client.url(object_key), timeout=upload_client.timeout, headers={
        "Origin": page_origins.allowed, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": ",".join(sorted(wanted))})
    assert 200 <= answer.status_code < 300, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] in (page_origins.allowed, "*")
    assert "PUT" in answer.headers["Access-Control-Allow-Methods"].split(",")
    allowed = {name.strip().lower() for name in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert wanted <= allowed, (wanted, allowed)
    print(f"observed: preflight without credentials answered {answer.status_code}, allows "
          f"{answer.headers['Access-Control-Allow-Headers']}")


def test_browser_blocks_a_disallowed_origin_at_the_preflight(chromium, page_origins, upload_client, s3_readback,
                                                             object_key):
    if page_origins.other is None:
        pytest.skip("the stack allows every origin (cors_allowed_origins=[\"*\"]): no origin is disallowed")
    body = b"from a page the stack does not allow"
    url = upload_client.url(object_key)
    seen, console = _upload(chromium, page_origins.other, url, body=body, content_type="text/plain",
                            headers=_credentials(upload_client, url, body))
    assert not seen["read"] and "Failed to fetch" in seen["error"], seen
    blocked = [line for line in console if "preflight" in line and page_origins.other in line]
    assert blocked, console
    assert not s3_readback.exists(object_key)
    print(f"observed: {seen['error']}; Chromium: {blocked[0]}; nothing stored")
