# Developer and CI entry points. `make test` is what .ci/run runs.
PYTHON ?= python3
VENV := .venv
POLICY_RC_D ?= /usr/sbin/policy-rc.d

# Debian packages the tests start (each on loopback, on a free port) and the
# command each one provides; `make debs` installs the missing ones.
DEBS := prometheus:promtool \
	chromium:chromium poppler-utils:pdftoppm fonts-dejavu-core:- \
	victoria-metrics:victoria-metrics \
	prometheus-alertmanager:prometheus-alertmanager \
	prometheus-node-exporter:prometheus-node-exporter \
	prometheus-blackbox-exporter:prometheus-blackbox-exporter \
	prometheus-postgres-exporter:prometheus-postgres-exporter \
	postgresql:/usr/lib/postgresql/15/bin/initdb

.PHONY: venv venv-test debs prometheus browser test demo examples bench lint

# Two stamps: `make demo` installs only what slactl needs to run; `make test`
# adds the test tools and extras. Each re-installs when pyproject.toml changes.
venv: $(VENV)/.stamp-run
venv-test: $(VENV)/.stamp-test

$(VENV)/.stamp-run: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.stamp-run

$(VENV)/.stamp-bench: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[bench]'
	touch $@

# Installs the Debian packages whose command is missing, after one
# `apt-get update`, with no recommends and no service start (a temporary
# policy-rc.d forbids it unless one is already there).
debs:
	@missing=; for pair in $(DEBS); do \
		pkg=$${pair%%:*}; cmd=$${pair#*:}; \
		if [ "$$cmd" = - ]; then dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
		elif ! command -v "$$cmd" >/dev/null 2>&1; then missing="$$missing $$pkg"; fi; \
	done; \
	if [ -z "$$missing" ]; then echo "debian packages: all present"; exit 0; fi; \
	echo "installing:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	POLICY=; \
	if [ ! -e $(POLICY_RC_D) ]; then \
		POLICY=1; \
		printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $(POLICY_RC_D) >/dev/null && \
		$$SUDO chmod 755 $(POLICY_RC_D); \
	fi; \
	trap '[ -z "$$POLICY" ] || $$SUDO rm -f $(POLICY_RC_D)' EXIT; \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

# Kept for muscle memory: both now mean "the Debian packages the tests use".
prometheus browser: debs

test: venv-test debs
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup -q

# The unit tests alone (tests/unit: pure and in-process, the `unit` mark), in under a minute.
.PHONY: unit
unit: venv-test
	$(VENV)/bin/python -m pytest -n 2 -q tests/unit

demo: venv
	$(VENV)/bin/slactl demo --out demo-out

examples: venv-test
	bash scripts/examples.sh

# `make bench BENCH_ARGS=--quick` for a smoke run; see docs/benchmark.md.
BENCH_ARGS ?=
bench: $(VENV)/.stamp-bench debs
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

# ruff, then mypy over slactl/ with the settings in pyproject.toml's [tool.mypy].
lint: venv-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
