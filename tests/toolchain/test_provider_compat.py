"""Provider compatibility of the module and the generated override, shown in Terraform's plan JSON.

Planned with the real provider 3.39.0 from the offline mirror (the only one this machine
has); what 5.x/6.x need is asserted on the configuration Terraform itself reports.
"""

import shutil

import pytest
from offline_plan import BUNDLED, offline_stack

from harness import paths
from harness.lifecycle.workspace import Deployer, new_run_id, throwaway_workspace
from harness.targets.target import write_generated_files
from harness.terraform import toolchain
from harness.terraform.runner import TerraformRunner

pytestmark = [pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed"),
              pytest.mark.slow]  # plans the stack with real Terraform: seconds each; `make test`, not `make check`
EXCLUDED_RELEASES = ("!= 6.0.0", "!= 6.1.0")  # identity-change bugs, #43199/#43204, fixed by #43221
@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """Init and plan a private copy of the e2e stack with the override for an unknown version."""
    root = tmp_path_factory.mktemp("compat")
    runner, stack = offline_stack(root)
    write_generated_files(stack, None)  # what a run writes before init has locked a version
    runner.init()
    plan_file = root / "plan.tfplan"
    # A closed loopback port: the plan must need no AWS call at all.
    assert runner.plan({"harness_endpoint_url": "http://127.0.0.1:9", "run_id": "compat", "region": "eu-west-1"},
                       out=plan_file)
    return runner.show_json(plan_file)


def _references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "references":
                yield from value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_region_comes_from_the_id_every_provider_has(planned):
    references = set(_references(planned["configuration"]))
    assert "data.aws_region.current.id" in references
    assert not {r for r in references if r.startswith("data.aws_region.current.") and not r.endswith(".id")}
    assert planned["planned_values"]["outputs"]["region"]["value"] == "eu-west-1"
    integration = next(c["change"]["after"] for c in planned["resource_changes"]
                       if c["address"] == "module.upload_api.aws_api_gateway_integration.s3_put")
    assert integration["uri"] == "arn:aws:apigateway:eu-west-1:s3:path/{bucket}/{key}"


def test_version_constraint_excludes_the_identity_bug_releases(planned):
    constraints = {name: config.get("version_constraint", "")
                   for name, config in planned["configuration"]["provider_config"].items()}
    assert constraints, "no provider configuration in the plan"
    for name, constraint in constraints.items():
        assert all(excluded in constraint for excluded in EXCLUDED_RELEASES), (name, constraint)
        assert ">= 3.39" in constraint and "< 7.0" in constraint, (name, constraint)


def test_unknown_version_override_has_no_arguments_newer_providers_reject(planned):
    arguments = set(planned["configuration"]["provider_config"]["aws"].get("expressions", {}))
    assert "skip_credentials_validation" in arguments  # the override was merged
    # Removed in 5.0 (s3_force_path_style, skip_get_ec2_platforms) or harmful on 6.x.
    assert not arguments & {"s3_force_path_style", "skip_get_ec2_platforms"}


@pytest.mark.slow
def test_arns_the_provider_builds_carry_the_account_id_on_the_local_aws(local_target):
    """Without skip_requesting_account_id the provider asks STS (the local AWS answers)."""
    deployer = Deployer(local_target)
    deployer.prepare()
    with throwaway_workspace(deployer, new_run_id(), "acct", log=lambda message: None) as (workspace, _):
        state = workspace.runner.show_json()
    resources = {r["address"]: r["values"] for r in state["values"]["root_module"]["child_modules"][0]["resources"]}
    execution_arn = resources["module.upload_api.aws_api_gateway_rest_api.this"]["execution_arn"]
    account = execution_arn.split(":")[4]
    assert account.isdigit() and len(account) == 12, execution_arn
    role_arn = resources["module.upload_api.aws_iam_role.this"]["arn"]
    assert role_arn.split(":")[4] == account, (role_arn, execution_arn)


def test_an_upgrade_in_the_backend_working_copy_leaves_the_checkouts_lock_alone(tmp_path):
    """Terraform replaces the linked lock file (it writes by rename); the copy keeps its own from then on."""
    from harness.terraform.backend import LOCK_FILE, S3Backend

    shutil.copytree(paths.project_root() / "terraform", tmp_path / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate.d", "harness_*.tf", "*.lock",
                                                  ".e2e-s3-*"))
    stack = tmp_path / "terraform" / "stacks" / "e2e"
    # An older selection than the mirror has, so `init -upgrade` must change it and write.
    stale = (stack / LOCK_FILE).read_text().replace('version     = "3.39.0"', 'version     = "3.38.0"')
    (stack / LOCK_FILE).write_text(stale)
    backend = S3Backend.parse("s3://state/e2e.tfstate")
    copy = backend.working_copy(stack)
    assert (copy / LOCK_FILE).is_symlink()
    tools = toolchain.Toolchain(toolchain.TerraformBinary(str(BUNDLED), toolchain._probe_version(str(BUNDLED))[0],
                                                          "test", "terraform"),
                                "mirror", "test", str(toolchain.write_cli_config(True)))
    write_generated_files(copy, None)
    TerraformRunner(tools, copy, {"TF_CLI_ARGS_init": "-upgrade -backend=false"}).init()
    assert not (copy / LOCK_FILE).is_symlink() and 'version     = "3.39.0"' in (copy / LOCK_FILE).read_text()
    assert (stack / LOCK_FILE).read_text() == stale
    backend.working_copy(stack)  # the next run in this copy keeps the lock its providers match
    assert 'version     = "3.39.0"' in (copy / LOCK_FILE).read_text()
