"""Resources a check creates outside Terraform: scratch buckets, tagged, registered, always removed.

Some checks need a second bucket (is a write to another bucket refused?). Such a bucket
is created here and nowhere else, so that it
- carries the run's tags (`harness:run-id`, `harness:workspace`) plus `harness:scratch`
  naming the check, before anything is written to it;
- is listed in the run directory's `scratch.jsonl`, so the run's teardown removes it even
  when the check's own cleanup never ran (a killed worker);
- is emptied (every version, one DeleteObject per key) before it is deleted, so a write
  that unexpectedly succeeded cannot turn cleanup into BucketNotEmpty and hide the
  check's real failure;
- is found by `harness sweep --target/--endpoint` by its `harness:scratch` tag once it is
  older than the sweep's limit: a check holds its bucket for seconds, so an older one
  belongs to a run that was killed, whatever workspace it names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

TAG_RUN_ID = "harness:run-id"
TAG_WORKSPACE = "harness:workspace"
TAG_SCRATCH = "harness:scratch"
TAG_STATE = "harness:state"  # set by the stack: where the workspace's state lives
NAME_PREFIX = "harness-scratch-"


def _tag_value(text: str) -> str:
    # S3 tag values: up to 256 Unicode characters of letters, digits, spaces and + - = . _ : / @
    cleaned = "".join(c if c.isalnum() or c in " +-=._:/@" else "_" for c in text)
    return cleaned[:256]


def create_bucket(s3: Any, region: str, run_id: str, workspace: str, purpose: str,
                  registry: Path | None, where: dict[str, Any] | None = None) -> str:
    """Create a tagged scratch bucket; register it before tagging so no path loses it."""
    name = f"{NAME_PREFIX}{run_id}-{uuid.uuid4().hex[:10]}"[:63]
    kwargs: dict[str, Any] = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kwargs)
    if registry is not None:
        registry.parent.mkdir(parents=True, exist_ok=True)
        with registry.open("a") as handle:
            handle.write(json.dumps({"bucket": name, "purpose": purpose, "where": where}) + "\n")
    try:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
            {"Key": TAG_RUN_ID, "Value": run_id},
            {"Key": TAG_WORKSPACE, "Value": workspace},
            {"Key": TAG_SCRATCH, "Value": _tag_value(purpose)},
        ]})
    except Exception:
        empty_and_delete_bucket(s3, name)
        raise
    return name


def empty_and_delete_bucket(s3: Any, name: str) -> bool:
    """Empty and delete a bucket; False if it was already gone."""
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name, EncodingType="url"):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                # One call per key: batch deletes travel as XML, which cannot carry every key.
                s3.delete_object(Bucket=name, Key=unquote(version["Key"]), VersionId=version["VersionId"])
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        return False
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return False
        raise
    return True


def registered(registry: Path) -> list[dict[str, Any]]:
    """The run's scratch buckets: `bucket`, `purpose` and `where` (the target's record)."""
    if not registry.exists():
        return []
    entries = {}
    for line in registry.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["bucket"]] = entry
    return list(entries.values())


def remove_registered(registry: Path, s3_for: Callable[[dict[str, Any] | None], Any]) -> list[str]:
    """Remove every scratch bucket the run registered that still exists; return their names."""
    return [entry["bucket"] for entry in registered(registry)
            if empty_and_delete_bucket(s3_for(entry.get("where")), entry["bucket"])]
