# EquiNav: `make run` starts the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test bench bench-small lint format check typecheck migrations-check deploy-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are stamped so that a second `make` does not reinstall anything.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The web server, a Celery worker and Celery beat together; Ctrl-C stops all three.
# With DEBUG on and nothing else set: SQLite and a SQLite Celery broker, no services (README
# "The embedded default"); the worker and beat are started again if they exit (Procfile.dev).
run: export DEBUG ?= 1
run: export EQUINAV_SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "EquiNav: http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/api/docs/)"
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho --procfile Procfile.dev start --port $(PORT)

# The suite runs in two processes (pytest-xdist, one per core of CI's 2-core machine), each
# on its own test database (test_<name>_gw0, _gw1); --dist loadfile gives a module to one
# process, so that the world a module builds once (the permission matrix's) is built once.
# Any order is safe: a transactional test's flush is followed at once by the migrations'
# seed data put back (tests/fixtures/seed_data.py). PYTEST_XDIST= (empty) runs it in one
# process; PYTEST_ARGS adds options (e.g. PYTEST_ARGS="tests/project -x"). The modules are
# handed out longest first (tests/support/scheduling.py). Last measured whole run: README,
# "make test" (9 min 40 s on 2026-12-05, 8,886 tests).
PYTEST_XDIST ?= -n 2 --dist loadfile

test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The scoreboard, on PostgreSQL (BENCH_DATABASE_URL, default a fresh equinav_bench):
# each part (referral_import, fhir, care_gaps, worklist, sweep, ecqm, equity;
# tests/benchmarks/<part>.py) in a process of its own on a fresh database, its
# figures printed beside the floor measured in the same run (COPY of the same rows,
# pgbench of the same SQL, hand-written SQL), the ratio, the issue's target and
# whether it is met; JSON with machine, versions, commit, sizes and every figure in
# .run/bench.json. BENCH_ARGS passes options: --scale small (a few minutes; full is
# the issue's sizes), --parts a,b, --json PATH, --check-queries, --write-baseline.
bench: $(VENV)/.installed-dev
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

# CI's bench: small sizes, failing if any part's query count grew past
# tests/benchmarks/baseline_queries.json (or a part failed).
bench-small: $(VENV)/.installed-dev
	$(BIN)/python tests/benchmarks/run.py --scale small --check-queries $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(VENV)/.installed-dev
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The production settings pass Django's deployment checks with no warning: DEBUG off,
# a fresh random key, a real host name, and a text provider's (placeholder) credentials
# so that the SMS check (outreach.W001) sees what production must set.
deploy-check: $(VENV)/.installed
	env -u DATABASE_URL -u REDIS_URL -u SECURE_COOKIES -u SECURE_SSL_REDIRECT \
	  -u SECURE_HSTS_SECONDS -u SECURE_HSTS_INCLUDE_SUBDOMAINS -u SECURE_PROXY_SSL_HEADER \
	  DEBUG=0 ALLOWED_HOSTS=equinav.example.org EQUINAV_RUN_DIR=$$(mktemp -d) \
	  SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  TWILIO_ACCOUNT_SID=AC-deploy-check TWILIO_AUTH_TOKEN=deploy-check EQUINAV_SMS_FROM=+16175550100 \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

check: lint migrations-check typecheck deploy-check
	DEBUG=1 $(BIN)/python manage.py check
	DEBUG=1 $(BIN)/python manage.py spectacular --fail-on-warn --validate --file /dev/null

clean:
	rm -rf $(VENV) .run db.sqlite3 staticfiles .pytest_cache .ruff_cache
