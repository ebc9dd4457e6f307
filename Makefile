# Two commands on a fresh clone: `make run` (the service, embedded) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned: our machines install its CPU build from local files, and an
	# unpinned resolve would fetch gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/labelaudit serve --demo

test: $(STAMP)
	$(BIN)/pytest -q

# The quick loop while working: every test but those marked slow (pyproject.toml says which).
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy labelaudit service worker formats

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench.detect
