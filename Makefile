# vocscore: `make run` and `make test` are the quick start; everything installs into .venv.
# `make run` installs the runtime dependencies only; test, bench, proto and lint add the dev extra.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: install install-dev run test proto lint bench clean

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	@echo "installing vocscore and its runtime dependencies into $(VENV) ..."
	$(PIP) -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP)
	@echo "installing the development tools (tests, benchmarks, protoc, ruff) into $(VENV) ..."
	$(PIP) -e '.[dev]'
	touch $(DEV_STAMP)

run: install
	$(VENV)/bin/vocscore-server --store var/store --demo

test: install-dev
	$(PY) -m pytest -q

proto: install-dev
	$(PY) -m clients.genproto

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: install-dev
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .benchmarks
