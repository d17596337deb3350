"""Where Terraform state lives: the local backend (default) or S3 with native lock files.

`--backend s3://BUCKET/KEY[?region=R&endpoint=URL]` (or `HARNESS_BACKEND`) keeps every
workspace's state in S3 (`env:/<workspace>/KEY`) and locks it with Terraform's own lock
file next to it (`use_lockfile`, Terraform >= 1.10; no DynamoDB table), so CI runners
on several machines can share named workspaces. The stack is run from a working copy
(`terraform/stacks/.<stack>-s3-<hash>/`, links to the stack's files plus a generated
backend block) so the checkout's local-state runs are never reconfigured under them.
The copy links the stack's `.terraform.lock.hcl` too: without it a `--backend` run
would resolve the newest provider the constraints allow while plain runs use the
locked one, and state written by a newer provider (6.x resource identities) cannot be
read by an older one (hashicorp/terraform-provider-aws#44199).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.errors import HarnessError

BACKEND_ENV = "HARNESS_BACKEND"
MIN_LOCKFILE_VERSION = (1, 10)
BACKEND_FILE = "harness_backend.tf"
LOCK_FILE = ".terraform.lock.hcl"


@dataclass(frozen=True)
class S3Backend:
    bucket: str
    key: str
    region: str = "us-east-1"
    endpoint: str | None = None

    @classmethod
    def parse(cls, url: str) -> S3Backend:
        parsed = urlsplit(url)
        query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
        key = parsed.path.lstrip("/")
        if parsed.scheme != "s3" or not parsed.netloc or not key or key.endswith("/"):
            raise HarnessError(
                f"--backend {url!r} is not an S3 state location",
                "use s3://BUCKET/path/terraform.tfstate, optionally ?region=eu-west-1 "
                "or ?endpoint=http://127.0.0.1:4566 for an S3-compatible endpoint",
            )
        unknown = set(query) - {"region", "endpoint"}
        if unknown:
            raise HarnessError(f"--backend {url!r}: unknown option(s) {', '.join(sorted(unknown))}",
                               "only region= and endpoint= are understood")
        return cls(parsed.netloc, key, query.get("region", "us-east-1"), query.get("endpoint"))

    @property
    def url(self) -> str:
        options = [f"region={self.region}"] + ([f"endpoint={self.endpoint}"] if self.endpoint else [])
        return f"s3://{self.bucket}/{self.key}?{'&'.join(options)}"

    @property
    def location(self) -> str:
        """What the stack tags as `harness:state` (S3 tag values allow no `?` or `&`)."""
        return f"s3://{self.bucket}/{self.key}"

    def _s3(self) -> Any:
        from harness.targets.target import Target

        kind = "endpoint" if self.endpoint else "aws"
        return Target(kind, self.endpoint, self.region).client("s3")

    def workspaces(self) -> dict[str, float]:
        """Workspaces with state in this bucket, and when each state was last written (epoch)."""
        found: dict[str, float] = {}
        suffix = f"/{self.key}"
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="env:/"):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith(suffix) and key.count("/") == self.key.count("/") + 2:
                    found[key[len("env:/"):-len(suffix)]] = item["LastModified"].timestamp()
        return found

    def has_state(self, workspace: str) -> bool:
        s3 = self._s3()
        try:
            s3.head_object(Bucket=self.bucket, Key=self.state_key(workspace))
            return True
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def lease_key(self, workspace: str) -> str:
        return f"{self.state_key(workspace)}.harness-lease"

    def write_lease(self, workspace: str, holder: dict[str, Any], seconds: float) -> None:
        """Say "a live run owns this workspace" for `seconds`; the owner renews it until teardown."""
        body = json.dumps({**holder, "expires": time.time() + seconds}).encode()
        self._s3().put_object(Bucket=self.bucket, Key=self.lease_key(workspace), Body=body)

    def lease(self, workspace: str) -> dict[str, Any] | None:
        s3 = self._s3()
        try:
            return json.loads(s3.get_object(Bucket=self.bucket, Key=self.lease_key(workspace))["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def release_lease(self, workspace: str) -> None:
        self._s3().delete_object(Bucket=self.bucket, Key=self.lease_key(workspace))

    def state_key(self, workspace: str) -> str:
        return self.key if workspace == "default" else f"env:/{workspace}/{self.key}"

    def lock_key(self, workspace: str) -> str:
        return f"{self.state_key(workspace)}.tflock"

    def lock_holder(self, workspace: str) -> dict[str, Any] | None:
        """The lock file Terraform holds on `workspace`'s state (its lock info: ID, Who, ...), None if unlocked."""
        s3 = self._s3()
        try:
            return dict(json.loads(s3.get_object(Bucket=self.bucket, Key=self.lock_key(workspace))["Body"].read()))
        except s3.exceptions.NoSuchKey:
            return None

    def hcl(self) -> str:
        settings: dict[str, object] = {
            "bucket": self.bucket, "key": self.key, "region": self.region, "use_lockfile": True,
        }
        if self.endpoint:
            settings.update({
                "endpoints": {"s3": self.endpoint}, "use_path_style": True,
                "skip_credentials_validation": True, "skip_requesting_account_id": True,
                "skip_metadata_api_check": True, "skip_region_validation": True,
            })
        lines = [f"    {name} = {_hcl_value(value)}" for name, value in settings.items()]
        return ("# Generated by the harness for --backend; do not edit.\nterraform {\n  backend \"s3\" {\n"
                + "\n".join(lines) + "\n  }\n}\n")

    def check_terraform(self, version: str) -> None:
        match = re.match(r"v?(\d+)\.(\d+)", version)
        if match and (int(match.group(1)), int(match.group(2))) < MIN_LOCKFILE_VERSION:
            raise HarnessError(
                f"the S3 backend with native lock files needs Terraform >= 1.10; this is {version}",
                "upgrade Terraform, point TERRAFORM_BIN at a newer one, or unset it to use the bundled 1.15",
            )

    def working_copy_path(self, stack_dir: Path) -> Path:
        """A sibling directory of the stack (same depth, so its relative module paths hold)."""
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:10]
        return stack_dir.parent / f".{stack_dir.name}-s3-{digest}"

    def working_copy(self, stack_dir: Path) -> Path:
        copy = self.working_copy_path(stack_dir)
        copy.mkdir(exist_ok=True)
        sources = {p.name for p in stack_dir.glob("*.tf") if not p.name.startswith("harness_")}
        for existing in copy.glob("*.tf"):
            if existing.is_symlink() and existing.name not in sources:
                existing.unlink()
        for name in sources:
            link = copy / name
            if not link.is_symlink():
                link.unlink(missing_ok=True)
                with contextlib.suppress(FileExistsError):  # another process made it first
                    link.symlink_to(stack_dir / name)
        _link_lock_file(stack_dir, copy)
        backend_file = copy / BACKEND_FILE
        if not backend_file.exists() or backend_file.read_text() != self.hcl():
            tmp = backend_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(self.hcl())
            os.replace(tmp, backend_file)
        return copy


