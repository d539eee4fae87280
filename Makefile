# vocscore: `make run` and `make test` are the quick start; everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: install run test proto lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: install
	$(PY) -m server --store var/store --demo

test: install
	$(PY) -m pytest -q

proto: install
	$(PY) -m clients.genproto

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .benchmarks
