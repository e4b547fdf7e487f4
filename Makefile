# Two commands on a fresh machine: `make run` serves the demo practice,
# `make test` runs the whole suite (on SQLite, and on PostgreSQL when it answers).

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
CALLCENTER_HOME ?= $(CURDIR)/instance
export CALLCENTER_HOME
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run test lint format fuzz bench bench-crypto bench-webhooks bench-understanding lock audit screenshots journeys clean

$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

# Re-pin every dependency after changing pyproject.toml (a fresh virtualenv, then freeze).
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test,postgres]'
	{ echo "# Pinned versions of every dependency (make uses them as constraints)."; \
	  echo "# Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

# Known vulnerabilities in the pinned versions (needs access to PyPI's advisory data).
audit: $(VENV)/.installed
	$(PY) -m pip install --quiet pip-audit
	$(BIN)/pip-audit --strict -r requirements.lock

run: $(VENV)/.installed
	@test -f "$(CALLCENTER_HOME)/settings.yaml" || $(BIN)/callcenter init --demo
	$(BIN)/callcenter serve

# One pytest-xdist worker per CPU; PYTEST_ARGS="-n 0" runs the suite in one process.
test: $(VENV)/.installed
	@if $(PY) -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL answers: the suite runs on SQLite and PostgreSQL"; \
		TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -n auto $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL does not answer: the suite runs on SQLite only"; \
		$(BIN)/pytest -n auto $(PYTEST_ARGS); \
	fi

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A longer budget for the property-based tests of every webhook (make test runs a short one).
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=500 $(MAKE) test PYTEST_ARGS="tests/web/twilio/test_fuzz.py"

bench: bench-crypto bench-webhooks bench-understanding

bench-crypto: $(VENV)/.installed
	$(PY) bench/bench_crypto.py

bench-webhooks: $(VENV)/.installed
	$(PY) bench/bench_webhooks.py

bench-understanding: $(VENV)/.installed
	$(PY) bench/bench_understanding.py

# What callers hear on every journey (docs/journeys.md), from calls on the demo practice.
journeys: $(VENV)/.installed
	$(PY) docs/journeys.py

# The console's screenshots in docs/console.md (docs/screenshots/), through Debian's Chromium.
screenshots: $(VENV)/.installed
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
