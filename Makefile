# Dataset Studio: `make run` starts the studio, `make test` runs every test.
# Both set up what they need first (virtualenv from the lock file, Debian's chromium for tests).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_PYTHON_DOWNLOADS := never
HOST ?= 127.0.0.1
PORT ?= 8000

# The services the suite runs against (PostgreSQL, Redis), started on this machine and in CI.
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} \
	DJANGO_SECRET_KEY=test-only-secret-key-not-for-production \
	STUDIO_ENCRYPTION_KEYS=dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LXRlc3Q= \
	DJANGO_SECURE_COOKIES=false HF_HUB_DISABLE_XET=1

.PHONY: run setup setup-test test test-unit test-browser worker lint format migrations clean

$(UV):
	$(PYTHON) -m pip install --user --quiet "uv==0.13.9" || $(PYTHON) -m pip install --user --quiet --break-system-packages "uv==0.13.9"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

run: setup
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

worker: setup
	$(BIN)/python manage.py rundramatiq --processes $${WORKER_PROCESSES:-2} --threads $${WORKER_THREADS:-4}

# Debian's chromium for the browser tests (never `playwright install`: no browser downloads).
setup-test: setup
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_code_shape.py
	$(TEST_ENV) $(BIN)/mypy
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/python -m pytest -p no:cacheprovider -m "not browser" tests
	$(TEST_ENV) $(BIN)/python -m pytest -p no:cacheprovider -m browser tests/e2e

test-unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest -p no:cacheprovider -m "not browser" tests

test-browser: setup-test
	$(TEST_ENV) $(BIN)/python -m pytest -p no:cacheprovider -m browser tests/e2e

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_code_shape.py
	$(TEST_ENV) $(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations: setup
	$(BIN)/python manage.py makemigrations

clean:
	rm -rf $(VENV) test-artifacts

# Benchmark (a script, not a test): the engine against a local fake provider, embedded and
# services mode; prints the table of docs/performance.md. BENCH_QUICK=1 for a smaller run.
.PHONY: bench
bench: setup
	$(BIN)/python -m bench.run

# Evaluation benchmark (a script, not a test): each evaluation kind over 100 000 rows end to
# end (PostgreSQL) against the bare library loop; ARGS="--rows 10000 --kinds bleu" for less,
# ARGS=--million for 1 000 000 rows of two kinds too (memory), ARGS=--judge for an LLM judge's
# share of the credential's RPM against the fake provider. See docs/performance.md.
.PHONY: bench-evaluation
bench-evaluation: setup
	$(BIN)/python -m bench.evaluation $(ARGS)

# Chaos (a script, not a test): a run of 2 000 rows in services mode while workers are killed
# and Redis and PostgreSQL restarted, on a private PostgreSQL and Redis started for it (the
# machine's are never touched); prints rows lost, calls paid twice. See docs/chaos.md.
.PHONY: chaos
chaos: setup
	$(BIN)/python -m bench.chaos
