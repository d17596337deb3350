"""Sweep by tags: resources whose state is gone are found by `harness:*` tags and removed.

The stack is applied for real into a throwaway workspace on an in-process local AWS, then
its state is deleted (what an apply killed before writing state leaves); `harness sweep
--endpoint` must remove exactly those resources and nothing untagged or named.
"""

import subprocess
import sys

import boto3
import pytest

from harness import paths
from harness.lifecycle.sweep import tagged_resources
from harness.lifecycle.workspace import Deployer, Workspace, child_run_environment, new_run_id, throwaway_name
from harness.localaws import LocalAws
from harness.targets.target import Target

pytestmark = pytest.mark.slow


def sweep(server: LocalAws, run_id: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "sweep", "--older-than", "0s", "--run-id", run_id,
                           "--endpoint", server.endpoint, *extra], cwd=paths.project_root(),
                          env=child_run_environment(), capture_output=True, text=True, timeout=300)


def test_sweep_removes_tagged_resources_without_state_and_nothing_else():
    with LocalAws() as server:
        server.reset()  # moto's backends are process-wide: start from an empty account
        target = Target("endpoint", server.endpoint, "us-east-1")
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
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

        dry = sweep(server, run_id, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would remove 4 tagged resource(s)" in dry.stdout
        assert len(tagged_resources(target, run_id)) == 4

        swept = sweep(server, run_id)
        assert swept.returncode == 0, swept.stderr
        for resource in left:
            assert f"removed {resource.kind} {resource.name}" in swept.stdout
        assert tagged_resources(target, run_id) == []
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"untagged-keep", "named-keep"}
        assert [r.name for r in tagged_resources(target)] == ["named-keep"]
        server.reset()
