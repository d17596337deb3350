"""What is left on an endpoint after a run: every bucket, REST API and IAM role, and whether
each carries the harness's `harness:workspace` tag (`make test-localstack` requires none)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.tags import TAG_WORKSPACE
from harness.targets.target import Target


@dataclass
class Leftovers:
    buckets: dict[str, bool] = field(default_factory=dict)  # name -> carries harness:workspace tag
    rest_apis: dict[str, bool] = field(default_factory=dict)  # "id (name)" -> tagged
    roles: dict[str, bool] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.buckets) + len(self.rest_apis) + len(self.roles)

    def describe(self) -> str:
        parts = []
        for kind, found in (("buckets", self.buckets), ("REST APIs", self.rest_apis), ("roles", self.roles)):
            untagged = sorted(name for name, tagged in found.items() if not tagged)
            part = f"{len(found)} {kind}"
            if found:
                part += f" ({len(untagged)} untagged: {', '.join(untagged) or '-'}; all: {', '.join(sorted(found))})"
            parts.append(part)
        return "; ".join(parts)


def count_leftovers(endpoint: str) -> Leftovers:
    """Every bucket, REST API and IAM role on a LocalStack we started (so all came from the run)."""
    target = Target("endpoint", endpoint)
    found = Leftovers()
    s3 = target.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])
        except s3.exceptions.ClientError:
            tags = []  # NoSuchTagSet
        found.buckets[bucket["Name"]] = any(t["Key"] == TAG_WORKSPACE for t in tags)
    apigateway = target.client("apigateway")
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            found.rest_apis[f"{api['id']} ({api.get('name', '?')})"] = TAG_WORKSPACE in (api.get("tags") or {})
    iam = target.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])
            found.roles[role["RoleName"]] = any(t["Key"] == TAG_WORKSPACE for t in tags)
    return found
