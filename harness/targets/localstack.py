"""LocalStack as an outside test target: install it, start it in host mode, stop it, leave nothing.

This module owns LocalStack's lifecycle on this machine and nothing else:
- `install()`: its own virtualenv under `.harness/localstack/venv` with the pins in `PINS`
  (idempotent: a stamp file keyed by the pins);
- `start()`: `python -m localstack.runtime.main` in host mode (no Docker), bound to one
  loopback port, all of its files inside one run directory, ready when
  `/_localstack/health` reports every service we use; returns a `LocalStack` handle;
- `LocalStack.stop()` / `stop_orphans()`: stop its whole process group and remove its
  files, also for instances whose owner was killed (found by their `localstack.json`);
- `count_leftovers()`: what is left on the endpoint (buckets, REST APIs, IAM roles);
- `run_suite()`: the `make test-localstack` job (e2e suite, named-workspace up/drift/down,
  leftover count), one line per step, LocalStack stopped and removed on every path.

How the suite *talks* to LocalStack (`--target localstack`, its deviations) is not here:
that lives with the targets and the pytest plugin. `python -m harness.targets.localstack --help`
lists the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from harness import paths
from harness.errors import HarnessError
from harness.plumbing import procfs, signals

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
SERVICES = ("s3", "apigateway", "iam", "sts", "resourcegroupstaggingapi")
READY_TIMEOUT_SECONDS = 120.0
# After SIGTERM LocalStack 4.13 took 15 s to exit here once all five services were loaded
# (under 4 s with S3 alone). Its state is in memory and its files are removed right after,
# so a longer grace period buys nothing: SIGKILL follows after this.
STOP_TIMEOUT_SECONDS = 5.0
INSTALL_TIMEOUT_SECONDS = 1800.0
RECORD_FILE = "localstack.json"
CHILD_TEARDOWN_SECONDS = 180.0  # a step's own teardown (terraform destroy) after an interrupt
PROBLEMS_SHOWN = 30  # failed/erroring tests listed under the e2e step; the JUnit file has all
LOG_FILE = "localstack.log"
MAIN_MODULE = "localstack.runtime.main"
# LocalStack 4.13's S3 provider keeps object bodies under a hard-coded path
# (`localstack/services/s3/provider.py`: DEFAULT_S3_TMP_DIR = "/tmp/localstack-s3-storage"),
# not under FILESYSTEM_ROOT or TMPDIR, and leaves it behind on shutdown. Two instances
# would share it. The launcher points it into the run directory before the provider is
# built; should a later version drop the name, cleanup still removes the /tmp folder.
SYSTEM_S3_STORAGE = Path("/tmp/localstack-s3-storage")
LAUNCHER = (
    "import runpy, sys\n"
    "import localstack.services.s3.provider as p\n"
    "if hasattr(p, 'DEFAULT_S3_TMP_DIR'):\n"
    "    p.DEFAULT_S3_TMP_DIR = sys.argv[1]\n"
    "else:\n"
    "    print('harness: DEFAULT_S3_TMP_DIR not found; S3 bodies go to LocalStack default', flush=True)\n"
    "sys.argv = [sys.argv[0]]\n"
    f"runpy.run_module({MAIN_MODULE!r}, run_name='__main__', alter_sys=True)\n"
)


def root_dir() -> Path:
    return paths.data_dir() / "localstack"


def venv_dir() -> Path:
    return root_dir() / "venv"


def runs_root() -> Path:
    return root_dir() / "runs"


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
                tail = _tail(log, 1)
                raise HarnessError(
                    f"LocalStack {VERSION} could not be installed (`{argv[2] if argv[1] == '-m' else argv[0]}` "
                    f"exited {code}: {tail.strip() or 'no output'})",
                    f"read {log}; PyPI must be reachable (or a pip cache/index via PIP_INDEX_URL); "
                    f"remove {venv} to start over",
                )
    (venv / ".harness-pins").write_text(_pins_key() + "\n")
    return Installed(python, time.monotonic() - started, fresh=True)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def host_mode_env(run_dir: Path, port: int, base: dict[str, str]) -> dict[str, str]:
    """LocalStack's environment: host mode, loopback only, files in `run_dir`, no network calls."""
    env = {k: v for k, v in base.items() if not k.startswith(("LOCALSTACK_", "AWS_"))}
    env.update({
        "OVERRIDE_IN_DOCKER": "0",  # host mode: no container assumptions
        "FILESYSTEM_ROOT": str(run_dir / "localstack-fs"),  # else /var/lib/localstack, /etc/localstack
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": ",".join(SERVICES),
        "ACTIVATE_PRO": "0",  # `localstack` installs the Pro code; without a licence it exits with 55
        "DNS_ADDRESS": "0",  # no DNS server on :53, no upstream-DNS probe of localstack.cloud
        "DISABLE_EVENTS": "1",  # no analytics events to analytics.localstack.cloud
        "SKIP_SSL_CERT_DOWNLOAD": "1",  # no certificate download from assets.localstack.cloud
        "SKIP_INFRA_DOWNLOADS": "1",
        "PERSISTENCE": "0",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@dataclass
class LocalStack:
    """A running LocalStack: where it answers, its process group, its run directory."""

    endpoint: str
    pid: int
    run_dir: Path
    started: float = field(default_factory=time.time)
    s3_escaped: bool = False  # LocalStack wrote S3 bodies to SYSTEM_S3_STORAGE (launcher could not redirect)
    owner: int = field(default_factory=os.getpid)  # the process that uses it; 0 = detached (`start` command)
    ready_seconds: float = 0.0
    warm_seconds: dict[str, float] = field(default_factory=dict)
    # Set when this process started it: then the pid is certainly ours, even in the moment
    # right after the spawn when /proc may not show the new command line yet.
    child: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def log_file(self) -> Path:
        return self.run_dir / LOG_FILE

    def save(self) -> None:
        (self.run_dir / RECORD_FILE).write_text(json.dumps(
            {"pid": self.pid, "endpoint": self.endpoint, "started": self.started, "s3_escaped": self.s3_escaped,
             "owner": self.owner}))

    @classmethod
    def load(cls, run_dir: Path) -> LocalStack | None:
        try:
            data = json.loads((run_dir / RECORD_FILE).read_text())
            return cls(data["endpoint"], int(data["pid"]), run_dir, float(data["started"]),
                       bool(data.get("s3_escaped")), int(data.get("owner") or 0))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        """Our LocalStack still runs: the pid exists and is LocalStack (not a reused pid)."""
        if self.child is not None:
            return self.child.poll() is None
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        status = procfs.state(self.pid)
        return status not in ("Z", "X", None) and MAIN_MODULE.encode() in cmdline

    def group_pids(self) -> list[int]:
        """Live processes in LocalStack's process group (it leads its own session)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pid and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
        return found

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        """Resident memory of the whole group (VmRSS), or the leader's high-water mark (VmHWM)."""
        pids = [self.pid] if field_name == "VmHWM" else self.group_pids()
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(field_name + ":"):
                        total += int(line.split()[1])
        return total / 1024

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS, remove: bool = True) -> None:
        """SIGTERM the group, SIGKILL what is left after `timeout`; then remove the run directory.

        Idempotent and safe on a dead or reused pid: the group is signalled only while its
        leader is still LocalStack, or after the leader died while members remain.
        """
        # A pid that now belongs to another program (pid reuse after a reboot or a long time)
        # is left alone: its process group is that program's, not LocalStack's.
        foreign = procfs.state(self.pid) not in (None, "Z", "X") and not self.alive()
        if not foreign and (self.alive() or self.group_pids()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (self._reap() or self.group_pids()):
                time.sleep(0.1)
            if self.group_pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and (self._reap() or self.group_pids()):
                    time.sleep(0.05)
        self._reap()
        if remove:
            remove_files(self.run_dir, self.s3_escaped)

    def _reap(self) -> bool:
        """Collect our child's exit status; True while the leader has not exited."""
        if self.child is not None:
            return self.child.poll() is None
        try:
            finished, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # not our child (an orphan found by a sweep), or already reaped
            return self.alive()
        return finished == 0


def remove_files(run_dir: Path, s3_escaped: bool) -> None:
    """Remove a run directory, and LocalStack's /tmp S3 folder only when this run wrote there.

    Otherwise that folder may belong to someone else's LocalStack and is left alone.
    """
    shutil.rmtree(run_dir, ignore_errors=True)
    if s3_escaped:
        shutil.rmtree(SYSTEM_S3_STORAGE, ignore_errors=True)


def _health(endpoint: str) -> dict[str, Any] | None:
    try:
        answer = requests.get(f"{endpoint}/_localstack/health", timeout=5)
        return answer.json() if answer.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def _ready(health: dict[str, Any] | None) -> bool:
    services = (health or {}).get("services", {})
    return all(services.get(name) in ("available", "running") for name in SERVICES)


def start(port: int = 0, run_dir: Path | None = None, venv: Path | None = None, warm_up: bool = True,
          ready_timeout: float = READY_TIMEOUT_SECONDS) -> LocalStack:
    """Start LocalStack on 127.0.0.1:`port` (0: a free one); return once it is ready.

    `warm_up` then calls each service once (LocalStack loads them lazily; the first S3 call
    took 4.5 s on an idle machine, 13-16 s on a loaded one), so `warm_seconds` says what a
    cold client would wait.
    """
    venv = venv or venv_dir()
    if not is_installed(venv):
        raise HarnessError(f"LocalStack is not installed in {venv}",
                           "run `python -m harness.targets.localstack install` first")
    if port and not _port_free(port):
        raise HarnessError(f"port {port} on 127.0.0.1 is in use, so LocalStack cannot listen there",
                           "pass --port 0 (a free port) or stop what uses it")
    run_dir = run_dir or runs_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run_dir = Path(run_dir).resolve()
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = host_mode_env(run_dir, port, dict(os.environ))
    env["TMPDIR"] = str(run_dir / "tmp")  # anything else that uses tempfile stays inside too
    s3_storage = run_dir / "localstack-fs" / "s3-storage"
    started = time.monotonic()
    with open(run_dir / LOG_FILE, "ab") as log:
        child = subprocess.Popen(
            [str(venv / "bin" / "python"), "-c", LAUNCHER, str(s3_storage)],
            cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaches every child, Ctrl-C does not
        )
    handle = LocalStack(endpoint, child.pid, run_dir, child=child)
    handle.save()
    try:
        deadline = started + ready_timeout
        while True:
            if _ready(_health(endpoint)):
                break
            if "CannotListenError" in _tail(handle.log_file, 40):
                # LocalStack 4.13 logs this and then says "Ready." without serving: not worth waiting for.
                raise HarnessError(
                    f"LocalStack could not listen on 127.0.0.1:{port} (taken since it was chosen); "
                    "its last log lines:\n" + _tail(handle.log_file, 5),
                    f"retry with --port 0; full log: {handle.log_file}",
                )
            if child.poll() is not None:
                raise HarnessError(
                    f"LocalStack exited with code {child.returncode} before it was ready; its last log lines:\n"
                    + _tail(handle.log_file, 15),
                    f"full log: {handle.log_file} (a busy port? pass --port 0)",
                )
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"LocalStack did not become ready on {endpoint} within {ready_timeout:.0f}s; "
                    "its last log lines:\n" + _tail(handle.log_file, 15),
                    f"the machine may be overloaded: retry, or raise --ready-timeout; full log: {handle.log_file}",
                )
            time.sleep(0.25)
        handle.ready_seconds = time.monotonic() - started
        if "DEFAULT_S3_TMP_DIR not found" in _tail(handle.log_file, 50):
            handle.s3_escaped = True
            handle.save()
        if warm_up:
            handle.warm_seconds = warm(endpoint)
    except BaseException:
        log_copy = _tail(handle.log_file, 200)
        with signals.signals_deferred():
            handle.stop()
        if log_copy:
            root_dir().mkdir(parents=True, exist_ok=True)
            (root_dir() / "last-failed-start.log").write_text(log_copy + "\n")
        raise
    return handle


def warm(endpoint: str) -> dict[str, float]:
    """One call per service, each timed (the first one loads that service)."""
    from harness.targets.target import Target

    target = Target("endpoint", endpoint)
    calls: dict[str, Callable[[], Any]] = {
        "s3": lambda: target.client("s3").list_buckets(),
        "apigateway": lambda: target.client("apigateway").get_rest_apis(),
        "iam": lambda: target.client("iam").list_roles(),
        "sts": lambda: target.client("sts").get_caller_identity(),
        "resourcegroupstaggingapi": lambda: target.client("resourcegroupstaggingapi").get_resources(),
    }
    seconds = {}
    for name, call in calls.items():
        began = time.monotonic()
        call()
        seconds[name] = time.monotonic() - began
    return seconds


def stop_orphans(say: Callable[[str], None] = print, older_than: float = 0.0, include_detached: bool = False) -> int:
    """Stop LocalStacks left under `.harness/localstack/runs` whose owner is gone; return how many.

    A run that ends normally removes its directory; one whose owner was SIGKILLed leaves it
    with its `localstack.json`. A LocalStack whose owning process still runs (another
    `make test-localstack`) is left alone. Detached ones (`python -m harness.targets.localstack
    start`) are stopped only with `include_detached` (the `stop` command).
    """
    cleaned = 0
    root = runs_root()
    for run_dir in sorted(root.iterdir()) if root.exists() else []:
        if not run_dir.is_dir() or time.time() - run_dir.stat().st_mtime < older_than:
            continue
        handle = LocalStack.load(run_dir)
        if handle and handle.owner == 0 and not include_detached:
            continue
        if handle and handle.owner not in (0, os.getpid()) and procfs.state(handle.owner) not in (None, "Z", "X"):
            continue  # its owner still runs and will stop it
        if handle and handle.alive():
            handle.stop()
            say(f"stopped orphaned LocalStack {handle.endpoint} (pid {handle.pid}) and removed {run_dir}")
        else:
            remove_files(run_dir, bool(handle and handle.s3_escaped))
            say(f"removed LocalStack run directory {run_dir}")
        cleaned += 1
    return cleaned


# --- leftovers ---------------------------------------------------------------------------

@dataclass
class Leftovers:
    buckets: dict[str, bool] = field(default_factory=dict)  # name -> carries harness:workspace tag
    rest_apis: dict[str, bool] = field(default_factory=dict)  # "id (name)" -> tagged
    roles: dict[str, bool] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.buckets) + len(self.rest_apis) + len(self.roles)

    def describe(self) -> str:
        parts = []
        for kind, found in (("buckets", self.buckets), ("REST APIs", self.rest_apis), ("roles", self.roles)):
            untagged = sorted(name for name, tagged in found.items() if not tagged)
            part = f"{len(found)} {kind}"
            if found:
                part += f" ({len(untagged)} untagged: {', '.join(untagged) or '-'}; all: {', '.join(sorted(found))})"
            parts.append(part)
        return "; ".join(parts)


