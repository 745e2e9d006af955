# Two commands for a new machine: `make run` (the local host with a demo) and `make test` (everything CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: install run test lint typecheck unit integration e2e bench token clean constraints

$(STAMP_PY): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP_PY) $(STAMP_NODE)

run: install  ## start the local host on http://127.0.0.1:7071 with the demo organization; prints a token
	$(BIN)/python -m devhost run

token: install  ## print a fresh bearer token for the demo user
	@$(BIN)/python -m devhost token

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: lint typecheck  ## lint, type-check, then unit + integration + e2e tests (real Postgres and Azurite)
	$(BIN)/pytest -q -p no:cacheprovider

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install
	$(BIN)/pytest -q tests/e2e

bench: install  ## benchmarks: prints figures and ratios (not part of `make test`)
	$(BIN)/python -m tests.benchmarks

constraints:  ## re-resolve requirements-dev.txt in a scratch venv and pin every package it brings in
	rm -rf .constraints-venv && $(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install --quiet -r requirements-dev.txt
	{ sed -n 1,2p constraints.txt; .constraints-venv/bin/pip freeze | grep -v '^#'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .constraints-venv

clean:
	rm -rf $(VENV) node_modules .devhost .pytest_cache .mypy_cache .ruff_cache
