"""Drift classification over Terraform's JSON plan: each noise rule, each collapse, the diffs.

The plans below are cut down from `terraform show -json` of real plans (Terraform 1.11,
provider 3.39, local AWS) after one out-of-band change each; only the keys drift.py reads
are kept.
"""

import json

from harness.lifecycle import drift

M = "module.upload_api."
TAGS = {"harness:run-id": "r1", "harness:workspace": "d1"}
BUCKET_ARN = "arn:aws:s3:::up-d1-1"
BUCKET_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Action": "s3:*", "Principal": "*",
    "Resource": [f"{BUCKET_ARN}/*", BUCKET_ARN], "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]},
    indent=2)
STATEMENT_ARGS = {"sid": "DenyInsecureTransport", "effect": "Deny", "actions": ["s3:*"],
                  "resources": [BUCKET_ARN, f"{BUCKET_ARN}/*"], "not_actions": None}


def plan_with(drifted=(), changes=()):
    return {"resource_drift": list(drifted), "resource_changes": list(changes)}


def change(address, before, after, actions=("update",), unknown=None):
    return {"address": address, "change": {"actions": list(actions), "before": before, "after": after,
                                           "after_unknown": unknown or {}}}


def attrs(found):
    return [(f.kind, f.address, f.attribute) for f in found]


def test_null_vs_empty_is_noise():
    plan = plan_with([change("m.aws_api_gateway_method.put", {"request_models": None, "authorizer_id": None},
                             {"request_models": {}, "authorizer_id": ""})])
    assert drift.findings(plan) == []


def test_null_vs_empty_inside_a_block_is_noise_but_a_value_is_not():
    rule = {"id": "expire-replaced-versions", "enabled": True, "noncurrent_version_expiration": [{"days": 30}]}
    quiet = plan_with([change("m.aws_s3_bucket.this", {"lifecycle_rule": [{**rule, "tags": None}]},
                              {"lifecycle_rule": [{**rule, "tags": {}}]})])
    assert drift.findings(quiet) == []
    changed = plan_with([change("m.aws_s3_bucket.this", {"lifecycle_rule": [{**rule, "tags": None}]},
                                {"lifecycle_rule": [{**rule, "tags": {}, "noncurrent_version_expiration": [
                                    {"days": 1}]}]})])
    assert attrs(drift.findings(changed)) == [("drift", "m.aws_s3_bucket.this", "lifecycle_rule")]


def test_real_drift_is_reported_with_before_and_after():
    plan = plan_with([change("m.aws_api_gateway_rest_api.this", {"binary_media_types": ["*/*"]},
                             {"binary_media_types": []})])
    (finding,) = drift.findings(plan)
    assert (finding.kind, finding.attribute, finding.before, finding.after) == (
        "drift", "binary_media_types", ["*/*"], [])
    assert finding.diff == ('- binary_media_types: "*/*"',)
    assert finding.reverted_by_apply is False  # no pending change puts it back


def test_role_inline_policy_mirror_is_noise_only_on_the_modules_role():
    placeholder = [{"name": "", "policy": ""}]
    real = [{"name": "p", "policy": "{}"}]
    assert drift.findings(plan_with([change("m.aws_iam_role.this", {"inline_policy": placeholder},
                                            {"inline_policy": real})])) == []
    assert drift.findings(plan_with([change("m.aws_iam_role.other", {"inline_policy": placeholder},
                                            {"inline_policy": real})]))


def test_deleted_resource_and_its_recreation_are_one_finding():
    plan = plan_with(
        [change("m.aws_api_gateway_stage.this", {"stage_name": "dev"}, None, ("delete",))],
        [change("m.aws_api_gateway_stage.this", None, {"stage_name": "dev"}, ("create",)),
         change("m.aws_s3_bucket.this", {"tags": {"a": "1"}}, {"tags": {"a": "2"}}),
         change("m.aws_iam_role.this", {}, {}, ("no-op",))])
    found = drift.findings(plan)
    assert attrs(found) == [("drift", "m.aws_api_gateway_stage.this", "(resource)"),
                            ("pending", "m.aws_s3_bucket.this", "tags")]
    assert found[0].reverted_by_apply is True and found[0].diff == ("- resource deleted outside Terraform",)
    assert found[1].diff == ('~ tags.a: "1" -> "2"',) and found[1].reverted_by_apply is None


