# rxrego: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
export RXREGO_TOOLS := $(CURDIR)/.tools
# Wheels of rxrego's dependencies at their tested versions: tests/test_packaging.py installs
# the built rxrego wheel from here into fresh venvs without asking the package index.
WHEELHOUSE := $(VENV)/wheelhouse

.PHONY: run test bench setup tools venv system-deps bench-deps clean help

help:
	@echo "make run    set up, then check specs, generate Rego, lint it and run conformance"
	@echo "make test   set up, then run every test"
	@echo "make bench  set up, then run the benchmarks (long)"

setup: venv tools system-deps

# The venv is rebuilt only when pyproject.toml or constraints.txt changes. constraints.txt
# holds the tested version of every package, so a fresh machine installs those.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt --upgrade pip setuptools
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/pip wheel --quiet --no-build-isolation -c constraints.txt -w $(WHEELHOUSE) '.[tools,async]'
	rm -f $(WHEELHOUSE)/rxrego-*.whl
	touch $@

# tests/test_topology.py serves bundles with Debian's nginx to three OPA sidecars, and
# tests/test_studio.py drives the studio in Debian's headless chromium; as root they are
# installed when missing.
system-deps:
	@scripts/ensure-debian-package nginx "tests/test_topology.py serves bundles with it" nginx-light nginx
	@scripts/ensure-debian-package chromium "tests/test_studio.py drives the studio in it" chromium

# The pinned OPA and Regal (generator/rxrego/toolchain.env), built into .tools/bin.
tools: venv
	@$(BIN)/rxrego install-tools

# `make run` needs only the venv and the pinned OPA and Regal; nginx and chromium are for tests.
run: venv tools
	$(BIN)/rxrego run

# Two workers (pytest-xdist), idle tests handed to whichever is free: most tests wait on an
# OPA or Regal process. PYTEST_ARGS="-n 0" runs them in one process.
PYTEST_ARGS ?= -n 2 --dist worksteal

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The differential test's larger run: fresh random requests, BENCH_DIFF_REQUESTS per policy.
BENCH_DIFF_REQUESTS ?= 20000

bench: setup bench-deps $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)
	RXREGO_DIFF_REQUESTS=$(BENCH_DIFF_REQUESTS) HYPOTHESIS_PROFILE=rxrego-differential-random \
		$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_differential.py -k rego_and_reference

# The scale plot (bench/scale.png) needs matplotlib, pinned in the bench extra.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

# B4 compares the client with wrk, a compiled HTTP load generator from Debian's packages;
# without it B4 falls back to ab, or reports the raw side as not measured.
bench-deps:
	@scripts/ensure-debian-package wrk "benchmark B4 compares the client with it" wrk
