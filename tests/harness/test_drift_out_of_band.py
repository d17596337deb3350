"""Out-of-band changes made with boto3 on an applied workspace are detected and named.

Each case changes one thing outside Terraform, runs `harness drift --json` as a user
would, checks the resource and attribute reported and exit code 2, then re-applies with
`harness up` and checks that drift is clean again (exit 0).
"""

import json
import subprocess
import sys

import pytest

from harness import nightly, paths
from harness.localaws.process import start
from harness.options import RunOptions
from harness.targets import Target
from harness.workspace import child_run_environment, new_run_id

pytestmark = pytest.mark.slow


def harness(*args: str) -> subprocess.CompletedProcess:
    env = child_run_environment()
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=paths.project_root(), env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    server = start(log_file=tmp_path_factory.mktemp("localaws") / "server.log")
    name = f"drift-{new_run_id()}"
    try:
        up = harness("up", "--workspace", name, "--target", "endpoint", "--endpoint", server.endpoint)
        assert up.returncode == 0, up.stderr
        yield name, Target("endpoint", server.endpoint), json.loads(up.stdout)
    finally:
        harness("down", "--workspace", name)
        server.stop()


def drift_report(name: str) -> tuple[int, list[dict]]:
    result = harness("drift", "--workspace", name, "--json")
    assert result.returncode in (0, 2), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def test_fresh_apply_has_no_drift(applied):
    name, _, _ = applied
    assert drift_report(name) == (0, [])


def _remove_binary_media_type(target, outputs):
    target.client("apigateway").update_rest_api(
        restApiId=outputs["rest_api_id"], patchOperations=[{"op": "remove", "path": "/binaryMediaTypes/*~1*"}])


def _replace_bucket_policy(target, outputs):
    target.client("s3").put_bucket_policy(Bucket=outputs["bucket_name"], Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": f"{outputs['bucket_arn']}/*"}]}))


def _widen_role_policy(target, outputs):
    target.client("iam").put_role_policy(
        RoleName=outputs["role_arn"].split("/")[-1], PolicyName="put-object-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))


def _delete_stage(target, outputs):
    target.client("apigateway").delete_stage(restApiId=outputs["rest_api_id"], stageName=outputs["stage_name"])


def _add_method(target, outputs):
    apigw = target.client("apigateway")
    (resource,) = [r for r in apigw.get_resources(restApiId=outputs["rest_api_id"])["items"]
                   if r["path"] == "/{bucket}/{filename}"]
    apigw.put_method(restApiId=outputs["rest_api_id"], resourceId=resource["id"], httpMethod="DELETE",
                     authorizationType="NONE")


def _edit_tags(target, outputs):
    s3 = target.client("s3")
    tags = s3.get_bucket_tagging(Bucket=outputs["bucket_name"])["TagSet"]
    s3.put_bucket_tagging(Bucket=outputs["bucket_name"],
                          Tagging={"TagSet": [*tags, {"Key": "owner", "Value": "mallory"}]})


def _encrypt_with_kms(target, outputs):
    target.client("s3").put_bucket_encryption(Bucket=outputs["bucket_name"], ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:us-east-1:123456789012:key/out-of-band"}}]})


def _restore_default_encryption(target, outputs):
    """The module ignores the bucket's default encryption (AWS sets SSE-S3 on every new
    bucket), so `harness up` does not undo this change: put AWS's default back by hand."""
    target.client("s3").put_bucket_encryption(Bucket=outputs["bucket_name"], ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]})


CASES = {
    "binary-media-type-removed": (_remove_binary_media_type, "aws_api_gateway_rest_api.this", "binary_media_types"),
    "bucket-policy-replaced": (_replace_bucket_policy, "aws_s3_bucket_policy.this", "policy"),
    "role-policy-widened": (_widen_role_policy, "aws_iam_role_policy.put_object", "policy"),
    "stage-deleted": (_delete_stage, "aws_api_gateway_stage.this", "(resource)"),
    "method-added": (_add_method, "/{bucket}/{filename}", "method DELETE"),
    "tags-edited": (_edit_tags, "aws_s3_bucket.this", "tags"),
    "encryption-changed-to-kms": (_encrypt_with_kms, "aws_s3_bucket.this", "server_side_encryption_configuration"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_out_of_band_change_is_detected_then_repaired(applied, case):
    name, target, outputs = applied
    change, address, attribute = CASES[case]
    change(target, outputs)
    code, findings = drift_report(name)
    assert code == 2
    assert any(address in f["address"] and f["attribute"].startswith(attribute) and f["kind"] == "drift"
               for f in findings), findings
    if case == "encryption-changed-to-kms":
        _restore_default_encryption(target, outputs)
    if case == "method-added":  # Terraform does not manage it: remove it the way it came
        apigw = target.client("apigateway")
        (resource,) = [r for r in apigw.get_resources(restApiId=outputs["rest_api_id"])["items"]
                       if r["path"] == "/{bucket}/{filename}"]
        apigw.delete_method(restApiId=outputs["rest_api_id"], resourceId=resource["id"], httpMethod="DELETE")
    repaired = harness("up", "--workspace", name)
    assert repaired.returncode == 0, repaired.stderr
    outputs.update({k: v for k, v in json.loads(repaired.stdout).items() if k in outputs})
    code, findings = drift_report(name)
    assert (code, findings) == (0, []), [(f["address"], f["attribute"], f["before"], f["after"]) for f in findings]


def test_code_that_drops_binary_media_types_is_a_pending_change(applied):
    """The plan alone may miss it (provider bug #48385); the live API check does not."""
    name, _, _ = applied
    result = harness("drift", "--workspace", name, "--json", "--stack-var", "binary_media_types=[]")
    assert result.returncode == 2, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert any(f["kind"] == "pending" and f["address"].endswith("aws_api_gateway_rest_api.this")
               and f["attribute"].startswith("binary_media_types") for f in findings), findings


def test_nightly_with_named_workspace_records_drift_as_a_regression(applied, tmp_path):
    """One nightly on a drifted workspace. The clean control is the drift call nightly itself
    makes (`nightly.drift_findings`), run just before the change, rather than a second full
    nightly: an e2e suite run adds nothing to what this test proves (tests/harness/test_nightly_runs.py
    covers the suite side)."""
    name, target, outputs = applied
    assert nightly.drift_findings(name, RunOptions()) == []  # so the regression below comes from the change we make
    _edit_tags(target, outputs)
    env = {**child_run_environment(), "HARNESS_REPORTS_DIR": str(tmp_path)}
    drifted = subprocess.run([sys.executable, "-m", "harness.cli", "nightly", "--workspace", name],
                             cwd=paths.project_root(), env=env, capture_output=True, text=True, timeout=900)
    assert drifted.returncode == 1 and "REGRESSION [drift]" in drifted.stdout, drifted.stdout + drifted.stderr
    (record,) = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert record["drift_workspace"] == name and record["suite_exit_code"] == 0
    assert any(f["attribute"] == "tags" and f["kind"] == "drift" for f in record["drift"]), record["drift"]
    assert [r["kind"] for r in record["regressions"]] == ["drift"]  # the exit 1 is the drift's, nothing else's
    assert "aws_s3_bucket.this" in (tmp_path / "index.html").read_text()
    assert harness("up", "--workspace", name).returncode == 0
    assert drift_report(name) == (0, [])