def count_leftovers(endpoint: str) -> Leftovers:
    """Every bucket, REST API and IAM role on a LocalStack we started (so all came from the run)."""
    from harness.tags import TAG_WORKSPACE
    from harness.targets.target import Target

    target = Target("endpoint", endpoint)
    found = Leftovers()
    s3 = target.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])
        except s3.exceptions.ClientError:
            tags = []  # NoSuchTagSet
        found.buckets[bucket["Name"]] = any(t["Key"] == TAG_WORKSPACE for t in tags)
    apigateway = target.client("apigateway")
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            found.rest_apis[f"{api['id']} ({api.get('name', '?')})"] = TAG_WORKSPACE in (api.get("tags") or {})
    iam = target.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])
            found.roles[role["RoleName"]] = any(t["Key"] == TAG_WORKSPACE for t in tags)
    return found


# --- the make test-localstack job --------------------------------------------------------

@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<14} {self.seconds:7.1f}s  {self.detail}"


def junit_problems(junit: Path) -> list[str]:
    """`nodeid: kind: first line of the message` for each failed or erroring test case."""
    try:
        tree = ET.parse(junit)
    except (OSError, ET.ParseError):
        return []
    problems = []
    for case in tree.iter("testcase"):
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                message = (element.get("message") or element.text or "").strip().splitlines()
                name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
                problems.append(f"{name}: {kind}: {message[0][:200] if message else ''}")
    return problems


