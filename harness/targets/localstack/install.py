"""LocalStack's own virtualenv under `.harness/localstack/venv`, with the pins that run here.

Idempotent: a stamp file keyed by the Python version and the pins says they are installed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import paths
from harness.errors import HarnessError

VERSION = "4.13.1"
# What installs and runs on Python 3.11 (issue 11, re-verified with a fresh pip resolve):
# 4.14+ needs Python 3.12; newer cbor2, cryptography, pyOpenSSL and joserfc releases break
# localstack-core 4.13's imports or its TLS setup. `localstack` also pulls `localstack-ext`
# (the Pro code), which stays inactive with ACTIVATE_PRO=0.
PINS: tuple[str, ...] = (
    f"localstack=={VERSION}",
    f"localstack-core[runtime]=={VERSION}",
    "cbor2<5.7",
    "cryptography<45",
    "pyopenssl==24.3.0",
    "service-identity",
    "joserfc<1.8",
)
INSTALL_TIMEOUT_SECONDS = 1800.0
INSTALL_HINT = "run `harness localstack install` first"


def root_dir() -> Path:
    return paths.data_dir() / "localstack"


def venv_dir() -> Path:
    return root_dir() / "venv"


def _pins_key() -> str:
    return hashlib.sha256("\n".join((sys.version.split()[0], *PINS)).encode()).hexdigest()[:16]


def is_installed(venv: Path | None = None) -> bool:
    venv = venv or venv_dir()
    stamp = venv / ".harness-pins"
    return (venv / "bin" / "python").exists() and stamp.exists() and stamp.read_text().strip() == _pins_key()


@dataclass(frozen=True)
class Installed:
    python: Path
    seconds: float
    fresh: bool  # False when the stamp said the pins were already installed


def install(venv: Path | None = None, say: Callable[[str], None] = print) -> Installed:
    """Create (or reuse) LocalStack's virtualenv with `PINS`; raise HarnessError if pip fails."""
    venv = venv or venv_dir()
    python = venv / "bin" / "python"
    started = time.monotonic()
    if is_installed(venv):
        return Installed(python, time.monotonic() - started, fresh=False)
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / "install.log"
    say(f"installing LocalStack {VERSION} into {venv} (a few minutes the first time; log: {log})")
    with open(log, "w") as out:
        steps = []
        if not python.exists():
            steps.append([sys.executable, "-m", "venv", str(venv)])
        steps.append([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *PINS])
        for argv in steps:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            try:
                code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      timeout=INSTALL_TIMEOUT_SECONDS, check=False).returncode
            except (OSError, subprocess.TimeoutExpired) as exc:
                code, out_note = -1, str(exc)
                out.write(out_note + "\n")
            if code != 0:
                tail = log_tail(log, 1)
                raise HarnessError(
                    f"LocalStack {VERSION} could not be installed (`{argv[2] if argv[1] == '-m' else argv[0]}` "
                    f"exited {code}: {tail.strip() or 'no output'})",
                    f"read {log}; PyPI must be reachable (or a pip cache/index via PIP_INDEX_URL); "
                    f"remove {venv} to start over",
                )
    (venv / ".harness-pins").write_text(_pins_key() + "\n")
    return Installed(python, time.monotonic() - started, fresh=True)


def log_tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log (pip's here, LocalStack's in process.py); "" if unreadable."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
