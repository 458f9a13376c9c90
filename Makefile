# Passeurs d'images intranet — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 3
# Two pytest workers: the suite runs every database test on SQLite and PostgreSQL.
PYTEST_ARGS ?= -n 2
export INTRANET_DATA_DIR ?= $(CURDIR)/instance

.PHONY: run test lint lock install install-test migrate clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies come from the lock files, every file checked against its hash; the project itself
# is installed on top without resolving anything (`make lock` regenerates the locks).
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-test.lock $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make lock: re-resolve pyproject.toml's dependencies into the two hashed lock files (pip-tools).
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet pip-tools
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --extra test -o requirements-test.lock pyproject.toml
	rm -rf $(VENV)-lock

## make run: install, migrate, load reference data, create the first admin, serve with gunicorn
## and the background workers (search indexer), supervised by intranet.serve.
# Links in e-mails and calendars use the address we listen on, unless INTRANET_BASE_URL is given.
run: export INTRANET_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/intranet bootstrap
	@echo "Intranet : $(INTRANET_BASE_URL)  (données dans $(INTRANET_DATA_DIR))"
	$(BIN)/python -m intranet.serve --bind $(HOST):$(PORT) --workers $(WORKERS)

## make test: install the test dependencies, check types and lint, then run the whole suite.
test: install-test lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lint: ruff over the tree, mypy (strict on documents/); both must report 0 errors.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

migrate: install
	$(BIN)/intranet db upgrade

clean-venv:
	rm -rf $(VENV)
