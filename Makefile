# liqmap: `make demo` builds everything offline; `make test` runs the whole test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Quiet installs: errors still show, version notices and progress bars do not.
PIP := $(BIN)/python -m pip install -qq --disable-pip-version-check --progress-bar off

.PHONY: demo now test lint dev status browser bench clean screenshots

$(BIN)/.base: pyproject.toml
	@echo "liqmap: installing into $(VENV) (first time: a few minutes)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip
	@$(PIP) -e .
	@touch $@

$(BIN)/.dev: $(BIN)/.base
	@echo "liqmap: installing dev tools"
	@$(PIP) -e ".[dev]"
	@touch $@

# The demo's alert rules: your alerts.toml if you wrote one, else the documented example.
DEMO_ALERTS := $(if $(wildcard alerts.toml),alerts.toml,docs/alerts.example.toml)

## demo: install, generate the synthetic market for the year ending yesterday, build everything,
## then the day in progress (offline: a local fake Binance REST and fake Bybit) and its alerts
demo: $(BIN)/.base
	@LIQMAP_ALERTS_FILE=$${LIQMAP_ALERTS_FILE:-$(DEMO_ALERTS)} $(BIN)/liqmap run
	@LIQMAP_ALERTS_FILE=$${LIQMAP_ALERTS_FILE:-$(DEMO_ALERTS)} $(BIN)/liqmap now

## now: refresh the day in progress once (nowcast, alerts, site/now/)
now: $(BIN)/.base
	@$(BIN)/liqmap now

## status: what the warehouse holds, the last run, the snapshot's age, the site's latest page
status: $(BIN)/.base
	@$(BIN)/liqmap status

# The tests' temporary folders (tmp_path) in memory where the system has a writable tmpfs
# with 4 GB free (a passing test's folder is removed when it ends, a failed one's kept;
# a container's default 64 MB /dev/shm is not used): every DuckDB checkpoint and Dagster SQLite commit there is an
# fsync, milliseconds each on a disk, longer when other work uses it (docs/testing.md).
# `make test TEST_TMP=` keeps pytest's default, the system's temporary folder.
TEST_TMP ?= $(shell test -d /dev/shm -a -w /dev/shm && \
	test "$$(df -Pk /dev/shm | awk 'NR == 2 {print $$4}')" -gt 4000000 && echo /dev/shm)

# pytest-xdist workers: both cores by default (TEST_WORKERS=3 overlaps one test's waits on
# subprocesses and Chromium with another's work; docs/testing.md)
TEST_WORKERS ?= 2

## test: install dev tools and Chromium, lint, run every test on both cores (pytest-xdist;
## tests sharing a session build run on one worker, see docs/testing.md); the 15 slowest last
test: $(BIN)/.dev browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTEST_DEBUG_TEMPROOT=$(TEST_TMP) $(BIN)/pytest -q -ra -n $(TEST_WORKERS) --dist loadgroup --max-worker-restart=0 --durations=15

lint: $(BIN)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## dev: Dagster UI + daemon on http://127.0.0.1:3000 with DAGSTER_HOME=.dagster_home
dev: $(BIN)/.base
	@$(BIN)/liqmap dev

## screenshots: docs/img/report.png and docs/img/asset-graph.png (needs a built demo + chromium)
screenshots: $(BIN)/.dev
	$(BIN)/python scripts/screenshots.py

browser:
	bash scripts/ensure-chromium.sh

bench: $(BIN)/.dev
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/model.py
	$(BIN)/python benchmarks/site.py
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/nowcast.py
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf data site/* .dagster_home test-artifacts
