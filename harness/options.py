"""One value for a run's settings, built once at the edges and handed down explicitly.

`RunOptions` carries where to deploy (target, endpoint, region, profile), where state
lives (backend), how long to wait (state lock, Terraform commands), the extra stack
variables and whether to keep the throwaway stack. It is built once, from CLI arguments
or pytest options plus the few documented environment defaults (`HARNESS_BACKEND`,
`HARNESS_COMMAND_TIMEOUT`, `HARNESS_INTERRUPT_GRACE`), validated here and nowhere else, and passed to every layer
below (run lifecycle, workspace, Terraform runner); pytest-xdist workers receive it from
the controller through `workerinput`. No layer below reads these settings from
`os.environ`.

The target options are defined once (`TARGET_OPTIONS`) for both the `harness` command
(argparse) and the pytest plugin (`addoption`), which take the same keyword arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.targets.target import DEFAULT_REGION, TARGET_KINDS, Target
from harness.terraform import backend as backends
from harness.terraform import stack_variables
from harness.terraform.runner import (
    COMMAND_TIMEOUT_ENV,
    DEFAULT_COMMAND_TIMEOUT_SECONDS,
    INTERRUPT_GRACE_ENV,
    INTERRUPT_GRACE_SECONDS,
)

DEFAULT_READY_TIMEOUT_SECONDS = 120.0
LOCK_TIMEOUT = re.compile(r"^\d+[smh]$")
BACKEND_ENV = backends.BACKEND_ENV


@dataclass(frozen=True)
class OptionSpec:
    flag: str
    kwargs: dict[str, Any]


TARGET_OPTIONS: tuple[OptionSpec, ...] = (
    # No argparse `choices`: Target names the bad value and says what to use, in the
    # harness's own one-line form, for the CLI and the plugin alike.
    OptionSpec("--target", {"default": None, "metavar": "|".join(TARGET_KINDS),
                            "help": "where to deploy: local (default, the embedded local AWS), endpoint "
                                    "(--endpoint URL), localstack (default http://127.0.0.1:4566) or aws"}),
    OptionSpec("--endpoint", {"default": None, "help": "endpoint URL for --target endpoint or localstack"}),
    OptionSpec("--region", {"default": None, "help": f"AWS region (default {DEFAULT_REGION})"}),
    OptionSpec("--profile", {"default": None, "help": "AWS profile for --target aws"}),
    OptionSpec("--backend", {"default": None, "metavar": "s3://BUCKET/KEY",
                             "help": "keep state in S3 with a native lock file (Terraform >= 1.10); "
                                     "?region=R&endpoint=URL optional; default: local state (or HARNESS_BACKEND)"}),
    OptionSpec("--lock-timeout", {"default": None, "metavar": "DURATION",
                                  "help": "wait this long (e.g. 5m) for another run's state lock instead of failing"}),
    OptionSpec("--provider-per-command", {"action": "store_true", "default": False,
                                          "help": "let Terraform start the AWS provider for every command (its "
                                                  "default; slower) instead of serving it once per run"}),
    OptionSpec("--stack-var", {"action": "append", "default": [], "metavar": "NAME=JSON",
                               "help": "stack variable, e.g. 'authorization=\"AWS_IAM\"'; a named workspace "
                                       "remembers it for later commands (checked against the stack's variables)"}),
    OptionSpec("--unset-stack-var", {"action": "append", "default": [], "metavar": "NAME",
                                     "help": "drop a variable a named workspace remembers: back to the stack's "
                                             "default"}),
)


READINESS_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("--ready-timeout", {"default": None, "type": float, "metavar": "SECONDS",
                                   "help": "after an apply, wait up to this long for the API to answer as intended "
                                           f"(default {DEFAULT_READY_TIMEOUT_SECONDS:.0f})"}),
    OptionSpec("--no-readiness-gate", {"action": "store_true", "default": False,
                                       "help": "start the checks right after apply, without waiting for the API "
                                               "(shows what AWS's propagation delays do to an unguarded suite)"}),
)


LOCALAWS_OPTIONS: tuple[OptionSpec, ...] = (
    # Passed to the local AWS the run starts (harness/localaws/faults.py owns both grammars).
    OptionSpec("--localaws-profile", {"default": None, "metavar": "SPEC",
                                      "help": "propagation in the local AWS: default (instant) or "
                                              "aws-like[:role=10s,stage=3s,flap=1]"}),
    OptionSpec("--localaws-faults", {"default": None, "metavar": "SPEC",
                                     "help": "faults the local AWS injects, e.g. "
                                             "'s3.put:slowdown@rate=0.2,apigw:throttle@count=2;seed=42'"}),
)


def add_localaws_options(add: Callable[..., Any]) -> None:
    """The local AWS's profile and fault spec, for commands that start one (`up`, the pytest plugin)."""
    for spec in LOCALAWS_OPTIONS:
        add(spec.flag, **spec.kwargs)


