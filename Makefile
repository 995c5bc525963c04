# Two commands for a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Tests run on PostgreSQL (the CI machine's 127.0.0.1:5432, user postgres, trust auth).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/options_platform
PYTEST_ARGS ?=

.PHONY: run test install lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## make run: the embedded default (SQLite, paper broker, demo data, web + worker + beat) on http://127.0.0.1:8000
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_calendar
	$(PY) manage.py load_instruments
	$(PY) manage.py install_schedule
	$(PY) manage.py demo
	$(PY) manage.py run_platform

## make test: lint, migrations check, system check, then the whole suite on PostgreSQL
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) tests/benchmarks/api_latency.py

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles
