"""The harness's error types. Each carries a message a person can act on.

`HarnessError.hint` says what to do; the CLI prints message and hint without a traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A failure with a clear cause and a suggested fix."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message


class ToolchainError(HarnessError):
    """Terraform or the provider mirror is missing or broken."""


class TerraformError(HarnessError):
    """A Terraform command failed; `stderr` holds Terraform's own words."""

    def __init__(
        self, command: str, returncode: int, stdout: str, stderr: str, hint: str = ""
    ) -> None:
        detail = (stderr or stdout).strip()
        super().__init__(f"`{command}` failed with exit code {returncode}:\n{detail}", hint)
        self.command = command
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class StateLockedError(TerraformError):
    """Another process holds the state lock."""


class StateCorruptError(TerraformError):
    """The state file cannot be read; the harness leaves it untouched."""


class WorkspaceError(HarnessError):
    """A workspace name or workspace operation is not allowed."""


class WorkspaceMissingError(WorkspaceError):
    """A named workspace that does not exist (no record of it, no state)."""


class TargetError(HarnessError):
    """A target is unknown, unreachable or lacks credentials."""


class LocalAwsError(HarnessError):
    """The embedded local AWS could not start or answer."""
