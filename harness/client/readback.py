"""What the end-to-end checks compare: test bodies, and what S3 really stored.

The bodies are generated, never shipped as opaque blobs: real PNG, gzip and PDF files
are built here with the standard library, so a reader can see what each contains.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from harness.plumbing.waiting import wait_until

MAX_PAYLOAD_BYTES = 10485760


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png_image(width: int = 16, height: int = 16) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x * 16 + y) % 256 for x in range(width * 3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def gzip_file() -> bytes:
    return gzip.compress(b"harness gzip payload\n" * 200, mtime=0)


def pdf_document() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def integrity_bodies() -> dict[str, bytes]:
    """Named bodies whose bytes must arrive unchanged."""
    return {
        "empty": b"",
        "one-byte": b"\x00",
        "every-byte-value": bytes(range(256)),
        "invalid-utf8": b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc",
        "random-1KiB": os.urandom(1024),
        "random-1MiB": os.urandom(1024 * 1024),
        "png": png_image(),
        "gzip": gzip_file(),
        "pdf": pdf_document(),
        "utf8-multibyte": "héllo wörld — 日本語 — 😀 ✓".encode(),
    }


@dataclass
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str | None
    etag: str


class S3ReadBack:
    """Reads back what S3 stored, with a bounded wait for eventual consistency.

    Retries only cover "not there yet" on real AWS; they never turn a wrong body into a
    pass (the caller compares what it finally got).
    """

    def __init__(self, s3_client: Any, bucket: str, deadline_seconds: float = 10.0) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.deadline_seconds = deadline_seconds

    def get(self, key: str, bucket: str | None = None) -> StoredObject:
        """What S3 stored under `key`; `WaitTimeout` if it is not there within `deadline_seconds`."""
        bucket = bucket or self.bucket

        def stored() -> StoredObject | None:
            try:
                response = self.s3.get_object(Bucket=bucket, Key=key)
            except self.s3.exceptions.NoSuchKey:
                return None
            body = response["Body"].read()
            return StoredObject(key, len(body), sha256(body), response.get("ContentType"),
                                response.get("ETag", "").strip('"'))

        return wait_until(stored, self.deadline_seconds, what=f"s3://{bucket}/{key} to be readable",
                          interval=0.1, backoff=2, max_interval=1.0,
                          hint="S3 never had the object: the upload did not store it")

    def checksum_sha256(self, key: str, bucket: str | None = None) -> str | None:
        """The SHA-256 S3 recorded for the object (base64), or None if it recorded none.

        HeadObject returns stored checksums only with ChecksumMode=ENABLED (recorded:
        LocalStack tests/aws/services/s3/test_s3.snapshot.json, `test_put_object_checksum[SHA256]`,
        head-object-with-checksum).
        """
        head = self.s3.head_object(Bucket=bucket or self.bucket, Key=key, ChecksumMode="ENABLED")
        value = head.get("ChecksumSHA256")
        return str(value) if value else None

    def versions(self, key: str, bucket: str | None = None) -> list[dict[str, Any]]:
        """Every version S3 keeps of exactly `key`, newest first (ListObjectVersions)."""
        paginator = self.s3.get_paginator("list_object_versions")
        return [version
                for page in paginator.paginate(Bucket=bucket or self.bucket, Prefix=key)
                for version in page.get("Versions", []) if version["Key"] == key]

    def get_version(self, key: str, version_id: str, bucket: str | None = None) -> StoredObject:
        """One version of the object (GetObject with VersionId)."""
        response = self.s3.get_object(Bucket=bucket or self.bucket, Key=key, VersionId=version_id)
        body = response["Body"].read()
        return StoredObject(key, len(body), sha256(body), response.get("ContentType"),
                            response.get("ETag", "").strip('"'))

    def exists(self, key: str, bucket: str | None = None) -> bool:
        try:
            self.s3.head_object(Bucket=bucket or self.bucket, Key=key)
            return True
        except self.s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def keys(self, prefix: str = "", bucket: str | None = None) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket or self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]