def _run(argv: list[str], log: Path) -> tuple[int, str]:
    """Run a step with its output shown and kept; return its exit code and its verdict line.

    The verdict is the last line saying what happened: pytest's `N passed` line, the
    harness's `workspace NAME: ...` line, else the last non-blank line. The step runs in
    its own process group, so a terminal Ctrl-C reaches only this process, which passes
    exactly one SIGINT on (pytest and the harness tear down on the first SIGINT, and a
    second one would cut that teardown short) and waits for the teardown, bounded,
    before LocalStack is stopped.
    """
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        child = subprocess.Popen(argv, cwd=paths.project_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, process_group=0)
        last = b""
        assert child.stdout is not None
        try:
            for line in child.stdout:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
                out.write(line)
                text = line.strip()
                verdict = text.startswith((b"workspace ", b"=", b"destroyed", b"error:")) or b": error:" in text
                if text[:1].isalnum() or verdict:
                    last = text if verdict or not last.startswith((b"workspace ", b"=")) else last
            code = child.wait()
        except BaseException:
            with signals.signals_deferred():
                print(f"waiting up to {CHILD_TEARDOWN_SECONDS:.0f}s for `{' '.join(argv[:4])} ...` to tear down",
                      file=sys.stderr, flush=True)
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(timeout=CHILD_TEARDOWN_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
            raise
    return code, last.decode(errors="replace").strip()


def run_suite(target_kind: str = "localstack", cli_target_kind: str = "localstack", workers: str = "2",
              workspace: str = "ls-drift", cold: bool = False, port: int = 0,
              pytest_args: list[str] | None = None, say: Callable[[str], None] = print) -> int:
    """Install, start, run e2e + up/drift/down + leftover count, stop, remove; 0 only if all passed."""
    reports = paths.reports_dir()
    reports.mkdir(parents=True, exist_ok=True)
    log = reports / "localstack-steps.log"
    log.write_text("")
    bin_dir = Path(sys.executable).parent
    harness_cli = [str(bin_dir / "harness")] if (bin_dir / "harness").exists() else \
        [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]
    steps: list[Step] = []

    def step(name: str, began: float, ok: bool, detail: str) -> None:
        steps.append(Step(name, ok, time.monotonic() - began, detail))
        say(steps[-1].line())

    handle: LocalStack | None = None
    interrupted = False
    with signals.sigterm_as_interrupt():
        try:
            began = time.monotonic()
            try:
                done = install()
                step("install", began, True, f"LocalStack {VERSION} "
                     + ("installed" if done.fresh else "already installed (stamp matches pins)"))
            except HarnessError as exc:
                step("install", began, False, str(exc).replace("\n", " "))
                return _finish(steps, say)
            began = time.monotonic()
            try:
                handle = start(port=port, warm_up=not cold)
            except HarnessError as exc:
                step("start", began, False, str(exc).splitlines()[0])
                say(str(exc))
                return _finish(steps, say)
            warm = ", ".join(f"{k} {v:.2f}s" for k, v in handle.warm_seconds.items()) or "skipped (--cold)"
            step("start", began, True, f"{handle.endpoint} pid {handle.pid}: ready {handle.ready_seconds:.1f}s; "
                 f"first calls: {warm}; RSS {handle.rss_mb():.0f} MB")
            endpoint = handle.endpoint

            began = time.monotonic()
            junit = reports / "localstack-junit.xml"
            junit.unlink(missing_ok=True)
            code, last = _run([sys.executable, "-m", "pytest", "tests/e2e", "-n", workers, "-p", "no:cacheprovider",
                               "--target", target_kind, "--endpoint", endpoint, f"--junitxml={junit}",
                               f"--harness-summary={reports / 'localstack-summary.json'}", *(pytest_args or [])],
                              log)
            step("e2e", began, code == 0, f"pytest exit {code}: {last}")
            problems = junit_problems(junit)
            for problem in problems[:PROBLEMS_SHOWN]:
                say(f"     {problem}")
            if len(problems) > PROBLEMS_SHOWN:
                say(f"     ... and {len(problems) - PROBLEMS_SHOWN} more (see {junit})")

            target_args = ["--target", cli_target_kind, "--endpoint", endpoint]
            began = time.monotonic()
            code, last = _run([*harness_cli, "up", "--workspace", workspace, *target_args], log)
            step("up", began, code == 0, f"harness up exit {code}: {last}")
            if code == 0:
                began = time.monotonic()
                code, last = _run([*harness_cli, "drift", "--workspace", workspace], log)
                step("drift", began, code == 0, f"harness drift exit {code}: {last}")
                began = time.monotonic()
                _tag_bucket_out_of_band(endpoint, workspace)
                code, last = _run([*harness_cli, "drift", "--workspace", workspace, "--json"], log)
                step("drift-found", began, code == 2 and '"tags"' in _log_tail(log),
                     f"after an out-of-band tag edit, harness drift exit {code} (2 expected, tags named)")
            began = time.monotonic()  # down even after a failed up: it may have created half a stack
            code, last = _run([*harness_cli, "down", "--workspace", workspace, *target_args], log)
            step("down", began, code == 0, f"harness down exit {code}: {last}")

            began = time.monotonic()
            left = count_leftovers(endpoint)
            step("leftovers", began, left.total == 0, left.describe())
            say(f"     LocalStack RSS now {handle.rss_mb():.0f} MB (peak {handle.rss_mb('VmHWM'):.0f} MB)")
        except KeyboardInterrupt:
            interrupted = True
            steps.append(Step("interrupted", False, 0.0, "by a signal; stopping LocalStack"))
            say(steps[-1].line())
        finally:
            if handle is not None:
                began = time.monotonic()
                with contextlib.suppress(OSError):
                    shutil.copyfile(handle.log_file, reports / "localstack.log")
                with signals.signals_deferred():  # a second Ctrl-C must not leave LocalStack running
                    handle.stop()
                clean = not handle.run_dir.exists() and not handle.group_pids()
                step("stop", began, clean, f"pid {handle.pid} stopped, {handle.run_dir} removed"
                     if clean else f"left behind: pids {handle.group_pids()}, dir {handle.run_dir}")
    code = _finish(steps, say)
    return 130 if interrupted else code


def _tag_bucket_out_of_band(endpoint: str, workspace: str) -> None:
    """Edit the named workspace's bucket tags behind Terraform's back (drift must find it)."""
    from harness.targets.target import Target

    s3 = Target("endpoint", endpoint).client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])
        except s3.exceptions.ClientError:
            continue
        if {"Key": "harness:workspace", "Value": workspace} in tags:
            s3.put_bucket_tagging(Bucket=bucket["Name"], Tagging={"TagSet": [
                *tags, {"Key": "owner", "Value": "out-of-band"}]})