def _link_lock_file(stack_dir: Path, copy: Path) -> None:
    """Link the stack's dependency lock file into the working copy, if the stack has one.

    A regular file there is kept: Terraform replaces the link with its own file only
    when init changed the selection, i.e. after an explicit upgrade
    (`HARNESS_PROVIDER_UPGRADE`), and that file is what the copy's providers match.
    """
    source, link = stack_dir / LOCK_FILE, copy / LOCK_FILE
    if link.is_symlink() and not source.exists():
        link.unlink()
    elif source.exists() and not link.exists() and not link.is_symlink():
        with contextlib.suppress(FileExistsError):  # another process made it first
            link.symlink_to(source)


def _hcl_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{name} = {json.dumps(item)}" for name, item in value.items()) + " }"
    return json.dumps(value)


@dataclass(frozen=True)
class LocalState:
    """Terraform's local backend: one directory per workspace under the stack's terraform.tfstate.d."""

    stack_dir: Path

    @property
    def location(self) -> str:
        return f"local:{socket.gethostname()}"[:256]

    @property
    def root(self) -> Path:
        return self.stack_dir / "terraform.tfstate.d"

    def workspaces(self) -> dict[str, float]:
        if not self.root.exists():
            return {}
        return {d.name: max((p.stat().st_mtime for p in d.iterdir()), default=d.stat().st_mtime)
                for d in self.root.iterdir() if d.is_dir()}

    def has_state(self, workspace: str) -> bool:
        return (self.root / workspace).is_dir()


StateStore = S3Backend | LocalState


def state_store_for_location(location: str | None, stack_dir: Path, known: S3Backend | None = None,
                             region: str = "us-east-1", endpoint: str | None = None) -> StateStore | None:
    """The store a `harness:state` tag names; None when it cannot be asked from here.

    An S3 location is asked with `known`'s region and endpoint when it is the same bucket and
    key, else with the target's; a local location only on the host that wrote it; an
    untagged resource (older harness) is judged by this checkout's local state, as before.
    """
    if not location or location == "local":
        return LocalState(stack_dir)
    if location.startswith("s3://"):
        parsed = S3Backend.parse(location)
        if known is not None and (known.bucket, known.key) == (parsed.bucket, parsed.key):
            return known
        return S3Backend(parsed.bucket, parsed.key, region, endpoint)
    local = LocalState(stack_dir)
    return local if location == local.location else None
