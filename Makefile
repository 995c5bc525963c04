# Two commands for a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Tests run on PostgreSQL (the CI machine's 127.0.0.1:5432, user postgres, trust auth).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/options_platform
PYTEST_ARGS ?=

.PHONY: run test test-shifted install install-run browser lint bench clean

# `make run` needs only what running needs (requirements.txt); `make test` adds the dev set on top.
$(VENV)/.installed-run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

install-run: $(VENV)/.installed-run
install: $(VENV)/.installed

## Debian's chromium drives the browser tests (Playwright's own browser download is not used)
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## make run: the embedded default (SQLite, paper broker, demo data, web + worker + beat) on http://127.0.0.1:8000
run: install-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_calendar
	$(PY) manage.py load_instruments
	$(PY) manage.py install_schedule
	$(PY) manage.py demo
	$(PY) manage.py run_platform

## make test: lint, migrations check, system check, then the whole suite on PostgreSQL; prints its duration.
## Another date: `make test PYTEST_ARGS=--clock=2027-02-16` (or TEST_CLOCK=2027-02-16 make test).
test: install browser
	@start=$$(date +%s); status=0; \
	{ $(VENV)/bin/ruff check . && \
	  $(VENV)/bin/ruff format --check . && \
	  DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run && \
	  DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check && \
	  DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest $(PYTEST_ARGS); } || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

## the engine's tests once more with the clock shifted (CI runs this after make test)
CLOCK ?= 2027-02-16
test-shifted: install
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest --clock=$(CLOCK) -p no:cacheprovider tests/execution tests/brokers tests/allocations

bench: install
	$(PY) tests/benchmarks/api_latency.py
	$(PY) tests/benchmarks/dispatch.py --strategies 1000
	$(PY) tests/benchmarks/feed_cycle.py

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles
