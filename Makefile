# Headwater developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH_ARGS ?=  # e.g. --engines apache --rounds 1

.PHONY: help install up test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv and install Headwater with its dev tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

up: install ## run the whole platform on this machine (UP_ARGS=--staging-collector: staging too)
	$(BIN)/headwater up $(UP_ARGS)

test: install ## run every test (unit, integration, end-to-end)
	$(BIN)/pytest

lint: install ## ruff, formatting and mypy (strict for the package)
	$(BIN)/ruff check headwater tests bench
	$(BIN)/ruff format --check headwater tests bench
	$(BIN)/mypy

bench: install ## benchmarks (BENCH_ARGS="--engines apache": on Apache Kafka and OpenSearch); need wrk
	$(BIN)/python -m bench.collector $(BENCH_ARGS)
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) .headwater