def _log_tail(log: Path, size: int = 200_000) -> str:
    text = log.read_text(errors="replace")
    return text[-size:]


def _finish(steps: list[Step], say: Callable[[str], None]) -> int:
    failed = [s.name for s in steps if not s.ok]
    say(f"test-localstack: {len(steps) - len(failed)} of {len(steps)} steps passed"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


# --- command line -------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.targets.localstack", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"install LocalStack {VERSION} into {venv_dir()}")
    start_cmd = sub.add_parser("start", help="start it detached; prints the endpoint (stop with `stop`)")
    start_cmd.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    start_cmd.add_argument("--cold", action="store_true", help="skip the warm-up calls")
    start_cmd.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_SECONDS)
    sub.add_parser("stop", help="stop every LocalStack this checkout started whose owner is gone "
                                "(and every detached one) and remove its files")
    sub.add_parser("leftovers", help="count buckets, REST APIs and roles on --endpoint").add_argument(
        "--endpoint", required=True)
    suite = sub.add_parser("run-suite", help="the `make test-localstack` job")
    suite.add_argument("--target", default="localstack", help="pytest --target kind (default localstack)")
    suite.add_argument("--cli-target", default="localstack", help="harness up/down --target kind")
    suite.add_argument("--workers", default="2")
    suite.add_argument("--workspace", default="ls-drift")
    suite.add_argument("--port", type=int, default=0)
    suite.add_argument("--cold", action="store_true", help="no warm-up: the suite meets a cold LocalStack")
    suite.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            done = install()
            print(f"LocalStack {VERSION} in {venv_dir()} ({'installed' if done.fresh else 'already installed'}, "
                  f"{done.seconds:.1f}s)")
        elif args.command == "start":
            handle = start(port=args.port, warm_up=not args.cold, ready_timeout=args.ready_timeout)
            handle.owner = 0  # detached: it outlives this command until `stop`
            handle.save()
            warm = ", ".join(f"{k} {v:.2f}s" for k, v in handle.warm_seconds.items()) or "skipped"
            print(f"LocalStack {handle.endpoint} pid {handle.pid}: ready in {handle.ready_seconds:.1f}s; "
                  f"first calls: {warm}; RSS {handle.rss_mb():.0f} MB; log {handle.log_file}")
        elif args.command == "stop":
            print(f"{stop_orphans(include_detached=True)} LocalStack run(s) cleaned")
        elif args.command == "leftovers":
            left = count_leftovers(args.endpoint)
            print(left.describe())
            return 1 if left.total else 0
        else:
            return run_suite(args.target, args.cli_target, args.workers, args.workspace, args.cold, args.port,
                             args.pytest_args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
