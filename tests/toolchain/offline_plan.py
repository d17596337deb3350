"""One way to plan the e2e stack offline with the real provider, for the plan-JSON tests.

A private copy of `terraform/` (so the checkout's .terraform and state are never touched),
the bundled Terraform, the 3.39.0 mirror, and a test-only override: the harness lets the
provider ask STS for the account id, which an offline plan against a closed port cannot,
and no retries keep a refused EC2 probe from costing 20 s.
"""

import shutil
from pathlib import Path

from harness import paths
from harness.terraform import toolchain
from harness.terraform.runner import TerraformRunner

BUNDLED = toolchain.bundled_terraform_path()
OFFLINE_PLAN_OVERRIDE = 'provider "aws" {\n  skip_requesting_account_id = true\n  max_retries = 0\n}\n'
OFFLINE_PLAN_FILE = "zz_offline_plan_override.tf"
CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9"  # the plan must need no AWS call at all


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
