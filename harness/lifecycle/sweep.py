"""Sweep: find and remove what killed runs left behind.

A run killed with SIGKILL cannot tear down. What it leaves is found by name and age:
- throwaway workspaces (`t-<run-id>-<worker>`) in the stack's state, older than a limit:
  destroyed on the target their record names, then deleted; when that target was a
  local AWS that no longer answers, its resources died with it, so only the state and
  record are removed (said so in the output);
- recorded child processes (harness/plumbing/children.py: a run's local AWS, served AWS
  providers, LocalStack) whose owner is gone: stopped, their files removed, whatever their
  kind; those of a run whose throwaway workspace is still in state are kept for it;
- run directories under `.harness/runs/` whose workspaces are gone: whatever the run
  still recorded as running is stopped and the directory removed;
- with `--target`/`--endpoint`: resources that have no state at all (an apply killed
  before it wrote state, state lost), found by their `harness:workspace` tag: S3 buckets
  and REST APIs through the Resource Groups Tagging API, IAM roles through IAM's own tag
  listing (GetResources does not cover IAM roles). Only resources tagged with a
  throwaway workspace whose state is gone are removed, oldest first by creation time;
  and scratch buckets a check created outside Terraform (`harness:scratch`, see
  harness/client/scratch.py) once older than the limit, whatever workspace they name: a check
  holds one for seconds, so an older one was left by a killed run.
Named workspaces' own resources, `default`, anything without the `t-` prefix, and
untagged resources are never touched.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness import paths
from harness.client.scratch import delete_iam_user, empty_and_delete_bucket
from harness.errors import HarnessError
from harness.lifecycle.workspace import THROWAWAY_PREFIX, Deployer, Workspace, delete_record, load_record
from harness.options import RunOptions
from harness.plumbing import children
from harness.tags import TAG_RUN_ID, TAG_SCRATCH, TAG_STATE, TAG_WORKSPACE
from harness.targets.target import Target
from harness.terraform.backend import LocalState, S3Backend, StateStore, state_store_for_location

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str = "--older-than") -> float:
    """`30s`, `10m`, `2h`, `1d` in seconds; a HarnessError naming `option` otherwise."""
    match = DURATION.match(text.strip())
    if not match:
        raise HarnessError(f"{option} {text!r} is not a duration", "use e.g. 30m, 2h or 1d")
    return int(match.group(1)) * UNITS[match.group(2)]


@dataclass
class Leftover:
    workspace: str
    age_seconds: float
    target: Target | None


def state_store(options: RunOptions) -> StateStore:
    """The store this sweep lists throwaway workspaces from: --backend, else the local state."""
    return options.backend or LocalState(paths.stack_dir())


def throwaway_leftovers(older_than: float, run_id: str | None, store: StateStore) -> list[Leftover]:
    found = []
    now = time.time()
    for name, written in sorted(store.workspaces().items()):
        if not name.startswith(THROWAWAY_PREFIX):
            continue
        if run_id and not name.startswith(f"{THROWAWAY_PREFIX}{run_id}-"):
            continue
        age = now - written
        if age < older_than:
            continue
        record = load_record(name)
        target = Target.from_record(record["target"]) if record else None
        found.append(Leftover(name, age, target))
    return found


def _reachable(target: Target) -> bool:
    try:
        target.check_reachable()
        return True
    except HarnessError:
        return False


def sweep(older_than: float, dry_run: bool, run_id: str | None = None, say: Callable[[str], None] = print,
          options: RunOptions | None = None, target: Target | None = None) -> int:
    """Remove leftovers; return how many workspaces were (or would be) removed.

    `target` is where a leftover without a local record lives (with shared state, the run
    that made it may have been on another runner).
    """
    options = options or RunOptions()
    store = state_store(options)
    removed = 0
    for leftover in throwaway_leftovers(older_than, run_id, store):
        leftover.target = leftover.target or target
        where = leftover.target.describe() if leftover.target else "an unknown target (no record)"
        lease = store.lease(leftover.workspace) if isinstance(store, S3Backend) else None
        if lease and lease.get("expires", 0) > time.time():
            say(f"left {leftover.workspace}: run {lease.get('run_id')} on {lease.get('host')} is still using it "
                f"(lease renewed until {datetime.fromtimestamp(lease['expires']):%H:%M:%S})")
            continue
        if dry_run:
            say(f"would remove {leftover.workspace} ({leftover.age_seconds / 60:.0f} min old) on {where}")
            removed += 1
            continue
        if leftover.target is None:
            say(f"skipped {leftover.workspace}: no record of its target; "
                f"remove it with `harness down --workspace {leftover.workspace} --target ...`")
            continue
        deployer = Deployer(leftover.target, options)
        deployer.prepare()
        workspace = Workspace(leftover.workspace, deployer, "sweep")
        if _reachable(leftover.target):
            workspace.down()
            say(f"destroyed and deleted {leftover.workspace} on {where}")
        elif leftover.target.kind == "local":  # the embedded local AWS keeps everything in memory
            deployer.runner.run("workspace delete", leftover.workspace, with_workspace=False, force=True)
            say(f"deleted state of {leftover.workspace}: its local AWS ({leftover.target.endpoint}) is gone, "
                "and its resources with it")
        else:
            say(f"skipped {leftover.workspace}: {where} does not answer; retry when it does")
            continue
        delete_record(leftover.workspace)
        removed += 1
    still_in_state = [lo.workspace for lo in throwaway_leftovers(0, run_id, LocalState(paths.stack_dir()))]

    def has_state(run: str | None) -> bool:
        return run is not None and any(name.startswith(f"{THROWAWAY_PREFIX}{run}-") for name in still_in_state)

    verb = "would stop" if dry_run else "stopped"
    swept = children.stop_orphans(older_than, run_id=run_id, keep=lambda child: has_state(child.run_id),
                                  dry_run=dry_run)
    for child in swept.stopped:
        say(f"{verb} {child.describe()}: its owner is gone")
    for child in swept.cleared:
        say(f"{'would remove' if dry_run else 'removed'} the record and files of {child.describe()}: it had exited")
    for run_dir in sorted(paths.runs_dir().glob("*")) if paths.runs_dir().exists() else []:
        if run_id and run_dir.name != run_id:
            continue
        if has_state(run_dir.name):
            continue
        if time.time() - run_dir.stat().st_mtime < older_than:
            continue
        running = children.stop_for_run(run_dir.name, dry_run=dry_run)
        if dry_run:
            say(f"would remove run directory {run_dir.name}"
                + "".join(f" and stop {child.describe()}" for child in running))
            continue
        for child in running:
            say(f"stopped {child.describe()}")
        shutil.rmtree(run_dir, ignore_errors=True)
        say(f"removed run directory {run_dir.name}")
    return removed


@dataclass
class TaggedResource:
    kind: str  # "bucket", "rest-api", "log-group", "role" or "user" (scratch users only)
    name: str
    workspace: str
    run_id: str
    age_seconds: float
    scratch: str | None = None  # the check that created it outside Terraform
    state: str | None = None  # harness:state: where its workspace's state lives

    def describe(self) -> str:
        made_by = f", scratch of {self.scratch}" if self.scratch else ""
        return f"{self.kind} {self.name} (workspace {self.workspace}, run {self.run_id}{made_by}, " \
               f"{self.age_seconds / 60:.0f} min old)"


def _age(created: datetime | str | None) -> float:
    if created is None:
        return float("inf")
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return time.time() - created.timestamp()


# The module names its access log group `API-Gateway-Access-Logs_{rest-api-id}/{stage}`.
ACCESS_LOG_GROUP_PREFIX = "API-Gateway-Access-Logs_"


def tagged_resources(target: Target, run_id: str | None = None) -> list[TaggedResource]:
    """Every bucket, REST API, access log group and role carrying a `harness:workspace` tag (any workspace)."""
    found: list[TaggedResource] = []
    tagging = target.client("resourcegroupstaggingapi")
    filters = [{"Key": TAG_RUN_ID, "Values": [run_id]}] if run_id else [{"Key": TAG_WORKSPACE}]
    created = {b["Name"]: b.get("CreationDate") for b in target.client("s3").list_buckets().get("Buckets", [])}
    apigateway = target.client("apigateway")
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=filters, ResourceTypeFilters=["s3", "apigateway:restapis"]):
        for item in page["ResourceTagMappingList"]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            if TAG_WORKSPACE not in tags:
                continue
            arn = item["ResourceARN"]
            if ":s3:::" in arn:
                name = arn.split(":::", 1)[1]
                if name not in created:
                    continue  # deleted since the tagging index saw it
                found.append(TaggedResource("bucket", name, tags[TAG_WORKSPACE], tags.get(TAG_RUN_ID, "?"),
                                            _age(created[name]), tags.get(TAG_SCRATCH), tags.get(TAG_STATE)))
            elif "/restapis/" in arn:
                api_id = arn.rsplit("/", 1)[1]
                try:
                    api = apigateway.get_rest_api(restApiId=api_id)
                except apigateway.exceptions.NotFoundException:
                    continue
                found.append(TaggedResource("rest-api", api_id, tags[TAG_WORKSPACE], tags.get(TAG_RUN_ID, "?"),
                                            _age(api.get("createdDate")), state=tags.get(TAG_STATE)))
    # The stack's access log groups (terraform/modules/s3_upload_api: named after the API), by
    # their name prefix: the tagging API is not asked, which not every endpoint answers for logs.
    logs = target.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=ACCESS_LOG_GROUP_PREFIX):
        for group in page["logGroups"]:
            arn = group["arn"].removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            if TAG_WORKSPACE in tags and (run_id is None or tags.get(TAG_RUN_ID) == run_id):
                created_ms = group.get("creationTime")
                age = time.time() - created_ms / 1000 if created_ms else 0.0
                found.append(TaggedResource("log-group", group["logGroupName"], tags[TAG_WORKSPACE],
                                            tags.get(TAG_RUN_ID, "?"), age, state=tags.get(TAG_STATE)))
    iam = target.client("iam")
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user["UserName"]).get("Tags", [])}
            if TAG_SCRATCH in tags and (run_id is None or tags.get(TAG_RUN_ID) == run_id):
                found.append(TaggedResource("user", user["UserName"], tags.get(TAG_WORKSPACE, "?"),
                                            tags.get(TAG_RUN_ID, "?"), _age(user.get("CreateDate")),
                                            tags[TAG_SCRATCH]))
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])}
            if TAG_WORKSPACE in tags and (run_id is None or tags.get(TAG_RUN_ID) == run_id):
                found.append(TaggedResource("role", role["RoleName"], tags[TAG_WORKSPACE],
                                            tags.get(TAG_RUN_ID, "?"), _age(role.get("CreateDate")),
                                            state=tags.get(TAG_STATE)))
    return found


def remove_tagged(target: Target, resource: TaggedResource) -> None:
    if resource.kind == "bucket":
        empty_and_delete_bucket(target.client("s3"), resource.name)
    elif resource.kind == "rest-api":
        target.client("apigateway").delete_rest_api(restApiId=resource.name)
    elif resource.kind == "log-group":
        target.client("logs").delete_log_group(logGroupName=resource.name)
    elif resource.kind == "user":
        delete_iam_user(target.client("iam"), resource.name)
    elif resource.kind == "role":
        iam = target.client("iam")
        for policy in iam.list_role_policies(RoleName=resource.name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=resource.name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=resource.name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=resource.name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=resource.name)


def sweep_tagged(target: Target, older_than: float, dry_run: bool, run_id: str | None = None,
                 stack_dir: Path | None = None, say: Callable[[str], None] = print,
                 options: RunOptions | None = None) -> int:
    """Remove tagged resources of throwaway workspaces that have no state; return how many.

    "No state" is asked of the store that holds the workspace's state, as its
    `harness:state` tag names it (an S3 backend is asked for the state key); when that store
    cannot be asked from here (another runner's local state), the resource is left alone.
    """
    stack_dir = stack_dir or paths.stack_dir()
    known = options.backend if options else None
    # The API refers to the role; buckets last.
    order = {"rest-api": 0, "log-group": 1, "role": 2, "user": 3, "bucket": 4}
    answers: dict[tuple[str | None, str], bool | None] = {}
    removed = 0
    for resource in sorted(tagged_resources(target, run_id), key=lambda r: order[r.kind]):
        if resource.age_seconds < older_than:
            continue
        if resource.scratch is None:
            if not resource.workspace.startswith(THROWAWAY_PREFIX):
                continue  # named workspaces are never swept
            question = (resource.state, resource.workspace)
            if question not in answers:
                store = state_store_for_location(resource.state, stack_dir, known, target.region,
                                                 target.endpoint if target.is_local_endpoint else None)
                answers[question] = None if store is None else store.has_state(resource.workspace)
            if answers[question] is None:
                say(f"left {resource.describe()}: its state is at {resource.state}, which this sweep cannot ask; "
                    "sweep from that runner, or with its --backend")
                continue
            if answers[question]:
                continue  # stateful: Terraform destroys it (the workspace sweep above)
        if dry_run:
            say(f"would remove {resource.describe()} on {target.describe()}")
        else:
            remove_tagged(target, resource)
            say(f"removed {resource.describe()} on {target.describe()}")
        removed += 1
    return removed
