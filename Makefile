# Headwater developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH_ARGS ?=  # e.g. --engines apache --rounds 1
# Test processes: one set of engines serves them all (tests/support/shared_services.py);
# a test file runs in one process. TEST_JOBS=0 runs everything in this process.
TEST_JOBS  ?= 2

# The console (console-ui/, a Vite + React app) is built into the Python package, which
# `headwater api` serves under /ui/. Without npm the Python part installs all the same.
CONSOLE     := headwater/console/web/index.html
CONSOLE_SRC := $(shell find console-ui/src -type f 2>/dev/null) console-ui/package-lock.json \
               console-ui/index.html console-ui/vite.config.ts

.PHONY: help install up test lint bench clean console-check deploy-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(VENV)/.installed $(CONSOLE) ## create .venv, install Headwater with its dev tools, build the console

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(CONSOLE): $(CONSOLE_SRC)
	@if command -v npm >/dev/null 2>&1; then \
		cd console-ui && npm ci --no-audit --no-fund && npm run build; \
	else \
		echo "make install: npm not found: the console (console-ui/) is not built;" \
		     "the API works without /ui/ (install Node 20 and npm, then make install)"; \
	fi

console-check: ## the console's type check, lint and component tests (needs npm)
	cd console-ui && npm ci --no-audit --no-fund && npm run typecheck && npm run lint && npm test

up: install ## run the whole platform on this machine (UP_ARGS: --staging-collector, --engines apache)
	$(BIN)/headwater up $(UP_ARGS)

test: install ## run every test (unit, integration, end-to-end)
	$(BIN)/pytest --durations=30 -n $(TEST_JOBS) --dist loadfile

lint: install ## ruff, formatting, mypy (strict for the package) and the layers (lint-imports)
	$(BIN)/ruff check headwater tests bench
	$(BIN)/ruff format --check headwater tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

deploy-check: install ## validate Dockerfile, compose, Helm chart and dashboard offline (builds helm once; needs Go)
	PYTHON=$(BIN)/python deploy/check.sh

bench: install ## benchmarks (BENCH_ARGS="--engines apache": on Apache Kafka and OpenSearch); need wrk
	$(BIN)/python -m bench.collector $(BENCH_ARGS)
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) .headwater
