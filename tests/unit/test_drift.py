"""Drift classification over Terraform's JSON plan, and each noise rule."""

from harness import drift


def plan_with(drifted=(), changes=()):
    return {"resource_drift": list(drifted), "resource_changes": list(changes)}


def change(address, before, after, actions=("update",)):
    return {"address": address, "change": {"actions": list(actions), "before": before, "after": after,
                                           "after_unknown": {}}}


def test_null_vs_empty_is_noise():
    plan = plan_with([change("m.aws_api_gateway_method.put", {"request_models": None, "authorizer_id": None},
                             {"request_models": {}, "authorizer_id": ""})])
    assert drift.findings(plan) == []


def test_real_drift_is_reported_with_before_and_after():
    plan = plan_with([change("m.aws_api_gateway_rest_api.this", {"binary_media_types": ["*/*"]},
                             {"binary_media_types": []})])
    (finding,) = drift.findings(plan)
    assert (finding.kind, finding.attribute, finding.before, finding.after) == (
        "drift", "binary_media_types", ["*/*"], [])


def test_role_inline_policy_mirror_is_noise_only_on_the_modules_role():
    placeholder = [{"name": "", "policy": ""}]
    real = [{"name": "p", "policy": "{}"}]
    assert drift.findings(plan_with([change("m.aws_iam_role.this", {"inline_policy": placeholder},
                                            {"inline_policy": real})])) == []
    assert drift.findings(plan_with([change("m.aws_iam_role.other", {"inline_policy": placeholder},
                                            {"inline_policy": real})]))


def test_deleted_resource_and_pending_changes():
    plan = plan_with(
        [change("m.aws_api_gateway_stage.this", {"stage_name": "dev"}, None, ("delete",))],
        [change("m.aws_api_gateway_stage.this", None, {"stage_name": "dev"}, ("create",)),
         change("m.aws_s3_bucket.this", {"tags": {"a": "1"}}, {"tags": {"a": "2"}}),
         change("m.aws_iam_role.this", {}, {}, ("no-op",))])
    kinds = [(f.kind, f.address, f.attribute) for f in drift.findings(plan)]
    assert kinds == [("drift", "m.aws_api_gateway_stage.this", "(resource)"),
                     ("pending", "m.aws_api_gateway_stage.this", "(resource)"),
                     ("pending", "m.aws_s3_bucket.this", "tags")]
