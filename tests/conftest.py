"""What every test shares: a temporary data directory, the CLI runner and the local AWS target.

- **The session's data directory.** A test session (anything but the e2e suite run on its
  own, as `make e2e` does) runs under a temporary HARNESS_DATA_DIR and HARNESS_REPORTS_DIR,
  so run directories, workspace records, Terraform's working data and local state, logs and
  reports never land in the checkout. The toolchain cache (HARNESS_TOOLCHAIN_DIR) stays the
  checkout's `.harness/toolchain`: it is a cache (the provider mirror and its unpacked
  plugin), not run data. Child processes inherit all three. The directory is removed when
  the session passes and kept (and named) when it fails.
- **`harness_cli`**: runs `python -m harness.cli ...` or `python -m pytest ...` as a user
  would, in a child with the run's environment (`child_run_environment`: its own run id),
  the data directory, and a bound on its time; `start_*` for a child to interrupt, whose
  output lines can be awaited (`Child.wait_for_output`).
- **`local_target`**: one local AWS process per test module (as `harness up` starts one).
- **The order of files**: those with a `slow` test first, each file's tests kept together, so
  that with `-n 2 --dist loadfile --no-loadscope-reorder` (`make test`) the longest files
  start first and the many short ones fill in at the end: both workers finish together.
  (xdist's default reorder, by number of tests per file, queued the one-test change matrix last.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from harness import paths
from harness.lifecycle.workspace import child_run_environment
from harness.localaws.process import start as start_local_aws
from harness.plumbing.waiting import WaitTimeout, wait_until
from harness.targets.target import Target

DATA_DIR_ENV, REPORTS_DIR_ENV, TOOLCHAIN_DIR_ENV = "HARNESS_DATA_DIR", "HARNESS_REPORTS_DIR", "HARNESS_TOOLCHAIN_DIR"
# A hang guard for one child command, not a timing goal (an apply on the local AWS takes seconds).
CHILD_TIMEOUT_SECONDS = 300.0
NO_CACHE = "-p no:cacheprovider"
_SESSION_DIR = pytest.StashKey[Path]()
_SESSION_FAILED = pytest.StashKey[bool]()
_SESSION_ENV = pytest.StashKey[dict[str, str | None]]()


def _e2e_only(config: pytest.Config) -> bool:
    """The session runs nothing but the e2e suite: the harness's own run, which keeps its records."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    e2e = (paths.project_root() / "tests" / "e2e").resolve()
    named = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    return bool(named) and all(path == e2e or e2e in path.parents for path in named)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # Started as a background job of a non-interactive shell: every child would inherit the
        # ignored SIGINT, and the Ctrl-C the interrupt tests send would reach none of them.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get(DATA_DIR_ENV) or _e2e_only(config):
        return  # set by the caller (or by this hook in the controller of an xdist session), or `make e2e`
    toolchain = paths.toolchain_dir()
    toolchain.mkdir(parents=True, exist_ok=True)
    session_dir = Path(tempfile.mkdtemp(prefix="harness-tests-"))
    (session_dir / "data").mkdir()
    (session_dir / "reports").mkdir()
    config.stash[_SESSION_ENV] = {name: os.environ.get(name) for name in (DATA_DIR_ENV, REPORTS_DIR_ENV,
                                                                          TOOLCHAIN_DIR_ENV)}
    os.environ[TOOLCHAIN_DIR_ENV] = os.environ.get(TOOLCHAIN_DIR_ENV) or str(toolchain)
    os.environ[DATA_DIR_ENV] = str(session_dir / "data")
    os.environ[REPORTS_DIR_ENV] = os.environ.get(REPORTS_DIR_ENV) or str(session_dir / "reports")
    config.stash[_SESSION_DIR] = session_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each group is kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_SESSION_FAILED] = exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)


def pytest_unconfigure(config: pytest.Config) -> None:
    session_dir = config.stash.get(_SESSION_DIR, None)
    if session_dir is None:
        return
    for name, value in config.stash[_SESSION_ENV].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if config.stash.get(_SESSION_FAILED, True):
        print(f"\nthe test session's data directory is kept for a look: {session_dir}", file=sys.stderr)
    else:
        shutil.rmtree(session_dir, ignore_errors=True)


# --- running the harness and pytest as a user does ------------------------------------------


@dataclass
class Child:
    """A child started by `HarnessCli.start_*`, in its own session, its output read as it comes."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = CHILD_TIMEOUT_SECONDS) -> Any:
        """The first truthy `condition()`, while the child runs; fails the test (with its output) otherwise."""
        seen: list[Any] = []

        def seen_or_ended() -> bool:
            value = condition()
            if value:
                seen.append(value)
            return bool(value) or self.process.poll() is not None

        try:
            wait_until(seen_or_ended, timeout, what=what)
        except WaitTimeout as exc:
            raise AssertionError(f"{exc.message}; the child printed:\n{self.output()[-3000:]}") from None
        if not seen:
            self.finish(timeout=60)
            raise AssertionError(f"the child ended (exit {self.returncode}) before {what}:\n{self.output()[-3000:]}")
        return seen[0]

    def wait_for_output(self, text: str, timeout: float = CHILD_TIMEOUT_SECONDS) -> str:
        """The first line the child printed that holds `text`, once it has printed it."""
        def line() -> str | None:
            return next((line for line in list(self.lines) if text in line), None)

        return str(self.wait_for(line, f"{text!r} in the child's output", timeout))

    def signal_group(self, signum: int) -> None:
        """What a terminal does on Ctrl-C (SIGINT), or CI on cancel (SIGTERM): the whole group."""
        os.killpg(self.process.pid, signum)

    def finish(self, timeout: float = CHILD_TIMEOUT_SECONDS) -> str:
        """Wait for it to exit (killing its group past `timeout`); all it printed."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=30)
            raise
        finally:
            self._reader.join(timeout=10)
        return self.output()


@dataclass(frozen=True)
class HarnessCli:
    """Runs the harness's CLI or pytest in a child process, as a user does, under `data_dir`."""

    data_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = CHILD_TIMEOUT_SECONDS

    def private(self, data_dir: Path, **env: str) -> HarnessCli:
        """The same runner with a data directory of its own (records, local AWS, state: nothing shared
        but the toolchain cache, unless `env` names another HARNESS_TOOLCHAIN_DIR)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        return replace(self, data_dir=data_dir,
                       env={TOOLCHAIN_DIR_ENV: str(paths.toolchain_dir()), **self.env, **env})

    def with_env(self, **env: str) -> HarnessCli:
        return replace(self, env={**self.env, **env})

    def environment(self, env: Mapping[str, str] | None = None, unset: Sequence[str] = ()) -> dict[str, str]:
        # A pytest the child starts itself (`harness check`, a documented `pytest ...` line) writes no
        # `.pytest_cache` into the checkout either.
        merged = {**child_run_environment(), DATA_DIR_ENV: str(self.data_dir), "PYTEST_ADDOPTS": NO_CACHE,
                  **self.env, **(env or {})}
        return {name: value for name, value in merged.items() if name not in unset}

    def run(self, module: str, *args: str, env: Mapping[str, str] | None = None, unset: Sequence[str] = (),
            timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", module, *args], cwd=paths.project_root(),
                              env=self.environment(env, unset), capture_output=True, text=True,
                              timeout=timeout or self.timeout)

    def harness(self, *args: str, env: Mapping[str, str] | None = None, unset: Sequence[str] = (),
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """`harness ARGS...` (python -m harness.cli)."""
        return self.run("harness.cli", *args, env=env, unset=unset, timeout=timeout)

    def pytest(self, *args: str, env: Mapping[str, str] | None = None,
               timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """`pytest ARGS...` (without the cache provider: see `environment`)."""
        return self.run("pytest", *args, env=env, timeout=timeout)

    def start(self, module: str, *args: str, env: Mapping[str, str] | None = None,
              unset: Sequence[str] = ()) -> Child:
        """A child in its own session (a signal to its group reaches it and what it started, not us),
        stderr merged into its output."""
        process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=paths.project_root(),
                                   env=self.environment(env, unset), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        return Child(process)

    def start_harness(self, *args: str, env: Mapping[str, str] | None = None, unset: Sequence[str] = ()) -> Child:
        return self.start("harness.cli", *args, env=env, unset=unset)

    def start_pytest(self, *args: str, env: Mapping[str, str] | None = None) -> Child:
        return self.start("pytest", *args, env=env)


@pytest.fixture(scope="session")
def harness_cli() -> HarnessCli:
    """Runs `harness ...` and `pytest ...` children under the session's data directory."""
    return HarnessCli(paths.data_dir())


# --- the local AWS as a target ----------------------------------------------------------------


@pytest.fixture(scope="module")
def local_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A local AWS process for the module's tests (as `harness up` starts one), as the `local` target.

    One per module: a module's tests may look at the whole account (every bucket), which no
    other module's resources then disturb.
    """
    server = start_local_aws(log_file=tmp_path_factory.mktemp("localaws") / "server.log")
    try:
        yield Target("local", server.endpoint)
    finally:
        server.stop()
