"""A named workspace changed in place, as a user lives with it: `harness up --workspace NAME` on
the local AWS with `authorization` NONE, then AWS_IAM, API_KEY and NONE again, then `harness down`.

Every change goes through Terraform's in-place updates (UpdateMethod, UpdateStage, a new
deployment): each apply must finish within the command timeout (an operation the local AWS
answered with 500 kept the provider retrying for minutes), and the next request must meet the
new caller check, since a stage serves the deployment Terraform made for the change.
"""

import json
import time
import uuid

import pytest

from harness import paths
from harness.client.upload_client import UploadClient
from harness.lifecycle.workspace import new_run_id
from harness.targets.target import Target
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow


def _api_key_value(target: Target, rest_api_id: str, stage: str) -> str:
    """The key of the usage plan bound to the stage, read from the local AWS (never printed)."""
    apigw = target.client("apigateway")
    for plan in apigw.get_usage_plans()["items"]:
        if any(s["apiId"] == rest_api_id and s["stage"] == stage for s in plan.get("apiStages", [])):
            (plan_key,) = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
            return str(apigw.get_api_key(apiKey=plan_key["id"], includeValue=True)["value"])
    raise AssertionError("no usage plan is bound to the stage")


def test_authorization_changes_in_place_take_effect_on_one_named_workspace(local_target, harness_cli):
    # Each command is bounded (harness_cli): an apply that never finishes fails the test instead of hanging it.
    harness = harness_cli.harness
    name = f"upd-{new_run_id()}"
    target = ["--target", "endpoint", "--endpoint", local_target.endpoint]
    timings: dict[str, float] = {}
    try:
        outputs: dict = {}
        for authorization in ("NONE", "AWS_IAM", "API_KEY", "NONE"):
            started = time.monotonic()
            up = harness("up", "--workspace", name, *target, "--stack-var", f'authorization="{authorization}"')
            seconds = time.monotonic() - started
            assert up.returncode == 0, up.stderr[-3000:]
            outputs = json.loads(up.stdout)
            timings[f"{len(timings) + 1}:{authorization}"] = seconds
            print(f"apply with authorization={authorization}: {seconds:.1f}s")
            client = UploadClient(outputs["harness_invoke_url"], outputs["bucket_name"])
            key = f"upd-{uuid.uuid4().hex[:8]}.txt"
            unsigned = client.put(key, b"hello")
            if authorization == "NONE":
                assert unsigned.status_code == 200, unsigned.text
            elif authorization == "AWS_IAM":
                assert unsigned.status_code == 403, unsigned.text
                assert unsigned.json() == {"message": "Missing Authentication Token"}
            else:
                assert unsigned.status_code == 403, unsigned.text
                assert unsigned.json() == {"message": "Forbidden"}
                value = _api_key_value(local_target, outputs["rest_api_id"], outputs["stage_name"])
                keyed = client.put(key, b"hello", headers={"x-api-key": value})
                assert keyed.status_code == 200, keyed.status_code
        print("apply timings:", json.dumps({k: round(v, 1) for k, v in timings.items()}))
    finally:
        down = harness("down", "--workspace", name)
    assert down.returncode == 0, down.stderr[-3000:]
    assert not LocalState(paths.stack_dir()).state_file(name).parent.exists(), "state left"
    assert not (paths.workspaces_dir() / f"{name}.json").exists(), "record left"
