"""Buckets and IAM users a check creates outside Terraform: tagged, removed on every path, swept after a kill.

Against the module's local AWS process: a scratch bucket holding an object that should never
have been written is removed by the run's teardown (the check's own cleanup never ran);
one left by a killed run is found by `harness sweep --endpoint` by its tags, whatever
workspace it names, while an untagged bucket and a named workspace's own bucket stay.
"""

import pytest

from harness.client import scratch
from harness.lifecycle.run import SCRATCH_FILE, Run
from harness.lifecycle.workspace import new_run_id
from harness.options import RunOptions
from harness.targets.target import Target

pytestmark = pytest.mark.slow


@pytest.fixture
def endpoint(local_target):
    return Target("endpoint", local_target.endpoint)


def _names(target: Target) -> set[str]:
    return {b["Name"] for b in target.client("s3").list_buckets().get("Buckets", [])}


def test_teardown_removes_a_scratch_bucket_the_check_never_cleaned(endpoint):
    run = Run(new_run_id(), RunOptions("endpoint", endpoint.endpoint))
    s3 = endpoint.client("s3")
    run.dir.mkdir(parents=True)
    try:
        name = scratch.create_bucket(s3, "us-east-1", run.id, "t-x-main", "test_write_elsewhere[raw]",
                                     run.file(SCRATCH_FILE), endpoint.to_record())
        s3.put_object(Bucket=name, Key="written/although/denied", Body=b"x")  # what a wrongly allowed write leaves
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        assert tags == {"harness:run-id": run.id, "harness:workspace": "t-x-main",
                        "harness:scratch": "test_write_elsewhere_raw_"}
        report = run.teardown()
        assert name not in _names(endpoint)
        assert report.messages == [f"removed 1 scratch resource(s) a check left: bucket {name}"]
        assert report.removed == [f"scratch bucket {name}"] and not report.failed and not report.left
        user = scratch.create_iam_user(endpoint.client("iam"), run.id, "t-x-main", "test_caller",
                                       run.file(SCRATCH_FILE), endpoint.to_record())
        endpoint.client("iam").create_access_key(UserName=user)
        assert run.teardown().messages == [f"removed 1 scratch resource(s) a check left: user {user}"]
    finally:
        run.remove_directory(True)


def test_what_a_check_removed_itself_is_off_the_registry_and_the_rest_stays_on_it(endpoint):
    run = Run(new_run_id(), RunOptions("endpoint", endpoint.endpoint))
    run.dir.mkdir(parents=True)
    s3 = endpoint.client("s3")
    try:
        removed = scratch.create_bucket(s3, "us-east-1", run.id, "t-x-main", "done", run.file(SCRATCH_FILE),
                                        endpoint.to_record())
        kept = scratch.create_bucket(s3, "us-east-1", run.id, "t-x-main", "left", run.file(SCRATCH_FILE),
                                     endpoint.to_record())
        s3.put_object(Bucket=removed, Key="k", Body=b"x")
        assert scratch.remove(s3, "bucket", removed, run.file(SCRATCH_FILE))
        assert removed not in _names(endpoint)
        assert [e["name"] for e in scratch.registered(run.file(SCRATCH_FILE))] == [kept]
        assert run.teardown().messages == [f"removed 1 scratch resource(s) a check left: bucket {kept}"]
        assert kept not in _names(endpoint)
    finally:
        run.remove_directory(True)


def test_sweep_finds_scratch_buckets_of_a_killed_run_by_their_tags(endpoint, harness_cli):
    s3 = endpoint.client("s3")
    buckets_before = _names(endpoint)  # the module's local AWS: what its other tests left (nothing, if they pass)
    killed_run = new_run_id()
    orphan = scratch.create_bucket(s3, "us-east-1", killed_run, "nightly", "test_security_role", None)
    user = scratch.create_iam_user(endpoint.client("iam"), killed_run, "nightly", "test_caller", None)
    s3.put_object(Bucket=orphan, Key="k", Body=b"x")
    s3.create_bucket(Bucket="untagged-keep")
    s3.create_bucket(Bucket="named-keep")
    s3.put_bucket_tagging(Bucket="named-keep", Tagging={"TagSet": [
        {"Key": "harness:workspace", "Value": "nightly"}, {"Key": "harness:run-id", "Value": killed_run}]})
    # --run-id: other tests' live throwaway workspaces in this checkout are none of its business
    result = harness_cli.harness("sweep", "--older-than", "0s", "--run-id", killed_run, "--endpoint", endpoint.endpoint)
    assert result.returncode == 0, result.stderr
    assert f"removed bucket {orphan}" in result.stdout and "scratch of test_security_role" in result.stdout
    assert _names(endpoint) == buckets_before | {"untagged-keep", "named-keep"}
    assert f"removed user {user}" in result.stdout
    assert user not in {u["UserName"] for u in endpoint.client("iam").list_users()["Users"]}
