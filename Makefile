# One command to try laotie (make demo) and one to test it (make test).

VENV    := .venv
PYTHON  := $(VENV)/bin/python
# Touched after a successful install, so repeated runs do not reinstall;
# editing pyproject.toml makes it stale and triggers a new install.
STAMP   := $(VENV)/.installed
# The pages' browser libraries (package.json), copied where the server serves them.
VENDOR  := src/laotie/web/static/vendor/chart.umd.min.js

.PHONY: demo test lint install

demo: install
	$(VENV)/bin/laotie demo

test: install
	$(PYTHON) scripts/test

lint: install
	$(PYTHON) scripts/test lint

install: $(STAMP) $(VENDOR)

$(PYTHON):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[dev]'
	touch $(STAMP)

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(VENDOR))
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)
