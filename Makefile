# Developer and CI entry points. `make test` is what .ci/run runs.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.stamp
POLICY_RC_D ?= /usr/sbin/policy-rc.d

.PHONY: venv prometheus browser test demo examples bench lint

venv: $(STAMP)

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

# Debian's prometheus package gives `prometheus` and `promtool` (the tests start
# their own servers). No recommends (node-exporter), and no service start: a
# temporary policy-rc.d forbids it unless one is already there.
prometheus:
	@if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then \
		echo "prometheus: $$(command -v prometheus), promtool: $$(command -v promtool)"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		POLICY=; \
		if [ ! -e $(POLICY_RC_D) ]; then \
			POLICY=1; \
			printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $(POLICY_RC_D) >/dev/null && \
			$$SUDO chmod 755 $(POLICY_RC_D); \
		fi; \
		trap '[ -z "$$POLICY" ] || $$SUDO rm -f $(POLICY_RC_D)' EXIT; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus && \
		command -v promtool && command -v prometheus; \
	fi

# Debian's chromium (driven by Playwright with executable_path, so nothing is
# downloaded) renders the pages in tests; poppler-utils' pdftoppm renders PDFs.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium), pdftoppm: $$(command -v pdftoppm)"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium poppler-utils fonts-dejavu-core && \
		command -v chromium && command -v pdftoppm; \
	fi

test: venv prometheus browser
	$(VENV)/bin/python -m pytest -n 2 -q

demo: venv
	$(VENV)/bin/slactl demo --out demo-out

examples: venv
	@if [ -f scripts/examples.sh ]; then \
		bash scripts/examples.sh; \
	elif $(VENV)/bin/python -c 'import importlib.util as u, sys; sys.exit(u.find_spec("slactl.examples") is None)'; then \
		$(VENV)/bin/python -m slactl.examples; \
	else \
		echo "no examples yet: neither scripts/examples.sh nor slactl.examples exists"; \
	fi

bench: venv
	$(VENV)/bin/python bench/run.py

lint: venv
	$(VENV)/bin/ruff check .
