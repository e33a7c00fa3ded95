# The portal's tasks. `make` alone lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Every process of the suite (servers, `portal` commands, the passes themselves) starts
# from cached bytecode: where the environment asks Python not to write it, each one would
# compile the project from source again.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help install demo serve test test-fast test-sqlite test-postgres lint format clean bench chaos brushing-eval

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The virtualenv is rebuilt only when pyproject.toml changes: a second run is fast.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests' own tools from npm (axe-core), pinned by tests/e2e/package-lock.json;
# reinstalled only when the lock file changes.
E2E_NODE := tests/e2e/node_modules/.package-lock.json
$(E2E_NODE): tests/e2e/package-lock.json
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	touch $(E2E_NODE)

install: $(STAMP) $(E2E_NODE) ## Create .venv and install the portal with its dev tools (and the browser tests' axe-core, by npm)

demo: $(STAMP) ## Run the portal with the demo campaign at http://127.0.0.1:8000 (no services needed)
	$(BIN)/portal demo

serve: $(STAMP) ## Serve with the current environment (see README: configuration)
	$(BIN)/portal serve

# The two passes run at once, each printing its report when it ends: one pass keeps one
# core busy and the PostgreSQL pass waits on the database half the time.
test: lint ## Lint, then the whole suite on SQLite and on PostgreSQL (both passes at once)
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-fast: $(STAMP) ## The edit-test loop: the suite on SQLite, without the browser tests
	$(BIN)/pytest --db sqlite -m "not e2e"

test-sqlite: $(STAMP) $(E2E_NODE) ## The suite on a fresh SQLite database, with the browser flows
	$(BIN)/pytest --db sqlite

test-postgres: $(STAMP) $(E2E_NODE) ## The suite on a fresh PostgreSQL database (with the browser tests that check every page)
	$(BIN)/pytest --db postgres

bench: $(STAMP) ## Load benchmark: votes, the voters' paths (CAPTCHA + votes), CAPTCHA, vote page vs /healthz; writes bench/results.json
	$(BIN)/python -m bench.run $(BENCH_ARGS)

brushing-eval: $(STAMP) ## Labelled brushing attacks vs real voters on a real server (simulated clock); writes bench/brushing.json
	$(BIN)/python -m bench.brushing $(BRUSHING_ARGS)

chaos: $(STAMP) ## Faults under real servers: SIGKILL, Redis and PostgreSQL stopped, SQLite locked or full
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

lint: $(STAMP) ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtualenv, caches and local data (var/)
	rm -rf $(VENV) var .pytest_cache .ruff_cache test-artifacts tests/e2e/node_modules
