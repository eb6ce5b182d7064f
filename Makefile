# Squad Planner — the entry points. `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Links in the app's emails and pages follow the port (SITE_URL in config/settings.py).
export PORT

.DEFAULT_GOAL := help
.PHONY: help install install-run run reset-demo test lint format check-deploy bench lock clean

help:
	@echo "make run    set up and start Squad Planner on http://localhost:$(PORT) (SQLite, demo data)"
	@echo "make reset-demo  throw the SQLite demo database away and load the demo afresh"
	@echo "make test   set up and run the whole test suite"
	@echo "make lint   ruff check, format check and mypy (types)"
	@echo "make bench  run the benchmarks on PostgreSQL and write BENCHMARKS.md"
	@echo "make lock   re-pin the dependencies from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Running needs requirements.lock and the front-end packages; tests, lint and
# the benchmarks add the development tools (requirements-dev.lock, axe-core).
# A development install that is up to date holds everything running needs, so
# `make run` after `make test` installs nothing (and removes nothing).
$(VENV)/.installed-run: requirements.lock | $(BIN)/python
	@if [ -f $(VENV)/.installed-dev ] && [ ! requirements-dev.lock -nt $(VENV)/.installed-dev ]; then :; else \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -r requirements.lock; fi
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	@touch $@

# Front-end packages (Mermaid, CodeMirror; axe-core for the tests), pinned in package-lock.json.
# npm ci empties node_modules first, markers included, so each kind installs again when needed.
node_modules/.installed-run: package-lock.json
	@if [ -f node_modules/.installed-dev ] && [ ! package-lock.json -nt node_modules/.installed-dev ]; then :; else \
	  npm ci --omit=dev --no-audit --no-fund --loglevel=error; fi
	@touch $@

node_modules/.installed-dev: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install-run: $(VENV)/.installed-run node_modules/.installed-run

install: $(VENV)/.installed-dev node_modules/.installed-dev

run: install-run
	@$(BIN)/python manage.py migrate --noinput --verbosity 0
	@$(BIN)/python manage.py seed_demo --if-empty --no-logins
	@bash scripts/run-dev.sh

# The demo as new, on the SQLite database `make run` uses (stop `make run` first).
# A database named by DATABASE_URL is someone's data: it is left alone.
reset-demo: install-run
	@if [ -n "$${DATABASE_URL:-}" ]; then \
	  echo "DATABASE_URL is set: make reset-demo only rebuilds the SQLite demo database (db.sqlite3)."; exit 1; fi
	rm -rf db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm .celery sent-emails
	@$(BIN)/python manage.py migrate --noinput --verbosity 0
	@$(BIN)/python manage.py seed_demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The production settings, as `manage.py check --deploy` judges them.
check-deploy: install
	DJANGO_ENV=production DEBUG=false ALLOWED_HOSTS=planner.example.com \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# On PostgreSQL (BENCH_DATABASE_URL); BENCH_SIZES=10000,100000 skips the slow 1M row.
bench: install
	@command -v wrk >/dev/null || { echo "make bench needs wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/run.py

lock: install
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras \
		-o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras \
		--extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) node_modules .celery staticfiles .pytest_cache .ruff_cache