def test_resources_deleted_with_the_resource_they_belong_to_are_reported_on_it():
    """Deleting a stage deletes its method settings: one change, one finding."""
    settings, stage = f"{M}aws_api_gateway_method_settings.throttle", f"{M}aws_api_gateway_stage.this"
    plan = plan_with(
        [change(settings, {"method_path": "*/*"}, None, ("delete",)),
         change(stage, {"stage_name": "dev"}, None, ("delete",))],
        [change(settings, None, {"method_path": "*/*"}, ("create",)),
         change(stage, None, {"stage_name": "dev"}, ("create",))])
    plan["configuration"] = {"root_module": {"module_calls": {"upload_api": {"module": {"resources": [
        {"address": "aws_api_gateway_method_settings.throttle", "expressions": {
            "stage_name": {"references": ["aws_api_gateway_stage.this.stage_name", "aws_api_gateway_stage.this"]}}},
        {"address": "aws_api_gateway_stage.this", "expressions": {}}]}}}}}
    (finding,) = drift.findings(plan)
    assert (finding.address, finding.attribute, finding.reverted_by_apply) == (stage, "(resource)", True)
    assert finding.also == ("aws_api_gateway_method_settings.throttle: deleted with it "
                            "(it belongs to aws_api_gateway_stage.this)",)


def test_a_revert_of_the_drift_is_folded_into_it_but_a_different_pending_value_is_not():
    address = f"{M}aws_s3_bucket_public_access_block.this"
    reverted = plan_with([change(address, {"block_public_policy": True}, {"block_public_policy": False})],
                         [change(address, {"block_public_policy": False}, {"block_public_policy": True})])
    (finding,) = drift.findings(reverted)
    assert (finding.kind, finding.reverted_by_apply, finding.diff) == (
        "drift", True, ("~ block_public_policy: true -> false",))
    rate = f"{M}aws_api_gateway_method_settings.throttle"
    both = plan_with([change(rate, {"settings": [{"throttling_rate_limit": 50}]},
                             {"settings": [{"throttling_rate_limit": 1000}]})],
                     [change(rate, {"settings": [{"throttling_rate_limit": 1000}]},
                             {"settings": [{"throttling_rate_limit": 20}]})])  # the code changed it too
    found = drift.findings(both)
    assert attrs(found) == [("drift", rate, "settings"), ("pending", rate, "settings")]
    assert found[0].reverted_by_apply is False
    assert found[0].diff == ("~ settings[0].throttling_rate_limit: 50 -> 1000",)
    assert found[1].diff == ("~ settings[0].throttling_rate_limit: 1000 -> 20",)


def test_tags_all_changed_like_tags_is_one_finding_but_not_when_default_tags_changed():
    bucket = f"{M}aws_s3_bucket.this"
    added = {**TAGS, "owner": "mallory"}
    plan = plan_with([change(bucket, {"tags": TAGS, "tags_all": TAGS}, {"tags": added, "tags_all": added})])
    (finding,) = drift.findings(plan)
    assert (finding.attribute, finding.diff) == ("tags", ('+ tags.owner: "mallory"',))
    assert finding.also == ("tags_all: the same change (tags_all mirrors tags)",)
    defaults = plan_with([change(bucket, {"tags": TAGS, "tags_all": TAGS},
                                 {"tags": added, "tags_all": {**added, "team": "x"}})])
    assert attrs(drift.findings(defaults)) == [("drift", bucket, "tags"), ("drift", bucket, "tags_all")]


