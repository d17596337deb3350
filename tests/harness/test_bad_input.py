"""Every row of the troubleshooting table (docs/troubleshooting.md): one clear error, no traceback, nothing changed."""

import fcntl
import subprocess
import sys

import pytest

from harness import paths
from harness.lifecycle.workspace import child_run_environment, new_run_id
from harness.localaws.process import start

pytestmark = pytest.mark.slow


def harness(*args: str, env: dict | None = None, unset: tuple = ()) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in {**child_run_environment(), **(env or {})}.items() if k not in unset}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=paths.project_root(),
                          env=environment, capture_output=True, text=True, timeout=300)


def traces_of(*names: str) -> list[str]:
    """What exists of these workspaces: state and records. Only the names a test uses are
    looked at, since other test files create and remove workspaces in parallel."""
    state = paths.stack_dir() / "terraform.tfstate.d"
    places = [p for name in names for p in (state / name, paths.workspaces_dir() / f"{name}.json")]
    if "default" in names:  # Terraform keeps the default workspace's state outside terraform.tfstate.d
        places.append(paths.stack_dir() / "terraform.tfstate")
    return [str(p) for p in places if p.exists()]


def assert_clear_error(result: subprocess.CompletedProcess, expected: str) -> None:
    """Exit 2, the expected cause, a hint saying what to do, and no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert expected in result.stderr, result.stderr
    assert "  -> " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("env", "expected"), [
    ({"TERRAFORM_BIN": "/nonexistent/terraform"}, "does not exist"),
    ({"TERRAFORM_BIN": "/bin/false"}, "does not behave like Terraform"),
])
def test_bad_terraform_binary(env, expected):
    assert_clear_error(harness("doctor", env=env), expected)


def test_corrupt_provider_mirror(tmp_path):
    env = {"HARNESS_DATA_DIR": str(tmp_path), "HARNESS_PROVIDER_SOURCE": "mirror"}
    assert harness("setup", env=env).returncode == 0
    zip_path = next(tmp_path.glob("toolchain/mirror/**/*.zip"))
    zip_path.unlink()
    zip_path.write_bytes(b"PK\x03\x04 not a zip")
    assert_clear_error(harness("doctor", env=env), "is corrupt")
    assert zip_path.read_bytes() == b"PK\x03\x04 not a zip"  # reported, not silently replaced


@pytest.mark.parametrize(("args", "expected"), [
    (["up", "--workspace", "default"], "is reserved"),
    (["up", "--workspace", "Bad_Name"], "is not allowed"),
    (["up", "--workspace", "{name}", "--target", "moon"], "unknown target"),
    (["up", "--workspace", "{name}", "--target", "endpoint"], "needs an endpoint URL"),
    (["up", "--workspace", "{name}", "--target", "endpoint", "--endpoint", "http://127.0.0.1:9"], "nothing answers"),
    (["localaws", "--host", "0.0.0.0", "--port", "0"], "not a loopback address"),
])
def test_bad_arguments_change_nothing(args, expected):
    name = f"bad-{new_run_id()}"
    args = [arg.replace("{name}", name) for arg in args]
    assert traces_of(name, "default", "Bad_Name") == []
    assert_clear_error(harness(*args), expected)
    assert traces_of(name, "default", "Bad_Name") == []


def test_missing_aws_credentials(tmp_path):
    unset = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    env = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_EC2_METADATA_DISABLED": "true"}
    name = f"bad-{new_run_id()}"
    result = harness("up", "--workspace", name, "--target", "aws", env=env, unset=unset)
    assert_clear_error(result, "no AWS credentials")
    assert traces_of(name) == []


def test_missing_stack_directory(tmp_path):
    (tmp_path / "terraform").mkdir()
    result = harness("up", "--workspace", "ok-name", "--target", "endpoint", "--endpoint", "http://127.0.0.1:9",
                     env={"HARNESS_ROOT": str(tmp_path)})
    assert_clear_error(result, "the stack directory")


def test_state_lock_held_by_another_run(tmp_path):
    server = start(log_file=tmp_path / "localaws.log")
    name = f"locked-{new_run_id()}"
    try:
        up = harness("up", "--workspace", name, "--target", "endpoint", "--endpoint", server.endpoint)
        assert up.returncode == 0, up.stderr
        state_file = paths.stack_dir() / "terraform.tfstate.d" / name / "terraform.tfstate"
        state_before = state_file.read_bytes()
        with state_file.open("rb+") as handle:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)  # what a running Terraform holds
            result = harness("down", "--workspace", name)
        assert_clear_error(result, "another run holds the state lock")
        assert "no stale lock" in result.stderr
        assert state_file.read_bytes() == state_before
    finally:
        assert harness("down", "--workspace", name).returncode == 0
        server.stop()
    assert not (paths.workspaces_dir() / f"{name}.json").exists()


def test_corrupt_state_file_is_left_untouched_and_the_backup_pointed_to(tmp_path):
    server = start(log_file=tmp_path / "localaws.log")
    name = f"corrupt-{new_run_id()}"
    try:
        assert harness("up", "--workspace", name, "--target", "endpoint", "--endpoint", server.endpoint).returncode == 0
        assert harness("up", "--workspace", name).returncode == 0  # a second apply leaves a .backup
        state_file = paths.stack_dir() / "terraform.tfstate.d" / name / "terraform.tfstate"
        good = state_file.read_bytes()
        state_file.write_bytes(b'{"version": 4, "serial": ')
        result = harness("down", "--workspace", name)
        assert_clear_error(result, "cannot be read; the harness left it untouched")
        assert "terraform.tfstate.backup" in result.stderr and "another run" not in result.stderr
        assert state_file.read_bytes() == b'{"version": 4, "serial": '
        state_file.write_bytes(good)
    finally:
        assert harness("down", "--workspace", name).returncode == 0
        server.stop()


@pytest.mark.parametrize("target", ["localstack", "endpoint"])
def test_an_endpoint_that_does_not_answer_is_one_line_not_an_error_per_check(target):
    """A LocalStack that is not running: pytest stops before any check, with one line."""
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e", "-p", "no:cacheprovider", "-q",
                             "--target", target, "--endpoint", "http://127.0.0.1:9"], cwd=paths.project_root(),
                            env=child_run_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert output.count("nothing answers at http://127.0.0.1:9") == 1, output
    assert " error" not in output.lower().replace("usage error", ""), output
    assert "Traceback" not in output
