"""Where things live: the project root, its Terraform code, and the harness's own data.

Everything the harness writes goes under `.harness/` in the project root (toolchain,
run directories, workspace records) or `reports/`; both are git-ignored.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds `terraform/`: HARNESS_ROOT, else this package's parent, else cwd."""
    if env_root := os.environ.get("HARNESS_ROOT"):
        return Path(env_root).resolve()
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / "terraform" / "stacks").is_dir():
        return package_parent
    return Path.cwd().resolve()


def data_dir() -> Path:
    return Path(os.environ.get("HARNESS_DATA_DIR") or project_root() / ".harness")


def toolchain_dir() -> Path:
    return data_dir() / "toolchain"


def runs_dir() -> Path:
    return data_dir() / "runs"


def workspaces_dir() -> Path:
    """Records of named workspaces: which target each was applied to."""
    return data_dir() / "workspaces"


def reports_dir() -> Path:
    return Path(os.environ.get("HARNESS_REPORTS_DIR") or project_root() / "reports")


def stack_dir(name: str = "e2e") -> Path:
    return project_root() / "terraform" / "stacks" / name


def module_dir(name: str = "s3_upload_api") -> Path:
    return project_root() / "terraform" / "modules" / name