def tag_drift_plan(statement_args=STATEMENT_ARGS, data_type="aws_iam_policy_document",
                   reason="read_because_dependency_pending"):
    """The plan after `put_bucket_tagging` added owner=mallory: the bucket's pending revert makes
    Terraform defer the policy document that refers to the bucket, so the bucket policy's
    policy is "known after apply" (5 findings before the collapses)."""
    bucket, policy = f"{M}aws_s3_bucket.this", f"{M}aws_s3_bucket_policy.this"
    source = f"{M}data.{data_type}.bucket"
    added = {**TAGS, "owner": "mallory"}
    plan = plan_with(
        [change(bucket, {"tags": TAGS, "tags_all": TAGS}, {"tags": added, "tags_all": added})],
        [{**change(source, None, {"statement": [statement_args], "version": None}, ("read",),
                   {"id": True, "json": True}), "action_reason": reason},
         change(bucket, {"tags": added, "tags_all": added}, {"tags": TAGS, "tags_all": TAGS}),
         change(policy, {"bucket": "up-d1-1", "policy": BUCKET_POLICY}, {"bucket": "up-d1-1"},
                unknown={"policy": True})])
    plan["configuration"] = {"root_module": {"module_calls": {"upload_api": {"module": {"resources": [
        {"address": "aws_s3_bucket_policy.this", "expressions": {
            "bucket": {"references": ["aws_s3_bucket.this.id", "aws_s3_bucket.this"]},
            "policy": {"references": [f"data.{data_type}.bucket.json", f"data.{data_type}.bucket"]}}},
        {"address": f"data.{data_type}.bucket", "expressions": {"statement": [{
            "resources": {"references": ["aws_s3_bucket.this.arn", "aws_s3_bucket.this"]},
            "sid": {"constant_value": "DenyInsecureTransport"}}]}}]}}}}}
    return plan


def stored_state(statement_args=STATEMENT_ARGS, data_type="aws_iam_policy_document"):
    """`terraform show -json` of the state: the document as last read (provider defaults filled in)."""
    stored = {**STATEMENT_ARGS, "not_actions": []}
    return {"values": {"root_module": {"child_modules": [{"resources": [
        {"address": f"{M}data.{data_type}.bucket", "type": data_type,
         "values": {"id": "1", "json": BUCKET_POLICY, "version": "2012-10-17", "statement": [stored]}}]}]}}}


def test_an_added_bucket_tag_is_one_finding_with_what_follows_from_it_noted():
    found = drift.findings(tag_drift_plan(), stored_state())
    assert attrs(found) == [("drift", f"{M}aws_s3_bucket.this", "tags")]
    (finding,) = found
    assert finding.reverted_by_apply is True and finding.diff == ('+ tags.owner: "mallory"',)
    assert finding.also == (
        "tags_all: the same change (tags_all mirrors tags)",
        "aws_s3_bucket_policy.this.policy: known after apply only because data.aws_iam_policy_document.bucket "
        "is read again after this change (same arguments, so the same value)")


def test_known_after_apply_stays_a_finding_when_it_may_really_change():
    policy = (f"{M}aws_s3_bucket_policy.this", "policy")
    without_state = drift.findings(tag_drift_plan())
    assert [(f.address, f.attribute, f.after) for f in without_state if f.kind == "pending"] == [
        (*policy, drift.UNKNOWN)]
    assert without_state[-1].diff == (
        "~ policy: (known after apply), now policy with statements DenyInsecureTransport",)
    widened = {**STATEMENT_ARGS, "actions": ["s3:GetObject"]}  # the code changed the document
    assert policy in [(f.address, f.attribute) for f in drift.findings(tag_drift_plan(widened), stored_state())]
    other_source = drift.findings(tag_drift_plan(data_type="aws_s3_bucket"), stored_state(data_type="aws_s3_bucket"))
    assert policy in [(f.address, f.attribute) for f in other_source]  # not computed locally: may differ
    config_unknown = drift.findings(tag_drift_plan(reason="read_because_config_unknown"), stored_state())
    assert policy in [(f.address, f.attribute) for f in config_unknown]


