"""What one large upload costs the local AWS in memory, and that it still stores exactly what was sent.

The benchmark's budget (issue 15: local AWS peak RSS <= 200 MB during 4 x 9.5 MiB
uploads) holds only while each upload body exists about once in the server; these tests
catch a change that brings back a copy, with Python's own allocation tracing, which is
exact and does not depend on the machine's load (unlike RSS sampling).
"""

import hashlib
import os
import subprocess
import sys
import tracemalloc

import pytest
import requests

BODY_BYTES = int(9.5 * 1024 * 1024)
# The body read from the socket is the one copy the gateway needs (it must have the whole
# body before calling S3: quota, signature, base64). Everything else is small: 1 MiB for
# the ETag's read-back (controlplane.speedups.ETAG_READ_BYTES) plus bookkeeping. Before the copies
# were cut this was 4.7 bodies.
MAX_BODIES_HELD = 1.5


def test_a_large_upload_is_held_about_once_and_stored_exactly(aws, build_api):
    api = build_api()
    body = os.urandom(BODY_BYTES)
    session = requests.Session()
    assert session.put(f"{api.url}/{api.bucket}/warm", data=b"x").status_code == 200  # first-call set-up
    tracemalloc.start()
    try:
        response = session.put(f"{api.url}/{api.bucket}/big", data=body,
                               headers={"Content-Type": "application/octet-stream"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert peak / BODY_BYTES <= MAX_BODIES_HELD, f"{peak / BODY_BYTES:.2f} bodies held at the peak"
    stored = aws("s3").get_object(Bucket=api.bucket, Key="big")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(body).hexdigest()
    # S3's ETag of a single-part upload is the MD5 of its bytes; read back in pieces now.
    assert stored["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    assert response.headers["ETag"].strip('"') == hashlib.md5(body).hexdigest()


def test_objects_below_and_above_the_in_memory_size_are_stored_exactly(aws):
    """moto keeps objects up to ~5 MiB in memory and spills larger ones to a file at once."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="sizes")
    for size in (0, 1, 5 * 1024 * 1024 - 1025, 5 * 1024 * 1024 - 1024, 5 * 1024 * 1024, 6 * 1024 * 1024):
        body = os.urandom(size)
        s3.put_object(Bucket="sizes", Key=f"k{size}", Body=body)
        got = s3.get_object(Bucket="sizes", Key=f"k{size}")
        assert got["Body"].read() == body, size
        assert got["ETag"].strip('"') == hashlib.md5(body).hexdigest(), size
    # Overwriting a spilled object with a small one replaces it whole.
    s3.put_object(Bucket="sizes", Key=f"k{6 * 1024 * 1024}", Body=b"small")
    assert s3.get_object(Bucket="sizes", Key=f"k{6 * 1024 * 1024}")["Body"].read() == b"small"


@pytest.mark.slow  # starts local AWS children: seconds; `make test`, not `make check`
def test_the_child_process_gets_a_fixed_mmap_threshold_unless_the_caller_sets_one(tmp_path):
    script = ("import os, sys\n"
              "from harness.localaws import process\n"
              "server = process.start()\n"
              "try:\n"
              "    env = dict(e.split('=', 1) for e in open(f'/proc/{server.pid}/environ').read().split('\\0') if e)\n"
              "    print(env.get('MALLOC_MMAP_THRESHOLD_'), env.get('MALLOC_ARENA_MAX'))\n"
              "finally:\n"
              "    server.stop()\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    default = subprocess.run([sys.executable, "-c", script], env=base, capture_output=True, text=True, timeout=60)
    assert default.stdout.split() == ["131072", "2"], default.stderr
    chosen = subprocess.run([sys.executable, "-c", script], env={**base, "MALLOC_MMAP_THRESHOLD_": "65536"},
                            capture_output=True, text=True, timeout=60)
    assert chosen.stdout.split() == ["65536", "2"], chosen.stderr
