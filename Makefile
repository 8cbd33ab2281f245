# Every target installs what it needs into .venv first; only Python 3.11+ is required.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.bench-installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format migrate seed fuzz soak bench bench-smoke bench-tools clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	touch $@

install: $(INSTALLED) ## Create .venv and install the service with its tools

run: $(INSTALLED) ## Serve on 127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/support-tickets run

test: $(INSTALLED) ## Run the test suite (embedded PostgreSQL unless TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: $(INSTALLED) ## Schemathesis with a large budget: make fuzz [EXAMPLES=1000] [SEED=20261203]
	FUZZ_MAX_EXAMPLES=$(or $(EXAMPLES),1000) FUZZ_SEED=$(or $(SEED),20261203) \
		$(BIN)/python -m pytest tests/attack/test_generated_requests.py $(PYTEST_ARGS)

soak: $(INSTALLED) ## Mixed load for minutes, then the audit: make soak [DURATION=180] [CLIENTS=24]
	SOAK_SECONDS=$(or $(DURATION),180) SOAK_CLIENTS=$(or $(CLIENTS),24) \
		$(BIN)/python -m pytest tests/faults/test_soak.py $(PYTEST_ARGS)

lint: $(INSTALLED) ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict app

format: $(INSTALLED) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(INSTALLED) ## Apply migrations to DATABASE_URL (or the embedded server)
	$(BIN)/support-tickets migrate

seed: $(INSTALLED) ## Load demo data into an empty database: make seed N=10000 SEED=1
	$(BIN)/support-tickets seed --tickets $(or $(N),1000) --seed $(or $(SEED),1)

$(BENCH_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded,bench]'
	touch $@

bench-tools: $(BENCH_INSTALLED)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

bench: bench-tools ## Load test the list next to a raw reference: make bench N=1000000 DURATION=20 [RESEED=1]
	$(BIN)/python -m bench.run --tickets $(or $(N),1000000) --duration $(or $(DURATION),20) \
		$(if $(filter 1,$(RESEED)),--reseed)

bench-smoke: bench-tools ## The whole bench on 3,000 tickets, 2 s a run; fails on any error
	$(BIN)/python -m bench.run --tickets 3000 --duration 2 --warmup 1 \
		--database support_tickets_bench_smoke --profile-requests 5 --profile-seconds 2 \
		--results-dir test-output/bench-smoke --smoke

clean: ## Remove .venv, caches and the embedded database's data
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache test-output
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
