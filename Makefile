# `make serve` and `make test` set everything up from nothing (a virtualenv in .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= ./oortgate-data
PYTEST_WORKERS ?= 2

.PHONY: install serve test lint typecheck unit protocol reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/oortgate serve --data-dir $(DATA_DIR)

lint: $(STAMP)
	$(BIN)/ruff check oortgate tests

typecheck: $(STAMP)
	$(BIN)/mypy --strict oortgate

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

protocol: $(STAMP)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/protocol

reliability: $(STAMP)
	$(BIN)/pytest -q tests/reliability

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --durations=15 tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
