"""Keys land exactly where S3 semantics put them, never outside the bucket."""

import pytest

from harness.client.readback import sha256

KEYS = {
    "space": "with space.txt",
    "unicode": "naïve-ファイル-😀.bin",
    "slash": "dir/sub/file.txt",
    "dot-dot": "../escape.txt",
    "dot-dot-middle": "a/../b.txt",
    "long": "k" * 900,
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_keys_land_verbatim(name, upload_client, s3_readback, object_key):
    key = f"{object_key}/{KEYS[name]}"
    body = f"body of {name}".encode()
    response = upload_client.put(key, body, content_type="text/plain")
    assert response.status_code == 200, response.text
    stored = s3_readback.get(key)
    assert stored.sha256 == sha256(body)
    assert key in s3_readback.keys(prefix=object_key)


def test_keys_second_put_replaces_first(upload_client, s3_readback, object_key, stack_outputs):
    policy = stack_outputs.values.get("overwrite_policy") or "replace"
    if policy != "replace":  # the other policies: tests/e2e/test_overwrites.py
        pytest.skip(f"the stack was applied with overwrite_policy={policy}: apply it with "
                    "--stack-var 'overwrite_policy=\"replace\"' to run this check")
    assert upload_client.put(object_key, b"first", content_type="text/plain").status_code == 200
    assert upload_client.put(object_key, b"second!", content_type="text/csv").status_code == 200
    stored = s3_readback.get(object_key)
    assert (stored.sha256, stored.content_type) == (sha256(b"second!"), "text/csv")
    assert s3_readback.keys(prefix=object_key) == [object_key]
