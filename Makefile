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

.PHONY: run test install install-test migrate clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make run: install, migrate, load reference data, create the first admin, serve with gunicorn
## and the background workers (search indexer), supervised by intranet.serve.
# Links in e-mails and calendars use the address we listen on, unless INTRANET_BASE_URL is given.
run: export INTRANET_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/intranet bootstrap
	@echo "Intranet : $(INTRANET_BASE_URL)  (données dans $(INTRANET_DATA_DIR))"
	$(BIN)/python -m intranet.serve --bind $(HOST):$(PORT) --workers $(WORKERS)

## make test: install the test dependencies and run the whole suite.
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: install
	$(BIN)/intranet db upgrade

clean-venv:
	rm -rf $(VENV)