def add_readiness_options(add: Callable[..., Any]) -> None:
    """The readiness gate's options, for commands that apply (`up`, the pytest plugin)."""
    for spec in READINESS_OPTIONS:
        add(spec.flag, **spec.kwargs)


def add_target_options(add: Callable[..., Any]) -> None:
    """Register the target options with argparse's `add_argument` or pytest's `addoption`."""
    for spec in TARGET_OPTIONS:
        add(spec.flag, **spec.kwargs)


def parse_stack_vars(items: list[str]) -> dict[str, Any]:
    """`NAME=JSON` items (from --stack-var) as Terraform variables, each name one the stack declares."""
    variables: dict[str, Any] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            raise HarnessError(f"--stack-var {item!r} has no '='", "write NAME=JSON, e.g. --stack-var "
                               "binary_media_types=[] or --stack-var 'authorization=\"AWS_IAM\"'")
        try:
            variables[name] = json.loads(value)
        except ValueError as exc:
            raise HarnessError(f"--stack-var {item!r}: the value is not JSON ({exc})",
                               'e.g. --stack-var binary_media_types=[] or --stack-var \'name_prefix="x"\'') from exc
    return variables


def check_stack_var_names(stack_vars: Mapping[str, Any], unset: tuple[str, ...]) -> None:
    """Every --stack-var / --unset-stack-var name must be a variable the stack declares."""
    if not stack_vars and not unset:
        return
    known = stack_variables.declared(paths.stack_dir())
    stack_variables.check_names(stack_vars, known)
    stack_variables.check_names(unset, known, flag="--unset-stack-var")


def _positive_seconds(environ: Mapping[str, str], name: str, default: float, example: float) -> float:
    """A number of seconds from the environment variable `name` (`default` when unset), positive."""
    text = environ.get(name)
    try:
        seconds = float(text) if text else default
    except ValueError:
        raise HarnessError(f"{name}={text!r} is not a number of seconds", f"e.g. {name}={example:g}") from None
    if seconds <= 0:
        raise HarnessError(f"{name} must be positive", f"e.g. {name}={example:g}")
    return seconds


