# Partner Portal. On a fresh clone `make run` needs nothing but Python 3.11 (python3.11 or
# python3): it builds .venv, prepares the SQLite database and demo data, and starts the portal,
# localstripe and a Celery worker with beat (scripts/dev.py).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# make run's ports: the web server's and localstripe's (scripts/dev.py derives SITE_URL,
# STRIPE_API_BASE, STRIPE_JS_URL and the webhook target from them).
PORT ?= 8000
STRIPE_PORT ?= 8420
VENV := .venv
BIN := $(VENV)/bin
# Installing is slow; the stamp makes it happen again only when pyproject.toml changes.
VENV_STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv run test lint migrations-check messages

help:
	@echo "make run               portal on http://127.0.0.1:8000/ with localstripe and a worker"
	@echo "                       (other ports: make run PORT=8123 STRIPE_PORT=8433)"
	@echo "make test ARGS='...'   pytest (e.g. ARGS='-m \"not browser\" -x')"
	@echo "                       in TEST_WORKERS processes (3; TEST_WORKERS=0: one, for pdb)"
	@echo "make lint              ruff check, ruff format --check, and the import layers (lint-imports)"
	@echo "make migrations-check  fail when a model change has no migration"
	@echo "make venv              (re)build .venv when pyproject.toml changed"
	@echo "make messages          extract strings into locale/es and compile the catalog (gettext)"

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "$(VENV) is not Python 3.11; remove it, then run make with PYTHON=/path/to/python3.11"; \
		exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

# Development settings (DEBUG=1) for every command of this target, the servers included.
run: export DEBUG := 1
run: venv
	@# A taken port stops here, before migrating, with a sentence rather than a traceback.
	@$(BIN)/python scripts/dev.py --check-ports --port $(PORT) --stripe-port $(STRIPE_PORT)
	@mkdir -p "$${VAR_DIR:-var}"
	$(BIN)/python manage.py migrate --noinput
	@# Translations are compiled only when gettext is installed and there is something to compile.
	@if command -v msgfmt >/dev/null 2>&1 && \
		[ -n "$$(find . \( -path ./.venv -o -path ./var \) -prune -o -name '*.po' -print -quit)" ]; then \
		$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var; \
	else \
		echo "compilemessages skipped (no msgfmt or no .po files)"; \
	fi
	@# seed_demo runs inside dev.py (--seed), once localstripe and the web server answer: it
	@# saves Fabrikam's card in localstripe, whose webhooks go to the web server.
	exec $(BIN)/python scripts/dev.py --seed --port $(PORT) --stripe-port $(STRIPE_PORT)

# Tests need no DEBUG: settings detect pytest (TESTING). Three worker processes: much of the
# suite waits on a browser, a Celery worker or localstripe, so three keep two cores busy; each has
# its own test database, localstripe and Chromium. TEST_WORKERS=0 runs in this process (pdb).
TEST_WORKERS ?= 3
test: venv
	$(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --dist loadgroup $(ARGS)

# RUFF_FORMAT_CHECK=no skips the format check (for a quick local lint of work in progress).
RUFF_FORMAT_CHECK ?= yes

# lint-imports checks the contracts in pyproject.toml ([tool.importlinter]): every import between
# our packages points down partnerportal → support → billing → offers → membership → core.
lint: venv
	$(BIN)/ruff check .
ifneq ($(RUFF_FORMAT_CHECK),no)
	$(BIN)/ruff format --check .
endif
	$(BIN)/lint-imports

migrations-check: venv
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Translators' loop: extract new strings, translate them in locale/es/LC_MESSAGES/django.po, then
# run it again to compile. The compiled .mo is committed, so a fresh clone shows Spanish without
# gettext; tests/i18n/test_catalog.py fails when the .mo is stale or a message is untranslated.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=bench --ignore=scripts --ignore=tests --ignore=docs

messages: venv
	DEBUG=1 $(BIN)/python manage.py makemessages -l es $(MESSAGES_IGNORE) --no-obsolete
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var
