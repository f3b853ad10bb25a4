PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
# Test processes side by side (pytest-xdist); each has its own data directory and test database.
TEST_PROCESSES ?= 2

.PHONY: run test test-sqlite test-postgres lint format bench soak clean

$(BIN)/.installed: pyproject.toml $(wildcard ilios_cli/*.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[test]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/entrypoint.sh

test: $(BIN)/.installed lint test-sqlite test-postgres

# ruff, and no model change without its migration (checked on a throwaway SQLite database).
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL= $(BIN)/mypy
	scratch=$$(mktemp -d) && DATABASE_URL= ILIOS_DOTENV=false DATA_DIR=$$scratch \
		$(BIN)/python manage.py makemigrations --check --dry-run; \
		status=$$?; rm -rf "$$scratch"; exit $$status

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: $(BIN)/.installed
	scripts/ensure_chromium.sh
	scripts/ensure_tesseract.sh
	DATABASE_URL= $(BIN)/python -m pytest -n $(TEST_PROCESSES)

# The queue, API and CLI suites again, on PostgreSQL.
test-postgres: $(BIN)/.installed
	scripts/ensure_postgres.sh
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -n $(TEST_PROCESSES) tests/jobs tests/api tests/cli

bench: $(BIN)/.installed
	$(BIN)/python -m bench.run $(if $(FULL),--full,--quick)

# Three worker hosts in network namespaces on one PostgreSQL and one S3, under outages (as root;
# about five minutes; not part of `make test`).
soak: $(BIN)/.installed
	scripts/ensure_postgres.sh
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) data/test