@dataclass(frozen=True)
class RunOptions:
    target_kind: str = "local"
    endpoint: str | None = None
    region: str = DEFAULT_REGION
    profile: str | None = None
    backend_url: str | None = None
    lock_timeout: str | None = None
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT_SECONDS
    stack_vars: dict[str, Any] = field(default_factory=dict)
    # Dropped from a named workspace's remembered variables (harness/terraform/stack_variables.py).
    unset_stack_vars: tuple[str, ...] = ()
    keep: bool = False
    readiness_gate: bool = True
    ready_timeout: float = DEFAULT_READY_TIMEOUT_SECONDS
    localaws_profile: str | None = None
    localaws_faults: str | None = None
    # Serve the provider once and let Terraform reattach (harness/terraform/provider_server.py).
    served_provider: bool = True
    # Seconds a stopped Terraform command gets before its provider is stopped (harness/terraform/runner.py).
    interrupt_grace: float = INTERRUPT_GRACE_SECONDS

    @classmethod
    def from_values(cls, get: Callable[[str], Any], environ: Mapping[str, str], keep: bool = False) -> RunOptions:
        """Build and validate from option values (`get("backend")`) and environment defaults."""
        endpoint = get("endpoint")
        kind = get("target") or ("endpoint" if endpoint else "local")
        backend_url = get("backend") or environ.get(BACKEND_ENV) or None
        if backend_url:
            backend_url = backends.S3Backend.parse(backend_url).url
        lock_timeout = get("lock_timeout")
        if lock_timeout and not LOCK_TIMEOUT.match(lock_timeout):
            raise HarnessError(f"--lock-timeout {lock_timeout!r} is not a duration", "e.g. 30s, 5m or 1h")
        command_timeout = _positive_seconds(environ, COMMAND_TIMEOUT_ENV, DEFAULT_COMMAND_TIMEOUT_SECONDS, 1800)
        interrupt_grace = _positive_seconds(environ, INTERRUPT_GRACE_ENV, INTERRUPT_GRACE_SECONDS, 60)
        ready_timeout = get("ready_timeout")
        if ready_timeout is not None and ready_timeout <= 0:
            raise HarnessError(f"--ready-timeout {ready_timeout} must be positive",
                               "e.g. --ready-timeout 180, or --no-readiness-gate to skip the gate")
        from harness.localaws import faults

        localaws_profile, localaws_faults = get("localaws_profile"), get("localaws_faults")
        if localaws_profile is not None:
            faults.parse_profile(localaws_profile)
        if localaws_faults is not None:
            faults.parse_faults(localaws_faults)
        stack_vars = parse_stack_vars(get("stack_var") or [])
        unset = tuple(get("unset_stack_var") or ())
        check_stack_var_names(stack_vars, unset)
        options = cls(kind, endpoint, get("region") or DEFAULT_REGION, get("profile"), backend_url, lock_timeout,
                      command_timeout, stack_vars, unset, keep,
                      not get("no_readiness_gate"),
                      DEFAULT_READY_TIMEOUT_SECONDS if ready_timeout is None else float(ready_timeout),
                      localaws_profile, localaws_faults, not get("provider_per_command"), interrupt_grace)
        options.target()  # validates kind and endpoint
        return options

    def target(self) -> Target:
        return Target(self.target_kind, self.endpoint, self.region, self.profile)

    @property
    def backend(self) -> backends.S3Backend | None:
        return backends.S3Backend.parse(self.backend_url) if self.backend_url else None

    def with_backend(self, url: str | None) -> RunOptions:
        return replace(self, backend_url=backends.S3Backend.parse(url).url if url else None)

    def to_args(self) -> list[str]:
        """Command-line arguments that rebuild these options in a child `pytest` or `harness`."""
        args = ["--target", self.target_kind, "--region", self.region]
        for flag, value in (("--endpoint", self.endpoint), ("--profile", self.profile),
                            ("--backend", self.backend_url), ("--lock-timeout", self.lock_timeout)):
            if value:
                args += [flag, value]
        if not self.served_provider:
            args.append("--provider-per-command")
        for name, value in self.stack_vars.items():
            args += ["--stack-var", f"{name}={json.dumps(value)}"]
        for name in self.unset_stack_vars:
            args += ["--unset-stack-var", name]
        for flag, value in (("--localaws-profile", self.localaws_profile), ("--localaws-faults", self.localaws_faults)):
            if value is not None:
                args += [flag, value]
        args += ["--ready-timeout", str(self.ready_timeout)] + ([] if self.readiness_gate else ["--no-readiness-gate"])
        return args

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOptions:
        return cls(**{**data, "unset_stack_vars": tuple(data.get("unset_stack_vars") or ())})
