# The README's commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
PYTEST_WORKERS ?= 2
export PORT ?= 8000

.PHONY: run test lint typecheck bench loadtest hardening system-deps messages clean help

help:
	@echo "make run   - the platform on http://127.0.0.1:$(PORT) with its embedded defaults"
	@echo "make test  - the whole suite against real PostgreSQL, Redis, clamd and S3"
	@echo "make bench - the benchmarks under bench/, results in bench/RESULTS.md"
	@echo "make loadtest - the platform as in production under a locust mix, report in loadtest/RESULTS.md"
	@echo "make hardening - the full hardening tier, figures in docs/hardening.md"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# Debian packages the test suite runs for real: redis-server and clamd (and clamdscan,
# the baseline of the scan benchmark), and chromium for the browser tests (Playwright
# drives it; it cannot download its own browsers here).
system-deps:
	@if ! command -v redis-server >/dev/null || ! command -v clamd >/dev/null \
	    || ! command -v clamdscan >/dev/null || ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends redis-server clamav-daemon clamdscan chromium >/dev/null; \
	  else \
	    echo "Install redis-server, clamav-daemon (clamd), clamdscan and chromium first." >&2; \
	    exit 1; \
	  fi; \
	fi

# The compiled message catalogues (locale/*/LC_MESSAGES/django.mo; not in git).
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
messages: $(CATALOGUES)
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

run: $(STAMP) messages
	@scripts/run.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	DATABASE_URL=postgresql://unused/unused $(BIN)/mypy .

test: $(STAMP) system-deps messages lint typecheck
	TEST_PYTHON=$(BIN)/python PYTEST_WORKERS=$(PYTEST_WORKERS) \
	  $(BIN)/python scripts/test_services.py -- scripts/run_tests.sh $(PYTEST_ARGS)

bench: $(STAMP) system-deps messages
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	TEST_SERVICES_TUNING=machine $(BIN)/python scripts/test_services.py -- $(BIN)/python -m bench $(BENCH)

# The platform as in production (gunicorn, Celery worker pools, Redis, PostgreSQL with the
# benchmarks' million-item datasets) driven by locust from a second process for a bounded
# time; the report goes to loadtest/RESULTS.md. LOADTEST_ARGS: see `python -m loadtest -h`.
loadtest: $(STAMP) system-deps messages
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	TEST_SERVICES_TUNING=machine $(BIN)/python scripts/test_services.py -- $(BIN)/python -m loadtest $(LOADTEST_ARGS)

# The full tier of tests/hardening (more fuzzing examples, 20 kills per phase...); its
# figures go to docs/hardening.md. `make test` runs the fast tier and prints them.
hardening: $(STAMP) system-deps messages
	HARDENING_TIER=full TEST_PYTHON=$(BIN)/python PYTEST_WORKERS=$(PYTEST_WORKERS) \
	  $(BIN)/python scripts/test_services.py -- scripts/run_tests.sh tests/hardening
	$(BIN)/python scripts/hardening_report.py --write docs/hardening.md --command "make hardening"

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
