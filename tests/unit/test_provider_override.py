"""The generated provider override per hashicorp/aws major version, and for an unknown one."""

import pytest

from harness.targets.target import provider_override

THREE_X_ONLY = ("s3_force_path_style",)
REMOVED_IN_5 = ("skip_get_ec2_platforms",)


def _arguments(text: str) -> set[str]:
    return {line.split("=", 1)[0].strip() for line in text.splitlines()
            if "=" in line and not line.lstrip().startswith(("#", "for_each"))}


def test_unknown_version_writes_only_arguments_every_supported_major_accepts():
    arguments = _arguments(provider_override(None))
    assert not arguments & {*THREE_X_ONLY, *REMOVED_IN_5, "s3_use_path_style"}
    assert {"skip_credentials_validation", "skip_metadata_api_check", "skip_region_validation"} <= arguments
    assert "unknown" in provider_override(None).splitlines()[0]


@pytest.mark.parametrize(("version", "path_style", "ec2_platforms"), [
    ("3.39.0", "s3_force_path_style", True),
    ("4.67.0", "s3_use_path_style", True),   # skip_get_ec2_platforms exists until 5.0
    ("5.80.0", "s3_use_path_style", False),
    ("6.25.0", "s3_use_path_style", False),
])
def test_path_style_and_ec2_probe_follow_the_major_version(version, path_style, ec2_platforms):
    arguments = _arguments(provider_override(version))
    assert path_style in arguments
    assert ({"s3_force_path_style", "s3_use_path_style"} - {path_style}).isdisjoint(arguments)
    assert ("skip_get_ec2_platforms" in arguments) is ec2_platforms


@pytest.mark.parametrize("version", [None, "3.39.0", "5.80.0", "6.25.0"])
def test_account_id_is_requested_like_tflocal(version):
    # An empty account id ends up in ARNs and, on 6.x, in resource identities.
    assert "skip_requesting_account_id" not in provider_override(version)
