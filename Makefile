# Betaalreis developer commands. `make demo` and `make test` do all set-up.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export BETAALREIS_HOME ?= $(CURDIR)/var

.PHONY: install chromium demo test test-sqlite test-postgres screenshots bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	mkdir -p "$(BETAALREIS_HOME)"
	$(BIN)/betaalreis migrate --noinput -v 0
	$(BIN)/betaalreis demo

# The browser tests drive Debian's chromium; as root it is installed here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "chromium is missing: install it (apt-get install chromium) for the browser tests."; fi; }

# The suite runs on SQLite, then again on PostgreSQL when DATABASE_URL names one.
test: install chromium
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "DATABASE_URL is not set: skipped the PostgreSQL run."; fi

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest -n 2 -q

test-postgres: install
	$(BIN)/pytest -n 2 -q

# The browser tests save their screenshots in a temporary folder; this target saves them to docs/screenshots.
screenshots: install chromium
	env -u DATABASE_URL BETAALREIS_REFRESH_SCREENSHOTS=1 $(BIN)/pytest -q betaalreis/portal/tests/test_browser.py

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache
