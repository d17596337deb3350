"""Workspace lifecycle: apply a stack into a workspace, hand its outputs on, destroy it.

Throwaway workspaces are named `t-<run-id>-<worker>` and are destroyed and deleted
whatever happens (success, failing check, exception, Ctrl-C, SIGTERM) unless kept on
purpose. Named workspaces are never destroyed implicitly; `default` never at all.
Every resource is tagged `harness:run-id` and `harness:workspace` (by the stack), and
each named workspace has a record saying which target it lives on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import paths
from harness.client.stack_outputs import StackOutputs
from harness.errors import HarnessError, StateLockedError, TerraformError, WorkspaceError
from harness.options import RunOptions
from harness.plumbing.files import replace_text
from harness.targets.target import Target, write_generated_files
from harness.terraform import runner, toolchain
from harness.terraform.backend import LocalState, S3Backend
from harness.terraform.runner import TerraformRunner

log = logging.getLogger("harness.lifecycle.workspace")

WORKSPACE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
RESERVED_NAMES = {"default"}
THROWAWAY_PREFIX = "t-"


def new_run_id() -> str:
    return secrets.token_hex(4)


def child_run_environment() -> dict[str, str]:
    """This process's environment for a separate harness run (its own run id and workers)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_RUN", "PYTEST_XDIST"))}


def validate_workspace_name(name: str) -> str:
    if name in RESERVED_NAMES:
        raise WorkspaceError(
            f"the workspace name {name!r} is reserved: the harness never applies to or "
            "destroys Terraform's default workspace",
            "pick another name, e.g. --workspace demo",
        )
    if not WORKSPACE_NAME.match(name):
        raise WorkspaceError(
            f"the workspace name {name!r} is not allowed: use 1-32 lowercase letters, digits "
            "and hyphens, starting with a letter or digit (it becomes part of S3 bucket and "
            "IAM role names)",
            "e.g. --workspace demo or --workspace nightly-1",
        )
    return name


def throwaway_name(run_id: str, worker: str) -> str:
    return validate_workspace_name(f"{THROWAWAY_PREFIX}{run_id}-{worker}")


@dataclass
class Deployer:
    """A target plus a ready-to-run Terraform stack for it."""

    target: Target
    options: RunOptions = field(default_factory=RunOptions)
    stack_dir: Path = field(default_factory=paths.stack_dir)
    # (command, seconds, split): each Terraform command, with the split of an apply or destroy (runner.py)
    on_command: Callable[[str, float, dict[str, float] | None], None] | None = None
    backend: S3Backend | None = field(init=False)
    runner: TerraformRunner = field(init=False)
    tools: toolchain.Toolchain = field(init=False)

    def __post_init__(self) -> None:
        if not self.stack_dir.is_dir():
            raise HarnessError(
                f"the stack directory {self.stack_dir} does not exist",
                "run from the project checkout, or set HARNESS_ROOT to it",
            )
        self.tools = toolchain.prepare()
        self.backend = self.options.backend
        if self.backend is not None:
            self.backend.check_terraform(self.tools.binary.version)
            self.stack_dir = self.backend.working_copy(self.stack_dir)

    @property
    def state_store(self) -> S3Backend | LocalState:
        """Where this stack's workspaces keep their state (asked by sweep before calling one stateless)."""
        return self.backend if self.backend is not None else LocalState(self.stack_dir)

    def prepare(self, backend_config: dict[str, str] | None = None, serve_provider: bool = False,
                run_id: str | None = None) -> TerraformRunner:
        """Initialise the stack; `serve_provider`: serve the provider for the commands that follow.

        A provider served for `run_id` is reused by the run's later deployers (its
        teardown) and stopped by the run; one served without a run id is stopped by
        `release_provider`. `options.served_provider` false keeps Terraform's own
        per-command plugin start.
        """
        guess = toolchain.MIRROR_PROVIDER_VERSION if self.tools.provider_source == "mirror" else None
        runner = TerraformRunner(self.tools, self.stack_dir, self.target.terraform_env(),
                                 on_command=self.on_command, lock_timeout=self.options.lock_timeout,
                                 backend_url=self.backend.url if self.backend else None,
                                 command_timeout=self.options.command_timeout,
                                 interrupt_grace=self.options.interrupt_grace)
        write_generated_files(self.stack_dir, runner.provider_version() or guess)
        runner.init(backend_config)
        write_generated_files(self.stack_dir, runner.provider_version() or guess)
        if serve_provider and self.options.served_provider:
            runner.serve_provider(run_id)
        self.runner = runner
        return runner

    def release_provider(self) -> None:
        """Stop the provider served for this deployer alone (a run's is stopped by its teardown)."""
        provider = getattr(self, "runner", None) and self.runner.provider
        if provider and provider.run_id is None:
            if runner.any_running():  # a command still stopping after Ctrl-C needs it; sweep stops it later
                log.warning("left the served provider (pid %d) for a Terraform command that is still stopping; "
                            "`harness sweep` stops it", provider.pid)
                return
            provider.stop()
            self.runner.provider = None


def _record_path(name: str) -> Path:
    return paths.workspaces_dir() / f"{name}.json"


def save_record(name: str, target: Target, run_id: str, backend_url: str | None,
                stack_vars: dict[str, Any] | None = None) -> None:
    """Where the workspace lives, which run made it, and the stack variables it was last applied with.

    `stack_vars` None keeps the remembered ones (a record written before an apply that may
    fail); `created` is kept from an earlier record.
    """
    earlier = load_record(name) or {}
    replace_text(_record_path(name), json.dumps({
        "target": target.to_record(), "run_id": run_id, "created": earlier.get("created", time.time()),
        "backend": backend_url,
        "stack_vars": earlier.get("stack_vars", {}) if stack_vars is None else stack_vars,
        "applied": earlier.get("applied") if stack_vars is None else time.time(),
    }, indent=2))


def list_records() -> dict[str, dict[str, Any]]:
    """Every workspace record, by name (named workspaces and throwaway ones still recorded)."""
    folder = paths.workspaces_dir()
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = load_record(path.stem)
        if record is not None:
            found[path.stem] = record
    return found


def load_record(name: str) -> dict[str, Any] | None:
    try:
        return json.loads(_record_path(name).read_text())
    except (OSError, ValueError):
        return None


def delete_record(name: str) -> None:
    _record_path(name).unlink(missing_ok=True)


class Workspace:
    """One Terraform workspace of the stack, on one target."""

    def __init__(self, name: str, deployer: Deployer, run_id: str) -> None:
        self.name = validate_workspace_name(name)
        self.deployer = deployer
        self.run_id = run_id
        self.runner = deployer.runner.for_workspace(name)

    def variables(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            **self.deployer.target.terraform_vars(),
            "name_prefix": f"up-{self.name}"[:36].rstrip("-"),
            "run_id": self.run_id,
            "state_location": self.deployer.state_store.location,
            **(extra or {}),
        }

    def exists(self) -> bool:
        return self.name in self.runner.workspaces()

    def up(self, extra_vars: dict[str, Any] | None = None) -> StackOutputs:
        self.runner.new_workspace(self.name)
        self.runner.apply(self.variables(extra_vars))
        return self.outputs()

    def outputs(self) -> StackOutputs:
        items = self.runner.output_items()
        values = {name: item["value"] for name, item in items.items()}
        if not values:
            raise WorkspaceError(
                f"workspace {self.name!r} has no outputs: it was never applied (or destroyed)",
                f"apply it with `harness up --workspace {self.name}`",
            )
        sensitive = frozenset(name for name, item in items.items() if item.get("sensitive"))
        return StackOutputs(values, self.deployer.target.invoke_url(values), sensitive)

    def down(self, extra_vars: dict[str, Any] | None = None, refresh: bool = True) -> None:
        """Destroy, then delete the workspace; the state is kept if destroy fails.

        `refresh=False` skips the refresh that precedes a destroy (about a third of its
        time) for a throwaway stack applied moments ago; if that destroy fails, it is
        retried once with a refresh, which corrects any state the run's checks outdated.
        """
        try:
            self.runner.destroy(self.variables(extra_vars), refresh=refresh)
        except StateLockedError:
            raise
        except TerraformError:
            if refresh:
                raise
            self.runner.destroy(self.variables(extra_vars), refresh=True)
        self.runner.delete_workspace(self.name)

    def removal_hint(self) -> str:
        return f"harness down --workspace {self.name}"


@contextmanager
def throwaway_workspace(
    deployer: Deployer,
    run_id: str,
    worker: str,
    keep: bool = False,
    extra_vars: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> Iterator[tuple[Workspace, StackOutputs]]:
    """Apply into `t-<run-id>-<worker>`, yield it, and always destroy and delete it."""
    workspace = Workspace(throwaway_name(run_id, worker), deployer, run_id)
    save_record(workspace.name, deployer.target, run_id, deployer.options.backend_url, extra_vars or {})
    try:
        outputs = workspace.up(extra_vars)
        yield workspace, outputs
    finally:
        if keep:
            log(f"kept workspace {workspace.name}; remove it with: {workspace.removal_hint()}")
        else:
            teardown(workspace, extra_vars, log)


def teardown(
    workspace: Workspace,
    extra_vars: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> None:
    """Destroy and delete; a first Ctrl-C lets that finish, a second says what is left and how to remove it."""
    workspace.runner.interrupts_to_stop = 2
    try:
        workspace.down(extra_vars, refresh=False)
        delete_record(workspace.name)
    except KeyboardInterrupt:
        log(
            f"interrupted while destroying workspace {workspace.name}: its resources and "
            f"state are still there. Remove them with: {workspace.removal_hint()} "
            "(or `harness sweep`)"
        )
        raise
    except HarnessError as exc:
        log(f"could not destroy workspace {workspace.name}: {exc.message}\n"
            f"state is kept; retry with: {workspace.removal_hint()}")
        raise
