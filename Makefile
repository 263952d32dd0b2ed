# Two commands on a fresh Debian machine with Python 3.11:
#   make run   - install into .venv and start the service with the simulator at http://127.0.0.1:5000
#   make test  - install into .venv and run lint, type checks and every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench clean

$(STAMP): setup.cfg pyproject.toml
	@# Debian splits venv out of python3: install it when it is missing (needs root).
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/callcenter serve --simulate --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check esl_controller dashboard tests bench
	$(BIN)/ruff format --check esl_controller dashboard tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/esl_throughput.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
