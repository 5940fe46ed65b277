# One command to try laotie (make demo) and one to test it (make test).

VENV    := .venv
PYTHON  := $(VENV)/bin/python
# Touched after a successful install, so repeated runs do not reinstall;
# editing pyproject.toml makes it stale and triggers a new install.
STAMP   := $(VENV)/.installed

.PHONY: demo test lint install

demo: install
	$(VENV)/bin/laotie demo

test: install
	$(PYTHON) scripts/test

lint: install
	$(PYTHON) scripts/test lint

install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[dev]'
	touch $(STAMP)
