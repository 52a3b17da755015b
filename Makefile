# The two commands of the README, and a few more. Everything lands in ./.venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test compose-test bench lint format install install-dev system-tools clean

demo: $(VENV)/.installed          ## service + main.py through the connector + c0 over gRPC, then stop all
	$(BIN)/python scripts/demo.py

test: $(VENV)/.installed-dev system-tools   ## the whole suite; tests start the servers they need
	$(BIN)/pytest

compose-test: $(VENV)/.installed-dev      ## docker-compose.yml for real (Docker, or podman set up by scripts/compose-engine.sh)
	$(BIN)/pytest -m compose

bench: $(VENV)/.installed-dev system-tools  ## every benchmark, JSON under bench/results/
	$(BIN)/python -m bench

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

system-tools:                     ## chromium for the dashboard test, wrk for benchmarks (Debian packages)
	scripts/ensure-system-tools.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) bench/results .pytest_cache
