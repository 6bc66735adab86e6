# Set-up and the project's jobs. `make run` and `make test` bootstrap everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.12: pyenv's shim (selected by .python-version) or any python3.12 on PATH.
PYTHON312 ?= $(shell command -v python3.12 2>/dev/null || pyenv which python3.12 2>/dev/null || echo python3.12)
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast smoke figures bench docs lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,cuda,torch,nir,dev,sweep,docs,lint]'
	@touch $(STAMP)

# The main job: every figure (simulations included) on the embedded defaults.
run: $(STAMP)
	$(PY) figures/make_all.py

# The default test suite (includes cpp_standalone and one CUDA compile; no GPU needed).
test: $(STAMP)
	$(PY) -m pytest -q

# The fast lane: no C++ builds, nothing slow (under 2 minutes).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not standalone"

# The wheel in a fresh venv in a temporary folder, away from the checkout.
smoke: $(STAMP)
	bash .ci/wheel_smoke.sh

figures: run

# The documentation (docs/): HTML with warnings as errors (the gallery's examples run on the
# way, the model, result and API pages are generated), then the doctests of the pages.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html
	$(PY) -m sphinx -W --keep-going -b doctest -d docs/_build/doctrees docs docs/_build/doctest

# Style and types: ruff (lint and format, configured in pyproject.toml) and mypy on the public core.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf figures/out .pytest_cache
