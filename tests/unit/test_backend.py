"""The S3 backend setting: parsing, the generated backend block, the Terraform version gate."""

import pytest

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


def test_local_state_lists_workspace_directories(tmp_path):
    (tmp_path / "terraform.tfstate.d" / "t-abc-main").mkdir(parents=True)
    (tmp_path / "terraform.tfstate.d" / "t-abc-main" / "terraform.tfstate").write_text("{}")
    store = LocalState(tmp_path)
    assert set(store.workspaces()) == {"t-abc-main"}
    assert store.has_state("t-abc-main") and not store.has_state("t-gone-main")
