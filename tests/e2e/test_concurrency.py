"""Concurrency: parallel uploads with distinct keys all arrive intact."""

import os
from concurrent.futures import ThreadPoolExecutor

from harness.client.readback import sha256

UPLOADS = 24
WORKERS = 8


def test_concurrency_parallel_uploads_arrive_intact(upload_client, s3_readback, object_key):
    bodies = {f"{object_key}/{i:03d}": os.urandom(64 * 1024 + i) for i in range(UPLOADS)}

    def upload(item):
        key, body = item
        client = upload_client.fresh()  # one HTTP session per thread, same caller check
        response = client.put(key, body, content_type="application/octet-stream")
        return key, (response.status_code, response.text[:300])

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = dict(pool.map(upload, bodies.items(), timeout=120))
    assert {status for status, _ in statuses.values()} == {200}, list(statuses.values())[:2]
    assert sorted(s3_readback.keys(prefix=object_key)) == sorted(bodies)
    for key, body in bodies.items():
        assert s3_readback.get(key).sha256 == sha256(body)
