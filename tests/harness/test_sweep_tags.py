"""Sweep by tags: resources whose state is gone are found by `harness:*` tags and removed.

The stack is applied for real into a throwaway workspace on the module's local AWS (its
account holds nothing else), then its state is deleted (what an apply killed before
writing state leaves); `harness sweep --endpoint` must remove exactly those resources and
nothing untagged or named.
"""

import pytest

from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import Deployer, Workspace, new_run_id, throwaway_name
from harness.targets.target import Target

pytestmark = pytest.mark.slow


def test_sweep_removes_tagged_resources_without_state_and_nothing_else(local_target, harness_cli):
    target = Target("endpoint", local_target.endpoint, "us-east-1")
    s3 = target.client("s3")
    s3.create_bucket(Bucket="untagged-keep")
    s3.create_bucket(Bucket="named-keep")
    s3.put_bucket_tagging(Bucket="named-keep", Tagging={"TagSet": [
        {"Key": "harness:workspace", "Value": "nightly"}, {"Key": "harness:run-id", "Value": "x"}]})

    run_id = new_run_id()
    deployer = Deployer(target)
    deployer.prepare()
    workspace = Workspace(throwaway_name(run_id, "main"), deployer, run_id)
    outputs = workspace.up()
    s3.put_object(Bucket=outputs.bucket_name, Key="uploaded\x01by-a-check", Body=b"x")
    deployer.runner.run("workspace delete", workspace.name, with_workspace=False, force=True)  # state lost

    left = tagged_resources(target, run_id)
    assert sorted(r.kind for r in left) == ["bucket", "log-group", "rest-api", "role"]

    def sweep(*extra: str):
        return harness_cli.harness("sweep", "--older-than", "0s", "--run-id", run_id, "--endpoint", target.endpoint,
                                   *extra)

    dry = sweep("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 4 tagged resource(s)" in dry.stdout
    assert len(tagged_resources(target, run_id)) == 4

    swept = sweep()
    assert swept.returncode == 0, swept.stderr
    for resource in left:
        assert f"removed {resource.kind} {resource.name}" in swept.stdout
    assert tagged_resources(target, run_id) == []
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"untagged-keep", "named-keep"}
    assert [r.name for r in tagged_resources(target)] == ["named-keep"]
