# Cairn: `make run` starts the app on embedded SQLite; `make test` runs the whole suite;
# `make bench` runs the benchmarks (not part of `make test`).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ASSETS := node_modules/.installed-stamp
DESIGNER := web/static/design/designer.js
DESIGNER_SOURCES := $(shell find web/design/src web/dashboards/src -type f 2>/dev/null) vite.config.mjs
DASHBOARDS := web/static/dashboards/dashboards.js
DASHBOARDS_SOURCES := $(shell find web/dashboards/src -type f 2>/dev/null) vite.dashboards.mjs

.PHONY: setup run test lint bench worker beat clean

# PostgreSQL server the benchmarks create (and drop) their own scratch database on.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Cairn needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

# The designer island: Vue + SortableJS + CodeMirror from node_modules, bundled by Vite.
$(DESIGNER): $(ASSETS) $(DESIGNER_SOURCES)
	npx vite build --logLevel warn

# The dashboard pages' script: Apache ECharts (core + the charts used) from node_modules.
$(DASHBOARDS): $(ASSETS) $(DASHBOARDS_SOURCES)
	npx vite build --config vite.dashboards.mjs --logLevel warn

setup: $(STAMP) $(ASSETS) $(DESIGNER) $(DASHBOARDS)

run: setup
	$(BIN)/cairn init-db
	$(BIN)/cairn run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: setup lint
	npx vitest run
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25

bench: setup
	@echo "machine: $$(nproc) cores, $$(uname -sr), $$(psql --version 2>/dev/null || echo 'psql not found'), load average $$(cut -d' ' -f1-3 /proc/loadavg)"
	$(BIN)/python tests/bench/bench_http_create.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python tests/bench/bench_lists.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python tests/bench/bench_dashboards.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python tests/bench/bench_sweep.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python tests/bench/bench_expressions.py
	$(BIN)/python tests/bench/bench_automation.py --database-url $(BENCH_DATABASE_URL) --writes 500
	$(BIN)/python tests/bench/bench_designer_open.py

worker: setup
	$(BIN)/cairn worker

beat: setup
	$(BIN)/cairn beat

clean:
	rm -rf $(VENV) node_modules instance web/static/design web/static/dashboards
