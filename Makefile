# Two commands matter: `make e2e` (the main job) and `make test` (all tests).
# Both bootstrap what they need: virtualenv, packages, Terraform, provider mirror.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.harness-setup
WORKERS ?= 2

.PHONY: setup browser test e2e test-localstack bench drift nightly report lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/harness setup
	touch $(STAMP)

# Best effort: Debian's Chromium for the report screenshot test (skipped without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
		echo "chromium not installed: the report screenshot test will be skipped"

test: setup browser
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --junitxml=reports/test-junit.xml

e2e: setup
	$(BIN)/python -m pytest tests/e2e -n $(WORKERS) -p no:cacheprovider \
		--junitxml=reports/e2e-junit.xml --harness-summary=reports/e2e-summary.json

# Not part of `test`: installs LocalStack 4.13.1 into .harness/localstack/venv (host mode, no
# Docker), then runs its own tests, the e2e suite, a named-workspace up/drift/down and a
# leftover count against a fresh instance, and stops and removes it on every path
# (harness/localstack.py, `run-suite`). One summary line per step; non-zero if any failed.
test-localstack: setup
	$(BIN)/python -m harness.localstack install
	$(BIN)/python -m pytest tests/localstack -p no:cacheprovider -q
	$(BIN)/python -m harness.localstack run-suite --target localstack --workers $(WORKERS) --cold

bench: setup
	$(BIN)/harness bench

nightly: setup
	$(BIN)/harness nightly $(if $(WS),--workspace $(WS),)

report: setup
	$(BIN)/harness report

drift: setup
	@test -n "$(WS)" || { echo "usage: make drift WS=<workspace>"; exit 2; }
	$(BIN)/harness drift --workspace $(WS)

lint: setup
	$(BIN)/ruff check harness tests conftest.py
	$(BIN)/python -c "import sys; from harness import toolchain; t = toolchain.prepare(); \
	import subprocess; sys.exit(subprocess.call([t.binary.path, 'fmt', '-check', '-recursive', 'terraform'], \
	env={**__import__('os').environ, **t.env()}))"

clean:
	rm -rf $(VENV) .harness/toolchain .harness/runs reports .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find terraform -name 'harness_*.tf' -delete
