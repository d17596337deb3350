"""The boundary around moto: the pin, and the refusal when moto is not what we patch."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import LocalAwsError
from harness.localaws import controlplane, moto_boundary
from harness.localaws.moto_boundary import MOTO_VERSION, MotoName

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
MOTO_ENV = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "MOTO_ALLOW_NONEXISTENT_REGION": "true"}


def test_pyproject_pins_exactly_the_version_the_patches_are_built_for():
    pins = re.findall(r'"moto\[[^\]]*\]([^"]*)"', PYPROJECT.read_text())
    assert pins == [f"=={MOTO_VERSION}"]


def test_the_installed_moto_has_every_name_the_local_aws_touches():
    """Checked in a fresh interpreter: in this one the patches may already be applied."""
    script = ("from harness.localaws import controlplane, moto_boundary\n"
              "print(moto_boundary.problems(controlplane.moto_uses(), moto_boundary.installed_moto_version()))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env=MOTO_ENV)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


def test_every_whole_replacement_is_pinned_by_source_digest():
    """Patches that replace (not wrap) moto code must carry the digest, or an upgrade
    could silently override an upstream fix."""
    pinned = {str(name) for _, name in controlplane.moto_uses() if name.source_sha256}
    assert pinned == {
        "moto.iam.access_control.IAMPolicyStatement._match",
        "moto.core.common_models.BaseModel.__new__",
        "moto.s3.models.FakeBucket.get_permission",
        "moto.s3.models.FakeKey.__init__",
        "moto.s3.models.FakeKey.value.fset",
        "moto.s3.models.FakeKey.etag",
        "moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action",
        "moto.apigateway.responses.APIGatewayResponse.get_gateway_response",
        "moto.apigateway.responses.APIGatewayResponse.get_gateway_responses",
        "moto.apigateway.responses.APIGatewayResponse.delete_gateway_response",
        "moto.apigateway.responses.APIGatewayResponse.put_gateway_response",
    }


def test_operations_the_local_aws_adds_are_ones_moto_lacks():
    """An operation moto learns would otherwise be replaced unseen by the local AWS's own."""
    added = {str(name) for _, name in controlplane.moto_uses() if name.absent}
    assert "moto.apigateway.responses.APIGatewayResponse.update_method" in added
    assert "moto.apigateway.responses.APIGatewayResponse.update_gateway_response" in added
    present = MotoName("moto.apigateway.responses", "APIGatewayResponse.get_method", absent=True)
    found = moto_boundary.problems([("API Gateway update operations", present)], MOTO_VERSION)
    assert len(found) == 1 and "has moto.apigateway.responses.APIGatewayResponse.get_method" in found[0]
    no_owner = MotoName("moto.apigateway.responses", "NoSuchClass.update_method", absent=True)
    found = moto_boundary.problems([("p", no_owner)], MOTO_VERSION)
    assert len(found) == 1 and "has no moto.apigateway.responses.NoSuchClass" in found[0]


def test_a_missing_name_is_named_with_the_patch_that_needs_it():
    found = moto_boundary.problems(
        [("S3 key length limit", MotoName("moto.s3.responses", "S3Response.no_such_method")),
         ("fine", MotoName("moto.s3.responses", "S3Response.put_object"))],
        MOTO_VERSION)
    assert len(found) == 1
    assert "moto.s3.responses.S3Response.no_such_method" in found[0]
    assert "'S3 key length limit'" in found[0] and "make setup" in found[0]


def test_a_missing_module_is_a_problem_not_a_crash():
    found = moto_boundary.problems([("p", MotoName("moto.no_such_service.models", "x"))], MOTO_VERSION)
    assert len(found) == 1 and "moto.no_such_service.models.x" in found[0]


def test_another_moto_version_is_refused_before_any_name_is_checked():
    found = moto_boundary.problems(controlplane.moto_uses(), "5.3.0")
    assert len(found) == 1
    assert "moto 5.3.0 is installed" in found[0] and f"built for moto {MOTO_VERSION}" in found[0]
    assert moto_boundary.problems([], None)[0].startswith("moto (not installed) is installed")


def test_changed_source_of_a_replaced_method_is_refused():
    changed = MotoName("moto.iam.access_control", "IAMPolicyStatement._match", source_sha256="0" * 16)
    found = moto_boundary.problems([("IAM wildcards", changed)], MOTO_VERSION)
    assert len(found) == 1 and "is not the moto" in found[0] and "'IAM wildcards'" in found[0]


def test_ensure_raises_one_line(monkeypatch):
    monkeypatch.setattr(moto_boundary, "installed_moto_version", lambda: MOTO_VERSION)
    uses = [("a", MotoName("moto.s3.responses", "S3Response.gone_1")),
            ("b", MotoName("moto.s3.responses", "S3Response.gone_2"))]
    with pytest.raises(LocalAwsError) as info:
        moto_boundary.ensure(uses)
    message = str(info.value)
    assert "\n" not in message and "gone_1" in message and "(and 1 more)" in message


def test_the_local_aws_refuses_to_start_when_a_patched_name_is_gone(tmp_path):
    """A real start (`python -m harness.localaws`) with one moto method removed first."""
    script = (
        "import sys\n"
        "import moto.s3.responses as responses\n"
        "del responses.S3Response.list_object_versions\n"
        "from harness.localaws.__main__ import main\n"
        "sys.exit(main(['--port', '0']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env=MOTO_ENV, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "moto.s3.responses.S3Response.list_object_versions" in lines[0]
    assert "ListObjectVersions encoding-type=url" in lines[0]
    assert "ready" not in result.stdout


def test_the_lock_file_installs_the_pinned_moto():
    lock = PYPROJECT.with_name("requirements.lock").read_text()
    assert re.findall(r"^moto==(\S+) \\$", lock, re.M) == [MOTO_VERSION]


def test_routing_reads_moto_s_service_list_once_and_it_is_the_same_list(local_aws, monkeypatch):
    import os

    import moto
    from moto import backends

    on_disk = sorted(name for name in os.listdir(os.path.dirname(moto.__file__))
                     if os.path.isdir(os.path.join(os.path.dirname(moto.__file__), name)) and not name.startswith("__"))
    assert list(backends.list_of_moto_modules()) == on_disk

    def no_listing(path):
        raise AssertionError("moto's package directory was listed again")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert "s3" in backends.list_of_moto_modules() and "apigateway" in backends.list_of_moto_modules()


def test_an_action_s_handler_is_found_from_the_class_s_methods_as_moto_lists_them(local_aws):
    import inspect

    from moto.core import responses
    from moto.s3.responses import S3Response

    expected = [name for name, _ in inspect.getmembers(S3Response, predicate=inspect.isfunction)]
    first = responses.method_names_from_class(S3Response)
    assert first == expected
    first.append("not_a_method")  # a caller changing its copy changes nothing for the next one
    assert responses.method_names_from_class(S3Response) == expected
