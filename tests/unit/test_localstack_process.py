"""LocalStack lifecycle logic that needs no LocalStack and no process: its environment, a free port,
the refusals before anything starts, JUnit parsing, leftovers, the pins key
(tests/harness/test_localstack_processes.py stops stand-in processes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.jobs import localstack_suite
from harness.targets.localstack import install, leftovers
from harness.targets.localstack import process as localstack


def test_host_mode_env_keeps_localstack_on_loopback_inside_the_run_dir(tmp_path: Path) -> None:
    env = localstack.host_mode_env(tmp_path, 4599, {"PATH": "/bin", "AWS_PROFILE": "prod",
                                                    "LOCALSTACK_AUTH_TOKEN": "secret"})
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599"
    assert env["FILESYSTEM_ROOT"] == str(tmp_path / "localstack-fs")
    assert env["OVERRIDE_IN_DOCKER"] == "0"
    assert env["ACTIVATE_PRO"] == "0" and env["DNS_ADDRESS"] == "0" and env["DISABLE_EVENTS"] == "1"
    assert set(env["SERVICES"].split(",")) == {"s3", "apigateway", "iam", "sts", "resourcegroupstaggingapi", "logs"}
    assert "AWS_PROFILE" not in env and "LOCALSTACK_AUTH_TOKEN" not in env
    assert env["PATH"] == "/bin"


def test_free_port_is_bindable_on_loopback() -> None:
    import socket

    port = localstack.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_start_without_install_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not installed") as caught:
        localstack.start(venv=tmp_path / "venv", run_dir=tmp_path / "run")
    assert "harness localstack install" in caught.value.hint


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket

    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()
    (tmp_path / "venv" / ".harness-pins").write_text(install._pins_key())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(HarnessError, match="in use") as caught:
            localstack.start(port=busy.getsockname()[1], venv=tmp_path / "venv", run_dir=tmp_path / "run")
    assert "--port 0" in caught.value.hint and not (tmp_path / "run").exists()


def test_junit_problems_lists_failures_and_errors(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase classname="tests.e2e.test_a" name="test_ok"/>'
        '<testcase classname="tests.e2e.test_a" name="test_bad"><failure message="assert 512 == 256">x</failure>'
        '</testcase><testcase classname="tests.e2e.test_b" name="test_err[x]"><error message="boom&#10;more"/>'
        '</testcase></testsuite></testsuites>')
    assert localstack_suite.junit_problems(junit) == [
        "tests/e2e/test_a.py::test_bad: failure: assert 512 == 256",
        "tests/e2e/test_b.py::test_err[x]: error: boom",
    ]


def test_leftovers_describe_names_the_untagged() -> None:
    left = leftovers.Leftovers(buckets={"a": True, "b": False}, roles={"r": True})
    assert left.total == 3
    assert left.describe() == "2 buckets (1 untagged: b; all: a, b); 0 REST APIs; 1 roles (0 untagged: -; all: r)"


def test_an_install_with_other_pins_is_no_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".harness-pins").write_text(install._pins_key() + "\n")  # what a finished install writes
    assert install.is_installed(venv)
    monkeypatch.setattr(install, "PINS", (*install.PINS, "extra==1"))
    assert not install.is_installed(venv)  # a pin changed: `install` must run again
    assert os.path.basename(str(install.venv_dir())) == "venv"
