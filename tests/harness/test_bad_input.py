"""Every row of the troubleshooting table (docs/troubleshooting.md): one clear error, no traceback, nothing changed."""

import fcntl
import subprocess

import pytest

from harness import paths
from harness.lifecycle.workspace import new_run_id
from harness.terraform.backend import LocalState

pytestmark = pytest.mark.slow


def traces_of(*names: str) -> list[str]:
    """What exists of these workspaces: state (in the data directory, and none in the stack) and
    records. Only the names a test uses are looked at, since other tests create and remove
    workspaces in parallel."""
    state = LocalState(paths.stack_dir())
    places = [p for name in names if name != "default" for p in (
        state.state_file(name).parent, paths.workspaces_dir() / f"{name}.json", state.legacy_root / name)]
    if "default" in names:  # Terraform keeps the default workspace's state in a file of its own
        places += [state.state_file("default"), paths.stack_dir() / "terraform.tfstate"]
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
def test_bad_terraform_binary(env, expected, harness_cli):
    assert_clear_error(harness_cli.harness("doctor", env=env), expected)


def test_corrupt_provider_mirror(tmp_path, harness_cli):
    # A toolchain of its own: the shared one is never damaged.
    cli = harness_cli.private(tmp_path, HARNESS_TOOLCHAIN_DIR=str(tmp_path / "toolchain"),
                              HARNESS_PROVIDER_SOURCE="mirror")
    assert cli.harness("setup").returncode == 0
    zip_path = next(tmp_path.glob("toolchain/mirror/**/*.zip"))
    zip_path.unlink()
    zip_path.write_bytes(b"PK\x03\x04 not a zip")
    assert_clear_error(cli.harness("doctor"), "is corrupt")
    assert zip_path.read_bytes() == b"PK\x03\x04 not a zip"  # reported, not silently replaced


@pytest.mark.parametrize(("args", "expected"), [
    (["up", "--workspace", "default"], "is reserved"),
    (["up", "--workspace", "Bad_Name"], "is not allowed"),
    (["up", "--workspace", "{name}", "--target", "moon"], "unknown target"),
    (["up", "--workspace", "{name}", "--target", "endpoint"], "needs an endpoint URL"),
    (["up", "--workspace", "{name}", "--target", "endpoint", "--endpoint", "http://127.0.0.1:9"], "nothing answers"),
    (["localaws", "--host", "0.0.0.0", "--port", "0"], "not a loopback address"),
])
def test_bad_arguments_change_nothing(args, expected, harness_cli):
    name = f"bad-{new_run_id()}"
    args = [arg.replace("{name}", name) for arg in args]
    assert traces_of(name, "default", "Bad_Name") == []
    assert_clear_error(harness_cli.harness(*args), expected)
    assert traces_of(name, "default", "Bad_Name") == []


def test_missing_aws_credentials(tmp_path, harness_cli):
    unset = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    env = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_EC2_METADATA_DISABLED": "true"}
    name = f"bad-{new_run_id()}"
    result = harness_cli.harness("up", "--workspace", name, "--target", "aws", env=env, unset=unset)
    assert_clear_error(result, "no AWS credentials")
    assert traces_of(name) == []


def test_missing_stack_directory(tmp_path, harness_cli):
    (tmp_path / "terraform").mkdir()
    result = harness_cli.harness("up", "--workspace", "ok-name", "--target", "endpoint", "--endpoint", "http://127.0.0.1:9",
                     env={"HARNESS_ROOT": str(tmp_path)})
    assert_clear_error(result, "the stack directory")


def test_state_lock_held_by_another_run(local_target, harness_cli):
    name = f"locked-{new_run_id()}"
    try:
        up = harness_cli.harness("up", "--workspace", name, "--target", "endpoint", "--endpoint", local_target.endpoint)
        assert up.returncode == 0, up.stderr
        state_file = LocalState(paths.stack_dir()).state_file(name)
        state_before = state_file.read_bytes()
        with state_file.open("rb+") as handle:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)  # what a running Terraform holds
            result = harness_cli.harness("down", "--workspace", name)
        assert_clear_error(result, "another run holds the state lock")
        assert "no stale lock" in result.stderr
        assert state_file.read_bytes() == state_before
    finally:
        assert harness_cli.harness("down", "--workspace", name).returncode == 0
    assert not (paths.workspaces_dir() / f"{name}.json").exists()


def test_corrupt_state_file_is_left_untouched_and_the_backup_pointed_to(local_target, harness_cli):
    name = f"corrupt-{new_run_id()}"
    try:
        assert harness_cli.harness("up", "--workspace", name, "--target", "endpoint",
                                   "--endpoint", local_target.endpoint).returncode == 0
        assert harness_cli.harness("up", "--workspace", name).returncode == 0  # a second apply leaves a .backup
        state_file = LocalState(paths.stack_dir()).state_file(name)
        good = state_file.read_bytes()
        state_file.write_bytes(b'{"version": 4, "serial": ')
        result = harness_cli.harness("down", "--workspace", name)
        assert_clear_error(result, "cannot be read; the harness left it untouched")
        assert "terraform.tfstate.backup" in result.stderr and "another run" not in result.stderr
        assert state_file.read_bytes() == b'{"version": 4, "serial": '
        state_file.write_bytes(good)
    finally:
        assert harness_cli.harness("down", "--workspace", name).returncode == 0


@pytest.mark.parametrize("target", ["localstack", "endpoint"])
def test_an_endpoint_that_does_not_answer_is_one_line_not_an_error_per_check(target, harness_cli):
    """A LocalStack that is not running: pytest stops before any check, with one line."""
    result = harness_cli.pytest("tests/e2e", "-q", "--target", target, "--endpoint", "http://127.0.0.1:9",
                                timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert output.count("nothing answers at http://127.0.0.1:9") == 1, output
    assert " error" not in output.lower().replace("usage error", ""), output
    assert "Traceback" not in output
