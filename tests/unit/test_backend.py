"""Where state lives: the S3 backend setting (parsing, the generated backend block, the Terraform
version gate) and the local state under the data directory (never in the stack)."""

from pathlib import Path

import pytest

from harness import paths
from harness.errors import HarnessError
from harness.options import RunOptions
from harness.terraform.backend import LocalState, S3Backend, state_store_for_location


def test_parse_and_round_trip():
    backend = S3Backend.parse("s3://state/team/e2e.tfstate?region=eu-west-1&endpoint=http://127.0.0.1:4566")
    assert (backend.bucket, backend.key, backend.region, backend.endpoint) == (
        "state", "team/e2e.tfstate", "eu-west-1", "http://127.0.0.1:4566")
    assert S3Backend.parse(backend.url) == backend
    assert backend.state_key("shared") == "env:/shared/team/e2e.tfstate"
    assert backend.lock_key("shared") == "env:/shared/team/e2e.tfstate.tflock"


@pytest.mark.parametrize("url", ["https://x/y", "s3://bucket", "s3://bucket/dir/", "s3:///key",
                                 "s3://b/k?color=blue"])
def test_bad_urls_are_clear_errors(url):
    with pytest.raises(HarnessError) as info:
        S3Backend.parse(url)
    assert "s3://BUCKET" in (info.value.hint or "") or "unknown option" in info.value.message


def test_backend_block_uses_native_lock_file_and_local_endpoint_settings():
    local = S3Backend.parse("s3://state/e2e.tfstate?endpoint=http://127.0.0.1:4566").hcl()
    assert 'backend "s3"' in local and "use_lockfile = true" in local
    assert 'endpoints = { s3 = "http://127.0.0.1:4566" }' in local and "use_path_style = true" in local
    assert "dynamodb" not in local
    aws = S3Backend.parse("s3://state/e2e.tfstate").hcl()
    assert "endpoints" not in aws and "skip_credentials_validation" not in aws


@pytest.mark.parametrize(("version", "ok"), [("1.9.8", False), ("v1.5.7", False), ("1.10.0", True),
                                             ("1.15.5", True), ("2.0.0", True)])
def test_terraform_version_gate(version, ok):
    backend = S3Backend.parse("s3://state/e2e.tfstate")
    if ok:
        backend.check_terraform(version)
    else:
        with pytest.raises(HarnessError, match=r"needs Terraform >= 1\.10"):
            backend.check_terraform(version)


def test_environment_default_is_read_only_at_the_edge():
    empty = RunOptions.from_values(lambda name: None, {})
    assert empty.backend is None
    from_env = RunOptions.from_values(lambda name: None, {"HARNESS_BACKEND": "s3://state/e2e.tfstate"})
    assert from_env.backend == S3Backend("state", "e2e.tfstate")
    explicit = RunOptions.from_values(lambda name: {"backend": "s3://other/k.tfstate"}.get(name),
                                      {"HARNESS_BACKEND": "s3://state/e2e.tfstate"})
    assert explicit.backend == S3Backend("other", "k.tfstate")


def test_state_location_tags_name_the_store_to_ask(tmp_path):
    known = S3Backend("state", "e2e.tfstate", "eu-west-1", "http://127.0.0.1:4566")
    assert state_store_for_location("s3://state/e2e.tfstate", tmp_path, known) is known
    other = state_store_for_location("s3://other/x.tfstate", tmp_path, known, "us-east-2", None)
    assert other == S3Backend("other", "x.tfstate", "us-east-2", None)
    assert state_store_for_location(None, tmp_path) == LocalState(tmp_path)
    here = LocalState(tmp_path).location
    assert state_store_for_location(here, tmp_path) == LocalState(tmp_path)
    assert state_store_for_location("local:some-other-runner", tmp_path) is None


