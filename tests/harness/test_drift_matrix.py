"""Each kind of out-of-band change the module can suffer gives exactly its own findings.

One live named workspace on the local AWS, its records under a temporary data dir. Each
case makes one change with boto3 as an operator would, runs `harness drift --json` as a
user would, and checks the findings one by one (address, attribute, kind) and that
nothing else is reported, then what each says (diff lines, whether `harness up` reverts
it). Then it repairs (re-apply, or by hand where Terraform does not undo the change) and
checks drift is clean again, so each case starts clean.
"""

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from harness.jobs import nightly
from harness.lifecycle.workspace import new_run_id
from harness.options import RunOptions
from harness.targets.target import Target

pytestmark = pytest.mark.slow

M = "module.upload_api."


@dataclass
class Live:
    name: str
    target: Target
    outputs: dict
    cli: Any  # the `harness_cli` runner, with the workspace's own data directory

    def harness(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.cli.harness(*args, env=env)

    def drift(self, *extra: str) -> tuple[int, list[dict]]:
        result = self.harness("drift", "--workspace", self.name, "--json", *extra)
        assert result.returncode in (0, 2), result.stderr
        return result.returncode, json.loads(result.stdout)["findings"]

    def upload_resource(self) -> str:
        apigw = self.target.client("apigateway")
        (resource,) = [r for r in apigw.get_resources(restApiId=self.outputs["rest_api_id"])["items"]
                       if r["path"] == "/{bucket}/{filename}"]
        return resource["id"]


@pytest.fixture(scope="module")
def live(local_target, tmp_path_factory, harness_cli):
    data_dir = tmp_path_factory.mktemp("data")
    workspace = Live(f"matrix-{new_run_id()}", local_target, {}, replace(harness_cli.private(data_dir), timeout=600))
    try:
        up = workspace.harness("up", "--workspace", workspace.name, "--target", "endpoint",
                               "--endpoint", local_target.endpoint)
        assert up.returncode == 0, up.stderr
        workspace.outputs.update(json.loads(up.stdout))
        yield workspace
    finally:
        down = workspace.harness("down", "--workspace", workspace.name)
        assert down.returncode == 0, down.stderr
        assert not list(Path(data_dir, "workspaces").glob("*.json"))  # the record went with it


# --- the changes, made the way an operator would ----------------------------------------------

def tag_bucket(live: Live) -> None:
    s3 = live.target.client("s3")
    tags = s3.get_bucket_tagging(Bucket=live.outputs["bucket_name"])["TagSet"]
    s3.put_bucket_tagging(Bucket=live.outputs["bucket_name"],
                          Tagging={"TagSet": [*tags, {"Key": "owner", "Value": "mallory"}]})


def replace_bucket_policy(live: Live) -> None:
    live.target.client("s3").put_bucket_policy(Bucket=live.outputs["bucket_name"], Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                "Action": "s3:GetObject",
                                                "Resource": f"{live.outputs['bucket_arn']}/*"}]}))


def encrypt_with_kms(live: Live) -> None:
    live.target.client("s3").put_bucket_encryption(
        Bucket=live.outputs["bucket_name"], ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:us-east-1:123456789012:key/out-of-band"}}]})


def restore_default_encryption(live: Live) -> None:
    """The module ignores the bucket's default encryption (AWS sets SSE-S3 on every new
    bucket), so `harness up` does not undo this change: put AWS's default back by hand."""
    live.target.client("s3").put_bucket_encryption(
        Bucket=live.outputs["bucket_name"], ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]})


def allow_public_policies(live: Live) -> None:
    live.target.client("s3").put_public_access_block(
        Bucket=live.outputs["bucket_name"], PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True})


def remove_binary_media_type(live: Live) -> None:
    live.target.client("apigateway").update_rest_api(
        restApiId=live.outputs["rest_api_id"], patchOperations=[{"op": "remove", "path": "/binaryMediaTypes/*~1*"}])


def add_method(verb: str) -> Callable[[Live], None]:
    def change(live: Live) -> None:
        live.target.client("apigateway").put_method(restApiId=live.outputs["rest_api_id"],
                                                    resourceId=live.upload_resource(), httpMethod=verb,
                                                    authorizationType="NONE")
    return change


def delete_method(verb: str) -> Callable[[Live], None]:
    """Terraform does not know the method, so `harness up` leaves it: remove it the way it came."""
    def repair(live: Live) -> None:
        live.target.client("apigateway").delete_method(restApiId=live.outputs["rest_api_id"],
                                                       resourceId=live.upload_resource(), httpMethod=verb)
    return repair


