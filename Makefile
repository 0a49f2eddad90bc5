# Lindring: `make run` serves the demo clinic, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format migrate venv system-deps screenshots clean bench audit translations extract-messages

# Debian packages: Chromium for the browser tests (Playwright drives it), wrk for make bench.
SYSTEM_PACKAGES := chromium wrk

# The virtual environment, rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

system-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1; then \
		echo "chromium and wrk are installed"; else \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq $(SYSTEM_PACKAGES); fi

# The message catalogues: the .po files are the source (in git), the .mo files are built here.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

translations: $(COMPILED)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d translations -l $* --statistics

# After changing texts in the code: collect them and add the new ones to every catalogue.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k N_ --no-location \
		--sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching \
		--ignore-obsolete

migrate: $(VENV)/.installed translations
	$(FLASK) db upgrade

run: migrate
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Refresh the README's screenshots (taken by the browser tests in docs/screenshots/).
screenshots: $(VENV)/.installed translations
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest tests/e2e -q

# Every benchmark on SQLite and PostgreSQL, one table at the end (bench/__main__.py):
# the slot search against its reference, and HTTP under gunicorn against a bare route.
# BENCH_DATABASE_URL names another PostgreSQL server; BENCH_ARGS="--quick" for a short run.
bench: $(VENV)/.installed translations system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# Known vulnerabilities in every package installed from the pinned requirements (the venv's
# own packages, dependencies of dependencies included), from the OSV database.
audit: $(VENV)/.installed
	$(BIN)/pip-audit --strict --vulnerability-service osv --skip-editable

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(COMPILED)
