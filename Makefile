# vocscore: `make run` and `make test` are the quick start; everything installs into .venv.
# `make run` installs the runtime dependencies only; test, bench, proto and lint add the dev extra.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: install install-dev run test proto lint bench install-check clean

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

# the production install, end to end: build the wheel from a copy of the sources, install it in a
# fresh venv (runtime dependencies from the index), start vocscore-server from it and ask its health
install-check:
	@set -e; tmp=$$(mktemp -d); pid=; \
	trap 'test -n "$$pid" && kill $$pid 2>/dev/null; rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/src"; cp -r pyproject.toml README.md LICENSE server clients kernels lexicons "$$tmp/src"; \
	find "$$tmp/src" -name __pycache__ -prune -exec rm -rf {} +; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q --disable-pip-version-check "$$tmp/src"; \
	port=$$($(PYTHON) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'); \
	cd "$$tmp"; NUMBA_CACHE_DIR="$$tmp/numba" VOC_METRICS_LISTEN= venv/bin/vocscore-server \
	  --listen 127.0.0.1:$$port --store "$$tmp/store" --workers 1 & pid=$$!; \
	for i in $$(seq 120); do \
	  venv/bin/vocscore --target 127.0.0.1:$$port health >/dev/null 2>&1 && break; sleep 1; done; \
	venv/bin/vocscore --target 127.0.0.1:$$port health; \
	venv/bin/vocscore --target 127.0.0.1:$$port card C0001 >/dev/null; \
	echo "install-check: the wheel installs and serves from a fresh venv"

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .benchmarks
