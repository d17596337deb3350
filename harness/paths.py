"""Where things live: the project root, its Terraform code, and the harness's own data.

Everything the harness writes goes under the data directory (`.harness/` in the project
root, or HARNESS_DATA_DIR: toolchain, run directories, workspace records, Terraform's
working data and local state) or the reports directory (`reports/`, or HARNESS_REPORTS_DIR);
both defaults are git-ignored. The stack directories hold only the stack's code and the
files the harness generates from it (`harness_*.tf`).
"""

from __future__ import annotations

import hashlib
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
    """Absolute, whatever HARNESS_DATA_DIR says: Terraform runs in the stack directory and is given paths in here."""
    return Path(os.environ.get("HARNESS_DATA_DIR") or project_root() / ".harness").absolute()


def toolchain_dir() -> Path:
    """The toolchain cache (provider mirror, plugin cache, CLI config): HARNESS_TOOLCHAIN_DIR, else
    in the data directory. A cache, not run data: runs with different data directories may share it."""
    return Path(os.environ.get("HARNESS_TOOLCHAIN_DIR") or data_dir() / "toolchain").absolute()


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


def _stack_key(stack_dir: Path) -> str:
    """A stack's name under the data directory: its directory name for this checkout's stacks, else
    the name plus a hash of its path (a copy elsewhere, a `--backend` working copy)."""
    stack_dir = Path(stack_dir).resolve()
    if stack_dir.parent == (project_root() / "terraform" / "stacks").resolve():
        return stack_dir.name
    return f"{stack_dir.name}-{hashlib.sha256(str(stack_dir).encode()).hexdigest()[:10]}"


def terraform_data_dir(stack_dir: Path) -> Path:
    """Terraform's working data for a stack (TF_DATA_DIR: providers, modules, backend settings)."""
    return data_dir() / "terraform" / _stack_key(stack_dir) / ".terraform"


def state_dir(stack_dir: Path) -> Path:
    """A stack's local state: `<workspace>/terraform.tfstate` per workspace (the local backend's
    `workspace_dir`), and `terraform.tfstate` for the default workspace."""
    return data_dir() / "state" / _stack_key(stack_dir)
