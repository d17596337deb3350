"""Resources a check creates outside Terraform: scratch buckets and IAM users, tagged, registered, always removed.

Some checks need a second bucket (is a write to another bucket refused?) or an IAM user
with its own keys (is a caller without execute-api:Invoke refused?). Such a resource is
created here and nowhere else, so that it
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

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from harness.plumbing import jsonl
from harness.tags import TAG_RUN_ID, TAG_SCRATCH, TAG_WORKSPACE

NAME_PREFIX = "harness-scratch-"
USER_PREFIX = "harness-caller-"


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
        _register(registry, {"kind": "bucket", "name": name, "purpose": purpose, "where": where})
    try:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(run_id, workspace, purpose)})
    except Exception:
        empty_and_delete_bucket(s3, name)
        raise
    return name


def _register(registry: Path, entry: dict[str, Any]) -> None:
    jsonl.append(registry, entry)


def _tags(run_id: str, workspace: str, purpose: str) -> list[dict[str, str]]:
    return [{"Key": TAG_RUN_ID, "Value": run_id}, {"Key": TAG_WORKSPACE, "Value": workspace},
            {"Key": TAG_SCRATCH, "Value": _tag_value(purpose)}]


def create_iam_user(iam: Any, run_id: str, workspace: str, purpose: str, registry: Path | None,
                    where: dict[str, Any] | None = None) -> str:
    """An IAM user tagged at creation (IAM takes tags in CreateUser), registered for teardown."""
    name = f"{USER_PREFIX}{run_id}-{uuid.uuid4().hex[:10]}"[:64]
    iam.create_user(UserName=name, Tags=_tags(run_id, workspace, purpose))
    if registry is not None:
        _register(registry, {"kind": "user", "name": name, "purpose": purpose, "where": where})
    return name


def delete_iam_user(iam: Any, name: str) -> bool:
    """Delete a user with its access keys and inline policies; False if it was already gone."""
    try:
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy)
        for attached in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_user(UserName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def delete_versions(s3: Any, bucket: str, prefix: str = "") -> None:
    """Delete every version and delete marker of the keys under `prefix` (all keys by default)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix, EncodingType="url"):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            # One call per key: batch deletes travel as XML, which cannot carry every key.
            s3.delete_object(Bucket=bucket, Key=unquote(version["Key"]), VersionId=version["VersionId"])


def empty_and_delete_bucket(s3: Any, name: str) -> bool:
    """Empty and delete a bucket; False if it was already gone."""
    try:
        delete_versions(s3, name)
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        return False
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return False
        raise
    return True


def registered(registry: Path) -> list[dict[str, Any]]:
    """The run's scratch resources not known to be removed: `kind` (bucket or user), `name`, `purpose`, `where`."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in jsonl.read(registry):
        if entry.get("removed"):
            entries.pop((entry["kind"], entry["name"]), None)
        else:
            entries[(entry["kind"], entry["name"])] = entry
    return list(entries.values())


def remove(client: Any, kind: str, name: str, registry: Path | None) -> bool:
    """Remove one scratch resource now (a bucket emptied first); the registry notes it, so teardown skips it.

    Only a removal that succeeded (or found it gone) is noted; anything else is left for
    the teardown, which tries again.
    """
    gone = empty_and_delete_bucket(client, name) if kind == "bucket" else delete_iam_user(client, name)
    if registry is not None and registry.exists():
        _register(registry, {"kind": kind, "name": name, "removed": True})
    return gone


def remove_registered(registry: Path, client_for: Callable[[dict[str, Any] | None, str], Any]) -> list[str]:
    """Remove every scratch resource the run registered that still exists; return what was removed."""
    removed = []
    for entry in registered(registry):
        if entry["kind"] == "bucket":
            gone = empty_and_delete_bucket(client_for(entry.get("where"), "s3"), entry["name"])
        else:
            gone = delete_iam_user(client_for(entry.get("where"), "iam"), entry["name"])
        if gone:
            removed.append(f"{entry['kind']} {entry['name']}")
    return removed
