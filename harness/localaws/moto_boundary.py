"""The boundary around moto: the one moto version the local AWS is built for, and every
moto name it patches or reads, checked before the first patch is applied.

moto is pinned exactly (pyproject.toml); `controlplane/` and `backends.py` depend on
private moto names. A different moto, a name that is gone, or a method we replace whole
whose upstream source changed (so an upstream fix could be silently overridden) makes
the local AWS refuse to start with one line saying which and what to do, instead of
breaking at import or answering differently from what the tests established.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.errors import LocalAwsError

# Keep equal to the `moto[...]==` pin in pyproject.toml (a unit test checks).
MOTO_VERSION = "5.2.5"

# The moto services the local AWS serves. pyproject.toml installs moto with these services'
# extras and Flask (what moto's server imports), not `moto[server]`, which brings every
# service's requirements; each module below must import, or the local AWS refuses to start.
# `resourcegroupstaggingapi` needs no extra of its own at this version: its extra lists every
# service's requirements, but GetResources walks only the backends in use
# (moto/core/resource_tagging.py `iter_taggable_backends`).
SERVED_SERVICES = ("apigateway", "iam", "logs", "resourcegroupstaggingapi", "s3", "sts")
SERVER_MODULES = ("moto.moto_server.werkzeug_app", "moto.moto_server.utilities", "flask_cors")
INSTALL_COMMAND = "make setup"


@dataclass(frozen=True)
class MotoName:
    """One moto attribute the local AWS relies on: `module` plus a dotted `name` in it.

    `source_sha256` is set when the local AWS replaces the attribute whole (or copies
    its logic): the first 16 hex digits of SHA-256 over its source at MOTO_VERSION.
    `absent` is set for a name the local AWS adds (an operation moto does not implement): its
    owner must exist and the name must not, or an upstream implementation would be replaced
    unseen.
    """

    module: str
    name: str
    source_sha256: str | None = None
    absent: bool = False

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


def resolve(target: MotoName) -> Any:
    """The attribute itself; ImportError or AttributeError if moto has no such name."""
    value: Any = importlib.import_module(target.module)
    for part in target.name.split("."):
        value = getattr(value, part)
    return value


def source_digest(value: Any) -> str:
    function: Any = value.fget if isinstance(value, property) else value
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def installed_moto_version() -> str | None:
    try:
        return version("moto")
    except PackageNotFoundError:
        return None


def problems(uses: Iterable[tuple[str, MotoName]], installed: str | None,
             pinned: str = MOTO_VERSION) -> list[str]:
    """What is wrong at this boundary, one sentence each; [] if it holds.

    `uses` pairs each moto name with the patch (or module) that relies on it.
    """
    if installed != pinned:
        return [
            f"moto {installed or '(not installed)'} is installed but the local AWS is built for "
            f"moto {pinned}; run `make setup` to install the pinned version (to move the pin, "
            "re-verify every patch in harness/localaws/controlplane/ and update "
            "MOTO_VERSION and the source digests in harness/localaws/moto_boundary.py)"
        ]
    found: list[str] = []
    for user, target in uses:
        if target.absent:
            found.extend(_absent_problems(user, target, installed))
            continue
        try:
            value = resolve(target)
        except (ImportError, AttributeError):
            found.append(f"moto {installed} has no {target}, which the local AWS needs for '{user}'; "
                         "reinstall the pinned moto with `make setup`")
            continue
        if target.source_sha256 is not None:
            try:
                digest = source_digest(value)
            except (OSError, TypeError):
                digest = "(no source)"
            if digest != target.source_sha256:
                found.append(f"moto's {target} is not the moto {pinned} code that '{user}' replaces "
                             f"(source digest {digest}, expected {target.source_sha256}); "
                             "reinstall the pinned moto with `make setup`")
    return found


def _absent_problems(user: str, target: MotoName, installed: str | None) -> list[str]:
    owner_name, _, attribute = target.name.rpartition(".")
    try:
        owner = resolve(MotoName(target.module, owner_name)) if owner_name else importlib.import_module(target.module)
    except (ImportError, AttributeError):
        return [f"moto {installed} has no {target.module}.{owner_name}, which the local AWS needs for '{user}'; "
                "reinstall the pinned moto with `make setup`"]
    if hasattr(owner, attribute):
        return [f"moto {installed} has {target}, which '{user}' adds; reinstall the pinned moto with "
                "`make setup` (to move the pin, compare moto's implementation with the local AWS's first)"]
    return []


def service_modules(services: Iterable[str] = SERVED_SERVICES) -> list[str]:
    """The modules each served service's requests go through (urls imports responses and models)."""
    return [f"moto.{service}.urls" for service in services] + list(SERVER_MODULES)


def unimportable(modules: Iterable[str]) -> list[str]:
    """Each module that does not import (a package it needs is not installed), one sentence each."""
    found = []
    for module in modules:
        try:
            with warnings.catch_warnings():  # moto's own hint names `moto[server]`, which we do not install
                warnings.simplefilter("ignore")
                importlib.import_module(module)
        except ImportError as exc:
            found.append(f"{module} does not import ({exc}); install the local AWS's packages with "
                         f"`{INSTALL_COMMAND}`")
    return found


def ensure(uses: Iterable[tuple[str, MotoName]]) -> None:
    """Refuse (LocalAwsError, one line) unless the installed moto is the one we patch and
    every served service's modules import."""
    installed = installed_moto_version()
    found = (unimportable(service_modules()) if installed == MOTO_VERSION else []) or problems(uses, installed)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise LocalAwsError(f"the local AWS cannot start: {found[0]}{more}")