def widen_role_policy(live: Live) -> None:
    live.target.client("iam").put_role_policy(
        RoleName=live.outputs["role_arn"].split("/")[-1], PolicyName="put-object-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))


def raise_stage_throttling(live: Live) -> None:
    live.target.client("apigateway").update_stage(
        restApiId=live.outputs["rest_api_id"], stageName=live.outputs["stage_name"],
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000"}])


def delete_stage(live: Live) -> None:
    live.target.client("apigateway").delete_stage(restApiId=live.outputs["rest_api_id"],
                                                  stageName=live.outputs["stage_name"])


def add_api_resource_policy(live: Live) -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                 "Resource": f"{live.outputs['execution_arn']}/*"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    live.target.client("apigateway").update_rest_api(
        restApiId=live.outputs["rest_api_id"],
        patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}])


@dataclass
class Case:
    change: Callable[[Live], None]
    expected: list[tuple[str, str, str]]  # (address, attribute, kind), in report order
    diff: list[str]  # regular expressions, one per diff line of the (single) finding
    reverted_by_apply: bool
    repair: Callable[[Live], None] | None = None  # None: `harness up`
    also: list[str] = field(default_factory=list)  # regular expressions, one per `also` note


ARN = r"arn:aws:s3:::[a-z0-9-]+"
CASES = {
    "bucket-tag-added": Case(
        tag_bucket, [(f"{M}aws_s3_bucket.this", "tags", "drift")], [r'\+ tags\.owner: "mallory"'], True,
        also=[r"tags_all: the same change \(tags_all mirrors tags\)",
              r"aws_s3_bucket_policy\.this\.policy: known after apply only because "
              r"data\.aws_iam_policy_document\.bucket is read again after this change"]),
    "bucket-policy-replaced": Case(
        replace_bucket_policy, [(f"{M}aws_s3_bucket_policy.this", "policy", "drift")],
        [r'- policy statement DenyInsecureTransport: \{"Action": "s3:\*", "Condition": \{"Bool": '
         r'\{"aws:SecureTransport": \["false"\]\}\}, "Effect": "Deny", "Principal": "\*", '
         rf'"Resource": \["{ARN}/\*", "{ARN}"\], "Sid": "DenyInsecureTransport"\}}',
         rf'\+ policy statement PublicRead: \{{"Action": "s3:GetObject", "Effect": "Allow", "Principal": "\*", '
         rf'"Resource": "{ARN}/\*", "Sid": "PublicRead"\}}'], True),
    "encryption-changed-to-kms": Case(
        encrypt_with_kms, [(f"{M}aws_s3_bucket.this", "server_side_encryption_configuration", "drift")],
        [r'~ server_side_encryption_configuration\[0\]\.rule\[0\]\.apply_server_side_encryption_by_default\[0\]'
         r'\.kms_master_key_id: "" -> "arn:aws:kms:us-east-1:123456789012:key/out-of-band"',
         r'~ server_side_encryption_configuration\[0\]\.rule\[0\]\.apply_server_side_encryption_by_default\[0\]'
         r'\.sse_algorithm: "AES256" -> "aws:kms"'],
        False, restore_default_encryption),
    "public-access-block-loosened": Case(
        allow_public_policies, [(f"{M}aws_s3_bucket_public_access_block.this", "block_public_policy", "drift")],
        [r"~ block_public_policy: true -> false"], True),
    "binary-media-type-removed": Case(
        remove_binary_media_type, [(f"{M}aws_api_gateway_rest_api.this", "binary_media_types", "drift")],
        [r'- binary_media_types: "\*/\*"'], True),
    "method-added-delete": Case(
        add_method("DELETE"), [(f"{M}aws_api_gateway_resource.filename", "method DELETE", "unmanaged")],
        [r'\+ DELETE /\{bucket\}/\{filename\}: \{"api_key_required": false, "authorization": "NONE", '
         r'"integration": null, "path": "/\{bucket\}/\{filename\}"\} \(not in Terraform state\)'],
        False, delete_method("DELETE")),
    "method-added-get": Case(
        add_method("GET"), [(f"{M}aws_api_gateway_resource.filename", "method GET", "unmanaged")],
        [r"\+ GET /\{bucket\}/\{filename\}: .*\(not in Terraform state\)"], False, delete_method("GET")),
    "role-policy-widened": Case(
        widen_role_policy, [(f"{M}aws_iam_role_policy.put_object", "policy", "drift")],
        [rf'~ policy statement PutObjectOnly: Action: "s3:PutObject" -> "s3:\*"; Resource: "{ARN}/\*" -> "\*"; '
         r'Sid: "PutObjectOnly" -> \(absent\)'], True),
    "stage-throttling-raised": Case(
        raise_stage_throttling, [(f"{M}aws_api_gateway_method_settings.throttle", "settings", "drift")],
        [r"~ settings\[0\]\.throttling_rate_limit: \d+(\.\d+)? -> 1000(\.0)?"], True),
    "stage-deleted": Case(
        delete_stage, [(f"{M}aws_api_gateway_stage.this", "(resource)", "drift")],
        [r"- resource deleted outside Terraform"], True,
        also=[r"aws_api_gateway_method_settings\.throttle: deleted with it "
              r"\(it belongs to aws_api_gateway_stage\.this\)"]),
    # The module always attaches its resource policy (terraform/modules/s3_upload_api/main.tf), so
    # a policy put on the API outside Terraform replaces it: drift on the module's policy, undone
    # by the next apply.
    "api-resource-policy-replaced": Case(
        add_api_resource_policy, [(f"{M}aws_api_gateway_rest_api_policy.source_ip", "policy", "drift")],
        [r"- policy statement DenyInvokeFromElsewhere: .*",
         r'~ policy statement AllowInvokeFromAllowedRanges: Sid: "AllowInvokeFromAllowedRanges" -> \(absent\)'], True),
}


