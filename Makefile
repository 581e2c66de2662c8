# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install demo test lint format sandbox bench bench-calls bench-api clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## Provision a demo lecture and laboratory course against the in-process sandbox (SQLite, no services).
demo: install
	$(PY) manage.py migrate --noinput --verbosity 0
	$(PY) manage.py demo

## Lint, then the whole test suite (SQLite by default; PostgreSQL and Redis when DATABASE_URL/E2E_* are set).
test: install lint
	$(VENV)/bin/pytest
	@if [ -n "$$DATABASE_URL" ] && [ "$${DATABASE_URL#sqlite}" = "$$DATABASE_URL" ]; then \
		echo "== the embedded default's own tests, on SQLite"; \
		env -u DATABASE_URL $(VENV)/bin/pytest -m sqlite; \
	fi

## Style, the layout's import rules (pyproject's [tool.importlinter]) and static types (mypy).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmark: Discord and GitHub reads/writes per course, first run and re-run.
bench-calls: install
	$(PY) benchmarks/calls_per_course.py

## Benchmark: API throughput and p50/p99 latency under gunicorn (needs DATABASE_URL on PostgreSQL).
bench-api: install
	$(PY) benchmarks/api_bench.py

## Benchmark: 50 courses through the API, workers on Redis, against the sandbox's scaled-down
## limits; wall time against the limits' bound, calls per course, a plot in artifacts/bench/
## (needs DATABASE_URL on PostgreSQL and Redis at BENCH_REDIS_URL, default 127.0.0.1:6379/14).
## BENCH_PROTECTION_MODE=branch (default) or ruleset: the workers' GITHUB_PROTECTION_MODE, and
## the writes the bound counts (5 per repository, or 4 plus the semester's ruleset).
bench: install
	$(PY) benchmarks/provisioning_bench.py

## Serve the sandbox standalone on port 8001.
sandbox: install
	$(PY) manage.py run_sandbox --port 8001

clean:
	rm -rf $(VENV) db.sqlite3 test-db.sqlite3 artifacts