def test_a_policy_is_shown_as_its_statements_not_as_escaped_json():
    before = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Keep", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Sid": "Gone", "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        {"Sid": "Edit", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:1"}]}, indent=2)
    after = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Resource": "*", "Action": "s3:GetObject", "Effect": "Allow", "Sid": "Keep"},  # same, written otherwise
        {"Sid": "Edit", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:1"},
        {"Sid": "New", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:2"}]})
    assert drift.value_diff(before, after, "policy") == [
        '- policy statement Gone: {"Action": "s3:*", "Effect": "Deny", "Resource": "*", "Sid": "Gone"}',
        '~ policy statement Edit: Action: "s3:PutObject" -> "s3:*"',
        '+ policy statement New: {"Action": "s3:GetObject", "Effect": "Allow", "Principal": "*", '
        '"Resource": "arn:2", "Sid": "New"}']
    assert drift.value_diff(before, before.replace("\n", ""), "policy") == []


def test_statements_without_a_sid_are_paired_in_order_and_a_new_policy_is_its_statements():
    before = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PutObjectOnly", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:b/*"}]})
    after = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    assert drift.value_diff(before, after, "policy") == [
        '~ policy statement PutObjectOnly: Action: "s3:PutObject" -> "s3:*"; Resource: "arn:b/*" -> "*"; '
        'Sid: "PutObjectOnly" -> (absent)']
    assert drift.value_diff("", after, "policy") == [
        '+ policy statement #1: {"Action": "s3:*", "Effect": "Allow", "Resource": "*"}']


def test_render_prints_each_change_readably_and_report_keeps_the_json_shape():
    address = f"{M}aws_s3_bucket_policy.this"
    replaced = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:b/*"}]})
    found = drift.findings(plan_with([change(address, {"policy": BUCKET_POLICY}, {"policy": replaced})],
                                     [change(address, {"policy": replaced}, {"policy": BUCKET_POLICY})]))
    text = drift.render("d1", found)
    assert "\\n" not in text and '\\"' not in text
    statement = json.dumps(json.loads(BUCKET_POLICY)["Statement"][0], sort_keys=True)
    assert text.splitlines()[:3] == [
        "workspace d1: drift (changed outside Terraform)",
        f"  [drift] {address}: policy  (`harness up` reverts it)",
        f"      - policy statement DenyInsecureTransport: {statement}"]
    assert text.splitlines()[3].startswith("      + policy statement PublicRead: ")
    reported = drift.report("d1", found)
    assert (reported["workspace"], reported["clean"]) == ("d1", False)
    (entry,) = reported["findings"]
    assert {"kind", "address", "attribute", "before", "after", "actions"} <= set(entry)
    assert (entry["before"], entry["after"]) == (BUCKET_POLICY, replaced)  # raw values kept
    assert drift.render("d1", []) == "workspace d1: clean (no drift, no pending changes)"


def test_the_api_policy_mirror_after_terraform_removed_its_policy_is_noise_but_an_added_policy_is_not():
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "AllowInvokeFromAllowedRanges",
                                                                  "Effect": "Allow", "Action": "execute-api:Invoke"}]})
    address = f"{M}aws_api_gateway_rest_api.this"
    # allowed_source_cidrs back to []: the policy resource is gone, the mirror lags one refresh.
    assert drift.findings(plan_with([change(address, {"policy": policy}, {"policy": ""})])) == []
    # A policy put on the API outside Terraform, while the code manages none: still drift.
    (added,) = drift.findings(plan_with([change(address, {"policy": ""}, {"policy": policy})]))
    assert (added.kind, added.attribute) == ("drift", "policy")
