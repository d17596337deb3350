"""The files the harness generates into the checkout's stack directory are formatted as `terraform fmt` writes them."""

import shutil
import subprocess

import pytest

from harness.targets.target import ENDPOINT_VARIABLE, provider_override
from harness.terraform import toolchain
from harness.terraform.backend import LOCAL_BACKEND_HCL

GENERATED = {
    **{f"provider override for {version}": provider_override(version)
       for version in (None, "3.39.0", "4.67.0", "6.25.0")},
    "endpoint variable": ENDPOINT_VARIABLE,
    "local backend": LOCAL_BACKEND_HCL,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_file_is_formatted_as_terraform_fmt_writes_it(name, tmp_path):
    binary = toolchain.bundled_terraform_path() or shutil.which("terraform")
    if binary is None:
        pytest.skip("no Terraform")
    path = tmp_path / "harness_generated.tf"
    path.write_text(GENERATED[name])
    result = subprocess.run([str(binary), "fmt", "-check", "-diff", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout
