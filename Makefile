# One command sets up and runs; one sets up and tests. Both start from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test ui lint format demo clean dagster-home bench bench-foundation bench-identity bench-profiles bench-segments bench-activation bench-faults

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml

dagster-home: $(DAGSTER_HOME)/dagster.yaml

# The shipped demo set's first day: its daily partitions start there, so the
# UI shows every day of it loaded and none missing before it.
DEMO_START ?= 2025-12-01

# Generate the demo set only when the landing folder is empty.
demo: $(STAMP)
	@if [ -z "$$(ls -A data/landing 2>/dev/null)" ]; then \
		$(BIN)/cdp demo generate --persons 2000 --days 300 --start $(DEMO_START); \
	fi

run: $(STAMP) dagster-home demo
	CDP_START_DATE=$${CDP_START_DATE:-$(DEMO_START)} $(BIN)/cdp run

test: $(STAMP)
	$(BIN)/pytest

# `dg dev` loads the code location `[tool.dg]` in pyproject.toml names (the one
# workspace.yaml gives `dagster dev`), with this checkout's environment.
ui: $(STAMP) dagster-home
	VIRTUAL_ENV=$(CURDIR)/.venv CDP_START_DATE=$${CDP_START_DATE:-$(DEMO_START)} $(BIN)/dg dev

lint: $(STAMP)
	$(BIN)/ruff check cdp_platform cdp_platform_tests benchmarks
	$(BIN)/ruff format --check cdp_platform cdp_platform_tests benchmarks
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format cdp_platform cdp_platform_tests benchmarks
	$(BIN)/ruff check --fix cdp_platform cdp_platform_tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/warehouse.duckdb data/warehouse.duckdb.wal data/.tmp

# One report over shared data sets: data/benchmarks/report.md and report.json.
# Each target renders docs/benchmarks.md from the reports afterwards.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.report
	$(BIN)/python -m benchmarks.faults
	$(BIN)/python -m benchmarks.figures

bench-foundation: $(STAMP)
	$(BIN)/python -m benchmarks.foundation
	$(BIN)/python -m benchmarks.figures

bench-identity: $(STAMP)
	$(BIN)/python -m benchmarks.identity
	$(BIN)/python -m benchmarks.figures

bench-profiles: $(STAMP)
	$(BIN)/python -m benchmarks.profiles
	$(BIN)/python -m benchmarks.figures

bench-segments: $(STAMP)
	$(BIN)/python -m benchmarks.segments
	$(BIN)/python -m benchmarks.figures

bench-activation: $(STAMP)
	$(BIN)/python -m benchmarks.activation
	$(BIN)/python -m benchmarks.figures

# Lost, duplicated and sent-without-consent records per injected fault: data/benchmarks/faults.json.
bench-faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults
	$(BIN)/python -m benchmarks.figures
