# Two commands on a fresh Debian machine with Python 3.11:
#   make run   - install into .venv (and node_modules) and start the service with the
#                simulator at http://127.0.0.1:5000
#   make test  - install, then run lint, type checks and every test (browser tests too)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
APT    := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: install run test lint typecheck pytest bench clean browsers nginx deploy-trial

$(STAMP): setup.cfg pyproject.toml
	@# Debian splits venv out of python3: install it when it is missing (needs root).
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  apt-get update -qq && $(APT) install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The browser libraries the dashboard serves (socket.io client, SIP.js), from npm.
$(NODE_STAMP): package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && $(APT) install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# Browser tests drive Debian's Chromium; the softphone test talks SIP over WebSocket to
# Kamailio. Both come from Debian's packages (never a browser download).
browsers:
	@test -x /usr/bin/chromium && command -v kamailio >/dev/null && \
	  test -f /usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so -o \
	       -f /usr/lib/aarch64-linux-gnu/kamailio/modules/websocket.so || { \
	  apt-get update -qq && $(APT) install -y -qq chromium kamailio kamailio-websocket-modules; }

# The reference deployment (deploy/README.md) puts Debian's nginx in front of the web
# workers; its test (tests/deploy/test_reference_deployment.py) needs it too.
nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && $(APT) install -y -qq nginx; }

deploy-trial: install nginx
	deploy/run

run: install
	$(BIN)/callcenter serve --simulate --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check esl_controller dashboard tests bench deploy examples
	$(BIN)/ruff format --check esl_controller dashboard tests bench deploy examples

typecheck: install
	$(BIN)/mypy

pytest: install browsers nginx
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/esl_throughput.py

clean:
	rm -rf $(VENV) node_modules *.egg-info .pytest_cache .mypy_cache .ruff_cache
