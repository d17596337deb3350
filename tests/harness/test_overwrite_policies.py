"""Each overwrite policy applied on the local AWS, one named workspace changed in place (one
stack instead of three): `harness up --stack-var overwrite_policy=...` with reject, then
keep_versions, then replace; after each, that policy's e2e checks and the integrity checks
(tests/e2e/test_overwrites.py, test_checksums.py) against the workspace, as a user runs them
(`pytest --workspace NAME`), and `harness drift` clean. Then `harness down`, and nothing left.

What each change leaves on the bucket is what the module says (terraform/modules/s3_upload_api,
the bucket's versioning block): versioning Enabled under keep_versions and Suspended after it,
since S3 has no way back to "never versioned" (PutBucketVersioning takes Enabled or Suspended,
S3 API reference); the reject guard in the bucket policy only under reject.
"""

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow
CHECKS = ["tests/e2e/test_overwrites.py", "tests/e2e/test_checksums.py"]
# The e2e check each policy runs (the others skip, naming the stack variable).
POLICY_CHECKS = {
    "reject": {"test_overwrite_reject_second_put_is_refused_and_the_first_bytes_stay",
               "test_overwrite_reject_bucket_refuses_any_unconditional_put",
               "test_overwrite_reject_concurrent_writers_of_one_key_one_wins"},
    "keep_versions": {"test_overwrite_keep_versions_both_versions_stay_readable"},
    "replace": {"test_overwrite_replace_second_put_replaces_the_bytes"},
}
# A new bucket's versioning under reject: provider 3.39 (the locked one) puts `Suspended` at
# creation for `versioning { enabled = false }`, later lines put nothing; either way every PUT
# writes the one `null` version of its key (S3 User Guide, "Working with objects in a
# versioning-suspended bucket").
VERSIONING_AFTER = {"reject": {None, "Suspended"}, "keep_versions": {"Enabled"}, "replace": {"Suspended"}}


def checks_against(harness_cli, workspace: str, summary_file) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    result = harness_cli.pytest("-q", *CHECKS, "--workspace", workspace, "--harness-summary", str(summary_file))
    summary = json.loads(summary_file.read_text())
    return result, {nodeid.split("::")[-1]: item["outcome"] for nodeid, item in summary["checks"].items()}


def test_each_overwrite_policy_in_place_on_one_named_workspace(local_target, harness_cli, tmp_path):
    # Each command is bounded (harness_cli): an apply that never finishes fails the test instead of hanging it.
    harness = harness_cli.harness
    name = f"ovw-{new_run_id()}"
    target = ["--target", "endpoint", "--endpoint", local_target.endpoint]
    s3 = local_target.client("s3")
    try:
        for policy in ("reject", "keep_versions", "replace"):
            up = harness("up", "--workspace", name, *target, "--stack-var", f'overwrite_policy="{policy}"')
            assert up.returncode == 0, up.stderr[-3000:]
            outputs = json.loads(up.stdout)
            assert outputs["overwrite_policy"] == policy

            result, outcomes = checks_against(harness_cli, name, tmp_path / f"summary-{policy}.json")
            assert result.returncode == 0, result.stdout[-3000:]
            for check in POLICY_CHECKS[policy]:
                assert outcomes[check] == "passed", (policy, check, outcomes)
            for other in set().union(*POLICY_CHECKS.values()) - POLICY_CHECKS[policy]:
                assert outcomes[other] == "skipped", (policy, other, outcomes)
            integrity = {check: outcome for check, outcome in outcomes.items() if check.startswith("test_checksum_")}
            assert len(integrity) == 6 and set(integrity.values()) == {"passed"}, (policy, integrity)

            drift = harness("drift", "--workspace", name)
            assert drift.returncode == 0, f"{policy}: {drift.stdout[:3000]}{drift.stderr[-1000:]}"

            bucket = outputs["bucket_name"]
            assert s3.get_bucket_versioning(Bucket=bucket).get("Status") in VERSIONING_AFTER[policy], policy
            # The guard leaves with reject: a write around the API is refused only under it.
            key = f"around-the-api/{uuid.uuid4().hex}"
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=b"direct")
                written = True
            except ClientError as exc:
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403, exc.response
                written = False
            assert written is (policy != "reject"), policy
    finally:
        down = harness("down", "--workspace", name)
    assert down.returncode == 0, down.stderr[-3000:]
    assert not LocalState(paths.stack_dir()).state_file(name).parent.exists(), "state left"
    assert not (paths.workspaces_dir() / f"{name}.json").exists(), "record left"
