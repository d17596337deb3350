# Two commands matter: `make e2e` (the main job) and `make test` (all tests).
# Both bootstrap what they need: virtualenv, packages, Terraform, provider mirror.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.harness-setup
WORKERS ?= 2
# `make e2e` alone: measured by `make bench` (scaling, 3 interleaved rounds) on 2 cores, the
# e2e suite in one process is as fast as or faster than with `-n 2` (the local AWS, one
# process, does most of the checks' work; workers booting compete with the apply). 1 runs
# it without xdist; E2E_WORKERS=N uses N workers (worth it against real AWS: network-bound).
E2E_WORKERS ?= 1
# Where reports go: HARNESS_REPORTS_DIR (where `harness summary` and `harness report` read them), else reports/.
REPORTS := $(or $(HARNESS_REPORTS_DIR),reports)

.PHONY: setup browser test e2e test-localstack bench drift nightly report lint clean lock

setup: $(STAMP)

# Every dependency comes from requirements.lock (exact versions, hashes); the project
# itself is installed on top without resolving anything. `make lock` refreshes the lock.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e '.[dev]'
	$(BIN)/harness setup
	# pip compiles what it installs, but not an editable project: without this, every process
	# (pytest, each worker, the local AWS) compiles the harness from source when the
	# environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE): ~0.25 s per `make e2e`.
	$(BIN)/python -m compileall -q harness tests conftest.py
	touch $(STAMP)

PIPTOOLS := .harness/piptools
lock:
	test -x $(PIPTOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(PIPTOOLS) && \
		$(PIPTOOLS)/bin/pip install --quiet 'pip-tools==7.6.2'; }
	CUSTOM_COMPILE_COMMAND="make lock" $(PIPTOOLS)/bin/pip-compile --quiet --generate-hashes --extra dev \
		--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# Best effort: Debian's Chromium for the report screenshot test (skipped without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
		echo "chromium not installed: the report screenshot test will be skipped"

test: setup browser
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile -p no:cacheprovider --junitxml=$(REPORTS)/test-junit.xml

# The edit loop: unit, toolchain and local AWS conformance tests, and the harness tests that
# apply no stack (-m "not slow": e.g. that every README command is run or skipped with a
# reason); under a minute on 2 cores. `make test` stays the whole suite.
.PHONY: check
check: setup
	$(BIN)/python -m pytest tests/unit tests/toolchain tests/localaws tests/harness -m "not slow" \
		-n $(WORKERS) --dist loadfile -q -p no:cacheprovider

e2e: setup
	$(BIN)/python -m pytest tests/e2e $(if $(filter-out 0 1,$(E2E_WORKERS)),-n $(E2E_WORKERS),-p no:xdist) \
		-p no:cacheprovider \
		--junitxml=$(REPORTS)/e2e-junit.xml --harness-summary=$(REPORTS)/e2e-summary.json

# Not part of `test`: installs LocalStack 4.13.1 into .harness/localstack/venv (host mode, no
# Docker), then runs its own tests, the e2e suite, a named-workspace up/drift/down and a
# leftover count against a fresh instance, and stops and removes it on every path
# (harness/targets/localstack.py, `run-suite`). One summary line per step; non-zero if any failed.
test-localstack: setup
	$(BIN)/python -m harness.targets.localstack install
	$(BIN)/python -m pytest tests/localstack -p no:cacheprovider -q
	$(BIN)/python -m harness.targets.localstack run-suite --target localstack --workers $(WORKERS) --cold

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
	import subprocess; sys.exit(subprocess.call([t.binary.path, 'fmt', '-check', '-recursive', 'terraform', 'examples'], \
	env={**__import__('os').environ, **t.env()}))"
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --persona pedantic --no-progress .github/workflows

clean:
	rm -rf $(VENV) .harness/toolchain .harness/runs .harness/localstack .harness/piptools reports .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find terraform -name 'harness_*.tf' -delete