def test_local_state_lives_under_the_data_directory_and_lists_workspace_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    stack = tmp_path / "stack"
    stack.mkdir()
    store = LocalState(stack)
    assert store.root.is_relative_to(tmp_path / "data" / "state")
    assert store.state_file("t-abc-main") == store.root / "t-abc-main" / "terraform.tfstate"
    store.state_file("t-abc-main").parent.mkdir(parents=True)
    store.state_file("t-abc-main").write_text("{}")
    store.state_file("default").write_text("{}")  # the default workspace's file is no workspace directory
    assert set(store.workspaces()) == {"t-abc-main"}
    assert store.has_state("t-abc-main") and not store.has_state("t-gone-main")
    assert not (stack / "terraform.tfstate.d").exists()


def test_the_project_stack_keeps_its_name_under_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    assert LocalState(paths.stack_dir()).root == tmp_path / "state" / "e2e"
    assert paths.terraform_data_dir(paths.stack_dir()) == tmp_path / "terraform" / "e2e" / ".terraform"
    elsewhere = tmp_path / "copy" / "e2e"  # a copy of the stack elsewhere never shares its state
    assert LocalState(elsewhere).root.parent == tmp_path / "state" and LocalState(elsewhere).root.name != "e2e"


def test_the_backend_config_points_terraform_at_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    store = LocalState(stack)
    assert store.applies()
    config = store.backend_config()
    assert config == {"path": str(store.root / "terraform.tfstate"), "workspace_dir": str(store.root)}
    assert 'backend "local" {}' in (stack / "harness_backend.tf").read_text()


def test_a_stack_with_its_own_backend_keeps_it(tmp_path):
    (tmp_path / "main.tf").write_text('terraform {\n  backend "s3" {\n    bucket = "b"\n  }\n}\n')
    assert not LocalState(tmp_path).applies()
    (tmp_path / "main.tf").write_text('terraform {\n  cloud {\n    organization = "o"\n  }\n}\n')
    assert not LocalState(tmp_path).applies()


def _legacy_workspace(stack: Path, name: str) -> None:
    (stack / "terraform.tfstate.d" / name).mkdir(parents=True)
    (stack / "terraform.tfstate.d" / name / "terraform.tfstate").write_text(f'{{"workspace": "{name}"}}')


def test_state_in_the_stack_moves_to_this_checkouts_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    stack = tmp_path / "terraform" / "stacks" / "e2e"
    _legacy_workspace(stack, "demo")
    _legacy_workspace(stack, "taken")
    store = LocalState(stack)
    store.state_file("taken").parent.mkdir(parents=True)
    store.state_file("taken").write_text('{"workspace": "newer"}')
    assert store.adopt_legacy_state() == ["demo"]
    assert store.root == tmp_path / ".harness" / "state" / "e2e"
    assert store.state_file("demo").read_text() == '{"workspace": "demo"}'
    assert store.state_file("taken").read_text() == '{"workspace": "newer"}'  # never overwritten
    assert (stack / "terraform.tfstate.d" / "taken").exists() and not (stack / "terraform.tfstate.d" / "demo").exists()


def test_another_data_directory_leaves_the_stacks_state_where_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "elsewhere"))
    stack = tmp_path / "terraform" / "stacks" / "e2e"
    _legacy_workspace(stack, "demo")
    assert LocalState(stack).adopt_legacy_state() == []
    assert (stack / "terraform.tfstate.d" / "demo" / "terraform.tfstate").exists()
    assert not LocalState(stack).root.exists()


def test_the_backend_working_copy_lives_in_the_data_directory_with_the_modules_linked(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    terraform = tmp_path / "terraform"
    (terraform / "modules" / "m").mkdir(parents=True)
    stack = terraform / "stacks" / "e2e"
    stack.mkdir(parents=True)
    (stack / "main.tf").write_text('module "m" {\n  source = "../../modules/m"\n}\n')
    copy = S3Backend.parse("s3://state/e2e.tfstate").working_copy(stack)
    assert copy.is_relative_to(tmp_path / "data") and copy.name == "e2e"
    assert (copy / "main.tf").resolve() == stack / "main.tf"
    assert (copy / "../../modules/m").resolve() == terraform / "modules" / "m"  # the stack's relative source holds
    assert 'backend "s3"' in (copy / "harness_backend.tf").read_text()
    assert [p.name for p in (terraform / "stacks").iterdir()] == ["e2e"]  # nothing written next to the stack