def test_fresh_apply_has_no_drift(live):
    assert live.drift() == (0, [])


@pytest.mark.parametrize("name", list(CASES))
def test_one_change_gives_exactly_its_findings_then_is_repaired(live, name):
    case = CASES[name]
    case.change(live)
    code, found = live.drift()
    assert code == 2
    assert [(f["address"], f["attribute"], f["kind"]) for f in found] == case.expected, found
    (finding,) = found
    assert len(finding["diff"]) == len(case.diff), finding["diff"]
    for line, pattern in zip(finding["diff"], case.diff, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert finding["reverted_by_apply"] is case.reverted_by_apply
    assert len(finding["also"]) == len(case.also), finding["also"]
    for note, pattern in zip(finding["also"], case.also, strict=True):
        assert re.match(pattern, note), (note, pattern)

    if case.repair is not None:
        case.repair(live)
    repaired = live.harness("up", "--workspace", live.name)
    assert repaired.returncode == 0, repaired.stderr
    live.outputs.update(json.loads(repaired.stdout))
    code, found = live.drift()
    assert (code, found) == (0, []), [(f["address"], f["attribute"], f["diff"]) for f in found]


def test_text_output_shows_a_policy_as_statements(live):
    replace_bucket_policy(live)
    text = live.harness("drift", "--workspace", live.name)
    assert text.returncode == 2, text.stderr
    assert '\\"' not in text.stdout and "\\n" not in text.stdout, text.stdout
    assert f"  [drift] {M}aws_s3_bucket_policy.this: policy  (`harness up` reverts it)" in text.stdout
    assert re.search(r"^      - policy statement DenyInsecureTransport: \{", text.stdout, re.M), text.stdout
    assert re.search(r"^      \+ policy statement PublicRead: \{", text.stdout, re.M), text.stdout
    assert live.harness("up", "--workspace", live.name).returncode == 0
    assert live.drift() == (0, [])


def test_code_that_drops_binary_media_types_is_a_pending_change(live):
    """The plan alone may miss it (provider bug #48385); the live API check does not."""
    code, found = live.drift("--stack-var", "binary_media_types=[]")
    assert code == 2
    assert any(f["kind"] == "pending" and f["address"] == f"{M}aws_api_gateway_rest_api.this"
               and f["attribute"].startswith("binary_media_types") for f in found), found


def test_nightly_with_named_workspace_records_drift_as_a_regression(live, tmp_path):
    """One nightly on a drifted workspace. The clean control is the drift call nightly itself
    makes (`nightly.drift_findings`), run just before the change, rather than a second full
    nightly: an e2e suite run adds nothing to what this test proves (tests/harness/test_nightly_runs.py
    covers the suite side)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_DATA_DIR", str(live.cli.data_dir))
        assert nightly.drift_findings(live.name, RunOptions()) == []  # so the regression below is the change's
    tag_bucket(live)
    drifted = live.harness("nightly", "--workspace", live.name, env={"HARNESS_REPORTS_DIR": str(tmp_path)})
    assert drifted.returncode == 1 and "REGRESSION [drift]" in drifted.stdout, drifted.stdout + drifted.stderr
    (record,) = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert record["drift_workspace"] == live.name and record["suite_exit_code"] == 0
    assert [(f["address"], f["attribute"], f["kind"]) for f in record["drift"]] == [
        (f"{M}aws_s3_bucket.this", "tags", "drift")]
    assert [r["kind"] for r in record["regressions"]] == ["drift"]  # the exit 1 is the drift's, nothing else's
    assert "aws_s3_bucket.this" in (tmp_path / "index.html").read_text()
    assert live.harness("up", "--workspace", live.name).returncode == 0
    assert live.drift() == (0, [])
