"""Planning the e2e stack offline with the real provider, for the plan-JSON tests.

A private copy of `terraform/` (so the checkout's .terraform and state are never touched),
the bundled Terraform, the 3.39.0 mirror, and a test-only override: the harness lets the
provider ask STS for the account id, which an offline plan against a closed port cannot,
and no retries keep a refused EC2 probe from costing 20 s.

`OfflinePlanner` is the one planner the plan tests share (the session fixtures `offline_planner`
and `plan` in tests/toolchain/conftest.py): one copy, one `init` and one served provider per test process,
then one `terraform plan` per set of variables. `offline_stack` alone is for a copy set up
differently (another generated provider override).
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from harness import paths
from harness.targets.target import write_generated_files
from harness.terraform import toolchain
from harness.terraform.runner import TerraformRunner

BUNDLED = toolchain.bundled_terraform_path()
OFFLINE_PLAN_OVERRIDE = 'provider "aws" {\n  skip_requesting_account_id = true\n  max_retries = 0\n}\n'
OFFLINE_PLAN_FILE = "zz_offline_plan_override.tf"
CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9"  # the plan must need no AWS call at all
MODULE = "module.upload_api."
DEFAULT_RUN_ID = "offline-plan"


def offline_stack(root: Path) -> tuple[TerraformRunner, Path]:
    """A runner on a private copy of the e2e stack, with the offline-plan override written."""
    shutil.copytree(paths.project_root() / "terraform", root / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate.d", "harness_*.tf", "*.lock",
                                                  ".e2e-s3-*"))
    stack = root / "terraform" / "stacks" / "e2e"
    tools = toolchain.Toolchain(toolchain.TerraformBinary(str(BUNDLED), toolchain._probe_version(str(BUNDLED))[0],
                                                          "test", "terraform"),
                                "mirror", "test", str(toolchain.write_cli_config(True)))
    runner = TerraformRunner(tools, stack, {"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
                                            "AWS_EC2_METADATA_DISABLED": "true"})
    (stack / OFFLINE_PLAN_FILE).write_text(OFFLINE_PLAN_OVERRIDE)
    return runner, stack


class Plan(NamedTuple):
    """One plan: each resource's planned values by address (the module's prefix dropped), and
    the whole of `terraform show -json` (configuration, variables, planned outputs)."""

    after: dict[str, Any]
    shown: dict[str, Any]

    @property
    def changes(self) -> dict[str, Any]:
        """Each resource's whole change (`after`, `after_unknown`, ...) by address."""
        return {change["address"].removeprefix(MODULE): change["change"] for change in self.shown["resource_changes"]}

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.shown["planned_values"]["outputs"])


class OfflinePlanner:
    """A private copy of the e2e stack, initialised once, planned with any variables.

    Plans are made one at a time, each into a plan file of its own; one planner is never shared
    between processes (under xdist each worker has its own copy and `init`). A plan's result is
    kept by its variables, since Terraform would plan the same variables the same way; each
    caller gets its own copy. A plan Terraform refuses raises TerraformError (Terraform's words
    in `stderr`).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner, self.stack = offline_stack(root)
        write_generated_files(self.stack, toolchain.MIRROR_PROVIDER_VERSION)
        self.runner.init()
        # One provider for all its plans (Terraform reattaches, harness/terraform/provider_server.py):
        # measured 0.96 s and 1.3 s of CPU a plan, against 1.75 s and 2.3 s when each plan starts its own.
        self.provider = self.runner.serve_provider()
        self._numbers = itertools.count()
        self._planned: dict[str, Plan] = {}

    def close(self) -> None:
        """Stop the served provider (recorded as a child process: `harness sweep` finds it after a kill)."""
        if self.provider is not None:
            self.provider.stop()
            self.provider = self.runner.provider = None

    def plan(self, **variables: Any) -> Plan:
        """The plan of the stack with `variables` (run_id `offline-plan` unless given)."""
        assigned = {"harness_endpoint_url": CLOSED_PORT_ENDPOINT, "run_id": DEFAULT_RUN_ID, **variables}
        key = json.dumps(assigned, sort_keys=True)
        if key not in self._planned:
            plan_file = self.root / f"plan-{next(self._numbers)}.tfplan"
            try:
                changed = self.runner.plan(assigned, out=plan_file)
                assert changed, "a plan of the stack on empty state has changes (-detailed-exitcode 2)"
                shown = self.runner.show_json(plan_file)
            finally:
                plan_file.unlink(missing_ok=True)
            after = {address: change["after"] for address, change in Plan({}, shown).changes.items()}
            self._planned[key] = Plan(after, shown)
        return copy.deepcopy(self._planned[key])
