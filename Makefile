# RCP Tracker: `make run` to try it, `make test` to check it.

SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app tracker
INSTALLED := $(VENV)/.installed
PO := $(wildcard tracker/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: install run test lint check-migrations dependencies lock advisories pytest bench i18n clean

install: $(INSTALLED) $(MO)

# Reinstalled only when the dependencies change.
$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

%.mo: %.po $(INSTALLED)
	@$(BIN)/pybabel compile --statistics -i $< -o $@

# The web server and, beside it, the one scheduler process (background jobs).
run: install
	@$(FLASK) db upgrade
	@$(FLASK) seed-demo --if-empty
	@echo "RCP Tracker: http://127.0.0.1:$(PORT)  (Ctrl-C stops the web server and the scheduler)"
	@$(FLASK) scheduler run & scheduler=$$!; \
	  trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
	  TRACKER_BASE_URL=$${TRACKER_BASE_URL:-http://127.0.0.1:$(PORT)} \
	    $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install lint check-migrations dependencies pytest

lint: $(INSTALLED)
	$(BIN)/ruff check tracker tests migrations bench security wsgi.py
	$(BIN)/ruff format --check tracker tests bench security wsgi.py
	@# Security linter: no finding of medium or high severity.
	$(BIN)/bandit -q -r tracker --severity-level medium
	@# Types: strict on the rules, a baseline elsewhere (pyproject.toml); incremental.
	$(BIN)/mypy

# The models and the migrations must describe the same schema.
check-migrations: $(INSTALLED)
	@tmp=$$(mktemp -d) && \
	  TRACKER_ENV=testing TRACKER_SECRET_KEY=check TRACKER_DATABASE_URL=sqlite:///$$tmp/check.db \
	  bash -c 'set -o pipefail; $(FLASK) db upgrade >/dev/null 2>&1 && \
	    $(FLASK) db check 2>&1 | grep -v "^INFO "'; \
	  status=$$?; rm -rf "$$tmp"; exit $$status

# The pinned production dependencies (requirements.lock) against the PyPA
# advisory database shipped in security/advisories.json: no network needed.
dependencies: $(INSTALLED)
	@$(BIN)/python security/check_dependencies.py

# After changing the dependencies in pyproject.toml: pin them again, with hashes.
lock: $(INSTALLED)
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	  --index-url https://pypi.org/simple --quiet -o requirements.lock

# Refresh the advisories from a checkout of github.com/pypa/advisory-database.
advisories: $(INSTALLED)
	@test -n "$(ADVISORY_DB)" || { echo "make advisories ADVISORY_DB=<checkout of pypa/advisory-database>"; exit 2; }
	$(BIN)/python security/check_dependencies.py refresh "$(ADVISORY_DB)"

pytest: install
	$(BIN)/pytest -q
	@command -v chromium >/dev/null 2>&1 || \
	  echo "(Chromium is not installed: the browser journeys were SKIPPED; apt-get install chromium)"
	@if [ -n "$$TRACKER_TEST_DATABASE_URL" ]; then \
	  echo "== The same suite on $$TRACKER_TEST_DATABASE_URL"; \
	  $(BIN)/pytest -q --db-url "$$TRACKER_TEST_DATABASE_URL"; \
	else \
	  echo "(TRACKER_TEST_DATABASE_URL is not set: PostgreSQL run skipped)"; \
	fi

# After changing visible text: refresh the catalogue, then translate the new entries.
# Times the pages people live on at 1,000 and 100,000 cases (databases cached
# in bench/cache/); TRACKER_BENCH_DATABASE_URL runs it on PostgreSQL as well.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

i18n: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output \
	  --project "RCP Tracker" -o tracker/translations/messages.pot .
	$(BIN)/pybabel update -i tracker/translations/messages.pot -d tracker/translations \
	  --width 100 --ignore-obsolete
	@# French typography (apostrophes, non-breaking spaces), by the function the |typo filter uses.
	$(BIN)/python -m tracker.core.french_catalogue

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache $(MO)
