# rxrego: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
include toolchain.env
export RXREGO_TOOLS := $(CURDIR)/.tools

.PHONY: run test bench setup tools venv check-rego clean help

help:
	@echo "make run    set up, then check specs, generate Rego, lint it and run conformance"
	@echo "make test   set up, then run every test"
	@echo "make bench  set up, then run the benchmarks (long)"

setup: venv tools

# The venv is rebuilt only when pyproject.toml changes.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

tools:
	@scripts/install-tools

run: setup
	$(BIN)/rxrego run

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
