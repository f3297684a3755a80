# rxrego: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
include toolchain.env
export RXREGO_TOOLS := $(CURDIR)/.tools

.PHONY: run test bench setup tools venv system-deps bench-deps clean help

help:
	@echo "make run    set up, then check specs, generate Rego, lint it and run conformance"
	@echo "make test   set up, then run every test"
	@echo "make bench  set up, then run the benchmarks (long)"

setup: venv tools system-deps

# The venv is rebuilt only when pyproject.toml changes.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# tests/test_topology.py serves bundles with Debian's nginx (a bundle server for three OPA
# sidecars). As root (CI, the dev machines) it is installed when missing: nginx-light, or
# nginx where that is the package the release has; otherwise this only says what to install.
# Debian may start the packaged nginx on port 80 on install: it is stopped again (the test
# runs its own nginx on a loopback port with its own config).
system-deps:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "system-deps: nginx is missing (tests/test_topology.py needs it): run 'apt-get install -y nginx-light' (or nginx) as root"; \
		exit 0; \
	fi; \
	echo "system-deps: installing nginx (for tests/test_topology.py)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq || true; \
	pkg=; for p in nginx-light nginx; do \
		if apt-cache policy $$p 2>/dev/null | grep -q 'Candidate: [0-9]'; then pkg=$$p; break; fi; \
	done; \
	{ [ -n "$$pkg" ] && apt-get install -y -qq --no-install-recommends $$pkg >/dev/null; } \
		|| apt-get install -y -qq --no-install-recommends nginx >/dev/null \
		|| echo "system-deps: could not install nginx; tests/test_topology.py fails in CI without it"; \
	service nginx stop >/dev/null 2>&1 || true; \
	if command -v nginx >/dev/null 2>&1; then nginx -v; fi

tools:
	@scripts/install-tools

run: setup
	$(BIN)/rxrego run

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup bench-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# B4 compares the client with wrk, a compiled HTTP load generator from Debian's packages,
# installed here when missing (as root); elsewhere this says what to install and B4 falls
# back to ab, or reports the raw side as not measured.
bench-deps:
	@if command -v wrk >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "bench-deps: wrk is missing (benchmark B4 needs it): run 'apt-get install -y wrk' as root"; \
		exit 0; \
	fi; \
	echo "bench-deps: installing wrk (for benchmark B4)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq || true; \
	apt-get install -y -qq --no-install-recommends wrk >/dev/null \
		|| echo "bench-deps: could not install wrk; B4 reports its raw side as not measured"

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
