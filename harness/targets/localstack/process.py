"""LocalStack's process: started in host mode on one loopback port with every file in one run
directory, and stopped, whole process group and files, on every path.

`start()` runs `python -m localstack.runtime.main` from LocalStack's own virtualenv
(install.py), with no Docker and nothing outside `.harness/localstack/runs/<run>/`, and
returns once `/_localstack/health` reports every service we use. The `LocalStack` handle is
recorded in the children registry (harness/plumbing/children.py) as soon as the process
exists, so `harness sweep` (or `harness localstack stop`) stops one whose owner was killed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from harness.errors import HarnessError
from harness.plumbing import children, procfs, signals
from harness.plumbing.children import Child
from harness.plumbing.waiting import WaitTimeout, wait_until
from harness.targets.localstack.install import INSTALL_HINT, is_installed, log_tail, root_dir, venv_dir

KIND = "localstack"
# `logs`: the module's access log group (CloudWatch Logs).
SERVICES = ("s3", "apigateway", "iam", "sts", "resourcegroupstaggingapi", "logs")
READY_TIMEOUT_SECONDS = 120.0
# After SIGTERM LocalStack 4.13 took 15 s to exit here once all five services were loaded
# (under 4 s with S3 alone). Its state is in memory and its files are removed right after,
# so a longer grace period buys nothing: SIGKILL follows after this.
STOP_TIMEOUT_SECONDS = 5.0
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


def runs_root() -> Path:
    return root_dir() / "runs"


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
    ticks: int | None = None  # procfs.start_ticks(pid); unknown: it is known by its command line
    owner_ticks: int | None = None
    # Set when this process started it: then the pid is certainly ours, even in the moment
    # right after the spawn when /proc may not show the new command line yet.
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.owner and self.owner_ticks is None:
            self.owner_ticks = procfs.start_ticks(self.owner)

    @property
    def log_file(self) -> Path:
        return self.run_dir / LOG_FILE

    def child(self) -> Child:
        """Its record: the whole group stopped, the run directory (and the /tmp S3 folder if it wrote there) removed.

        That /tmp folder is removed only when this run wrote there: otherwise it may belong
        to someone else's LocalStack.
        """
        return Child(
            KIND, self.pid, self.ticks, what=f"LocalStack {self.endpoint}",
            owner_pid=self.owner or None, owner_ticks=self.owner_ticks if self.owner else None,
            started=self.started, marker=MAIN_MODULE, group=True, grace=STOP_TIMEOUT_SECONDS,
            files=(str(self.run_dir), *([str(SYSTEM_S3_STORAGE)] if self.s3_escaped else [])),
            details={"endpoint": self.endpoint, "run_dir": str(self.run_dir), "s3_escaped": self.s3_escaped},
            process=self.process,
        )

    @classmethod
    def from_child(cls, child: Child) -> LocalStack:
        return cls(str(child.details["endpoint"]), child.pid, Path(child.details["run_dir"]), child.started,
                   bool(child.details.get("s3_escaped")), child.owner_pid or 0, ticks=child.ticks,
                   owner_ticks=child.owner_ticks)

    def save(self) -> None:
        self.child().save()

    @classmethod
    def load(cls, run_dir: Path) -> LocalStack | None:
        """The recorded LocalStack whose run directory is `run_dir`."""
        for child in children.recorded(KIND):
            if Path(str(child.details.get("run_dir"))).resolve() == Path(run_dir).resolve():
                return cls.from_child(child)
        return None

    def alive(self) -> bool:
        """Our LocalStack still runs: the pid exists and is LocalStack (not a reused pid)."""
        return self.child().alive()

    def group_pids(self) -> list[int]:
        """Live processes in LocalStack's process group (it leads its own session)."""
        return self.child().members()

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        """Resident memory of the whole group (VmRSS), or the leader's high-water mark (VmHWM)."""
        return self.child().rss_mb(field_name)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM the group, SIGKILL what is left after `timeout`; then remove the run directory and record.

        Idempotent and safe on a dead or reused pid: the group is signalled only while its
        leader is still LocalStack, or after the leader died while members remain.
        """
        self.child().stop(timeout)


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
        raise HarnessError(f"LocalStack is not installed in {venv}", INSTALL_HINT)
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
    try:
        with open(run_dir / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [str(venv / "bin" / "python"), "-c", LAUNCHER, str(s3_storage)],
                cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() reaches every child, Ctrl-C does not
            )
    except OSError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    handle = LocalStack(endpoint, process.pid, run_dir, ticks=procfs.start_ticks(process.pid), process=process)

    def ready() -> bool:
        if _ready(_health(endpoint)):
            return True
        if "CannotListenError" in log_tail(handle.log_file, 40):
            # LocalStack 4.13 logs this and then says "Ready." without serving: not worth waiting for.
            raise HarnessError(
                f"LocalStack could not listen on 127.0.0.1:{port} (taken since it was chosen); "
                "its last log lines:\n" + log_tail(handle.log_file, 5),
                f"retry with --port 0; full log: {handle.log_file}",
            )
        if process.poll() is not None:
            raise HarnessError(
                f"LocalStack exited with code {process.returncode} before it was ready; its last log lines:\n"
                + log_tail(handle.log_file, 15),
                f"full log: {handle.log_file} (a busy port? pass --port 0)",
            )
        return False

    try:
        handle.save()
        try:
            wait_until(ready, ready_timeout, what=f"LocalStack on {endpoint}", interval=0.25)
        except WaitTimeout as exc:
            raise HarnessError(
                f"LocalStack did not become ready on {endpoint} within {ready_timeout:.0f}s; "
                "its last log lines:\n" + log_tail(handle.log_file, 15),
                f"the machine may be overloaded: retry, or raise --ready-timeout; full log: {handle.log_file}",
            ) from exc
        handle.ready_seconds = time.monotonic() - started
        if "DEFAULT_S3_TMP_DIR not found" in log_tail(handle.log_file, 50):
            handle.s3_escaped = True
            handle.save()
        if warm_up:
            handle.warm_seconds = warm(endpoint)
    except BaseException:
        log_copy = log_tail(handle.log_file, 200)
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
        "logs": lambda: target.client("logs").describe_log_groups(),
    }
    seconds = {}
    for name, call in calls.items():
        began = time.monotonic()
        call()
        seconds[name] = time.monotonic() - began
    return seconds


def stop_orphans(say: Callable[[str], None] = print, older_than: float = 0.0, include_detached: bool = False) -> int:
    """Stop recorded LocalStacks whose owner is gone and clear those that exited; return how many.

    A run that ends normally stops its LocalStack and removes its record; one whose owner
    was SIGKILLed leaves both. A LocalStack whose owning process still runs (another
    `make test-localstack`) is left alone. Detached ones (`harness localstack start`) are
    stopped only with `include_detached` (`harness localstack stop`). `harness sweep`
    stops them with every other recorded child (harness/plumbing/children.py).
    """
    swept = children.stop_orphans(older_than, kind=KIND, include_detached=include_detached)
    for child in swept.stopped:
        say(f"stopped orphaned {child.describe()} and removed {child.details.get('run_dir')}")
    for child in swept.cleared:
        say(f"removed LocalStack run directory {child.details.get('run_dir')} (pid {child.pid} had exited)")
    return len(swept.stopped) + len(swept.cleared)
