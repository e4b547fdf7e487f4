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

RUNTIME := $(VENV)/.installed-runtime
TESTING := $(VENV)/.installed-test
# pip's output goes to a log, shown only when it fails: a first run prints the demo, not pip.
PIP_LOG := $(VENV)/pip.log
PIP := $(PY) -m pip install --disable-pip-version-check --no-input -c requirements.lock

# The runtime only: what `make run` needs (no pip upgrade, no test or lint tools).
$(RUNTIME): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing callcenter and its dependencies in $(VENV) (log: $(PIP_LOG))..."
	@$(PIP) -e . >$(PIP_LOG) 2>&1 || { tail -n 30 $(PIP_LOG); exit 1; }
	@touch $@

# The test and lint tools, on top of the runtime: `make test`, `make lint` and the rest.
$(TESTING): $(RUNTIME)
	@echo "Installing the test and lint tools (log: $(PIP_LOG))..."
	@$(PIP) -e '.[test]' >>$(PIP_LOG) 2>&1 || { tail -n 30 $(PIP_LOG); exit 1; }
	@touch $@

# Kept for scripts that name the old stamp: everything installed.
$(VENV)/.installed: $(TESTING)
	@touch $@

# Re-pin every dependency after changing pyproject.toml (a fresh virtualenv, then freeze).
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test,postgres]'
	{ echo "# Pinned versions of every dependency (make uses them as constraints)."; \
	  echo "# Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

# Known vulnerabilities in the pinned versions (needs access to PyPI's advisory data).
audit: $(TESTING)
	$(PY) -m pip install --quiet pip-audit
	$(BIN)/pip-audit --strict -r requirements.lock

run: $(RUNTIME)
	@test -f "$(CALLCENTER_HOME)/settings.yaml" || $(BIN)/callcenter init --demo
	@echo
	@echo "  The demo practice is served (Ctrl-C stops it); nothing it sends leaves this machine."
	@echo "  Console:  http://127.0.0.1:5000/console/"
	@echo "  Accounts: secretaire (secretary), dr-martin (doctor), admin (administrator): their"
	@echo "            passwords are printed once, by the first run (a new one: $(BIN)/callcenter users reset NAME)."
	@echo "  Second factor: at the first sign-in, scan the QR code shown with an authenticator"
	@echo "            app (FreeOTP, Aegis, Google Authenticator...), then type the 6-digit code."
	@echo "  A call (a weekday morning, whatever the hour now; from a second terminal):"
	@echo "            $(BIN)/callcenter call --from +33612345678 --at 2026-11-24T10:00:00+01:00 --press 3 --answer 1"
	@echo "  A patient's SMS reply: $(BIN)/callcenter sms --from +33612345678 ANNULER   (also OUI, STOP)"
	@echo "  Reminders, digests and the waiting list's offers: $(BIN)/callcenter worker (another terminal)."
	@echo
	@$(BIN)/callcenter serve

# One pytest-xdist worker per CPU; PYTEST_ARGS="-n 0" runs the suite in one process.
test: $(TESTING)
	@if $(PY) -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL answers: the suite runs on SQLite and PostgreSQL"; \
		TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -n auto $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL does not answer: the suite runs on SQLite only"; \
		$(BIN)/pytest -n auto $(PYTEST_ARGS); \
	fi

lint: $(TESTING)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(TESTING)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A longer budget for the property-based tests of every webhook (make test runs a short one).
fuzz: $(TESTING)
	FUZZ_EXAMPLES=500 $(MAKE) test PYTEST_ARGS="tests/web/twilio/test_fuzz.py"

bench: bench-crypto bench-webhooks bench-understanding

bench-crypto: $(TESTING)
	$(PY) bench/bench_crypto.py

# The load bench drives gunicorn with wrk (apt-get install -y wrk); about 5 minutes,
# more the first time (a million calls seeded, then kept under $$TMPDIR/callcenter-bench).
bench-webhooks: $(TESTING)
	@command -v wrk >/dev/null || { echo "bench-webhooks needs wrk: apt-get install -y wrk"; exit 1; }
	$(PY) bench/bench_webhooks.py

bench-understanding: $(TESTING)
	$(PY) bench/bench_understanding.py

# What callers hear on every journey (docs/journeys.md), from calls on the demo practice.
journeys: $(RUNTIME)
	$(PY) docs/journeys.py

# The console's screenshots in docs/console.md (docs/screenshots/), through Debian's Chromium.
screenshots: $(TESTING)
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
