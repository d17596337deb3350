"""The shipped CI definitions cache what `make setup` downloads or builds, keyed on the lock
files, at the places the set-up really uses: uv's and pip's caches, the bootstrapped uv, and
the provider mirror and plugin cache where harness/terraform/toolchain.py puts them."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from harness import paths
from harness.terraform import toolchain

ROOT = paths.project_root()
MAKEFILE = (ROOT / "Makefile").read_text()


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def project_paths(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The mirror, plugin cache and bootstrapped uv, relative to the checkout (default data dir)."""
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    tools = re.search(r"^TOOLS\s*:=\s*(\S+)", MAKEFILE, re.MULTILINE)
    assert tools, "the Makefile names no TOOLS directory"
    return {_relative(toolchain.mirror_dir()), _relative(toolchain.plugin_cache_dir()), tools[1]}


def _cache_step(workflow: str) -> tuple[dict, list[dict]]:
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"]
    job = next(iter(steps.values()))
    caches = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert len(caches) == 1, f"{workflow}: expected one package and provider cache step"
    return caches[0], job["steps"]


@pytest.mark.parametrize("workflow", ["e2e.yml", "nightly.yml"])
def test_github_caches_downloads_and_provider_before_the_set_up(workflow, monkeypatch):
    cache, steps = _cache_step(workflow)
    cached = set(cache["with"]["path"].split())
    assert {"~/.cache/uv", "~/.cache/pip"} | project_paths(monkeypatch) <= cached
    key = cache["with"]["key"]
    assert "hashFiles('requirements*.lock', 'terraform/**/.terraform.lock.hcl')" in key
    assert key.startswith(cache["with"]["restore-keys"])  # a lock change restores the newest older cache
    if workflow == "nightly.yml":
        assert "${{ matrix.provider }}" in key  # each provider line keeps its own plugin cache
    setup = next(i for i, s in enumerate(steps) if s.get("run", "").startswith("make "))
    assert steps.index(cache) < setup, "the cache is restored after the set-up ran"


def test_every_lock_file_the_set_up_reads_is_in_the_github_key():
    named = set(re.findall(r"\b(requirements[\w.$()-]*\.lock)\b", MAKEFILE))
    extras = {f"requirements-{extra}.lock" for extra in ("report", "bundled-terraform", "browser")}
    locks = {name for name in named if "$" not in name} | extras
    assert {"requirements.lock", "requirements-uv.lock"} <= locks
    for name in locks:
        assert (ROOT / name).exists(), name
        assert fnmatch.fnmatch(name, "requirements*.lock"), f"{name} is outside the cache key's hashFiles glob"


def test_gitlab_caches_the_same_in_the_project_keyed_on_the_lock_files(monkeypatch):
    gitlab = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())
    variables = gitlab["variables"]
    # GitLab caches only paths inside the project: uv and pip are pointed there.
    uv_cache = variables["UV_CACHE_DIR"].removeprefix("$CI_PROJECT_DIR/")
    pip_cache = variables["PIP_CACHE_DIR"].removeprefix("$CI_PROJECT_DIR/")
    for job in ("e2e", "nightly"):
        caches = gitlab[job].get("cache", gitlab["default"].get("cache"))
        package = [c for c in caches if isinstance(c["key"], dict)]
        assert len(package) == 1, job
        assert set(package[0]["key"]["files"]) <= {p.name for p in ROOT.glob("requirements*.lock")}
        assert "requirements.lock" in package[0]["key"]["files"]
        assert {uv_cache, pip_cache} | project_paths(monkeypatch) <= set(package[0]["paths"])
    history = [c for c in gitlab["nightly"]["cache"] if not isinstance(c["key"], dict)]
    assert history and history[0]["paths"] == ["reports/history.jsonl"]  # the nightly keeps its history too
