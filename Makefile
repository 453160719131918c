# liqmap: `make demo` builds everything offline; `make test` runs the whole test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint dev browser bench clean

$(BIN)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.dev: $(BIN)/.base
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

## demo: install, generate the synthetic market, backfill a year, run the model, build site/
demo: $(BIN)/.base
	$(BIN)/liqmap run

## test: install dev tools and Chromium, lint, run every test
test: $(BIN)/.dev browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -ra

lint: $(BIN)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## dev: Dagster UI + daemon on http://127.0.0.1:3000 with DAGSTER_HOME=.dagster_home
dev: $(BIN)/.base
	$(BIN)/liqmap dev

browser:
	bash scripts/ensure-chromium.sh

bench: $(BIN)/.dev
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/model.py
	$(BIN)/python benchmarks/site.py
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf data site/* .dagster_home test-artifacts
