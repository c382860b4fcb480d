# The two commands a newcomer types: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgresql browser-deps lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hub demo

# The whole suite on SQLite, then the hub's tests again on PostgreSQL (127.0.0.1:5432, trust
# auth, database `test`; each hub under test gets a fresh database). HUB_SKIP_POSTGRES=1 skips
# the second pass on a machine without PostgreSQL.
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-postgresql

test-postgresql: $(STAMP)
ifeq ($(HUB_SKIP_POSTGRES),1)
	@echo "HUB_SKIP_POSTGRES=1: the PostgreSQL pass is skipped"
else
	HUB_TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/hub --ignore=tests/hub/domain
endif

# The browser test (tests/browser) needs Debian's Chromium, a CJK font for the masked names and
# tests/browser/node_modules. Installed only when missing or stale. If an install fails, make goes
# on and that one test fails saying what is missing; HUB_SKIP_BROWSER=1 skips installs and test.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
BROWSER := tests/browser
NODE_STAMP := $(BROWSER)/node_modules/.installed

ifeq ($(HUB_SKIP_BROWSER),1)
browser-deps:
	@echo "HUB_SKIP_BROWSER=1: no browser installs, the browser test skips"
else
browser-deps: $(NODE_STAMP)
	@if [ ! -x $(CHROMIUM) ] || [ ! -f $(CJK_FONT) ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } \
	  || echo "browser-deps: could not install chromium; the browser test will fail" >&2; \
	fi
endif

$(NODE_STAMP): $(BROWSER)/package.json $(BROWSER)/package-lock.json
	cd $(BROWSER) && npm ci --no-audit --no-fund --loglevel=error \
	  && touch node_modules/.installed \
	  || echo "browser-deps: npm ci failed; the browser test will fail" >&2

lint: $(STAMP)
	$(BIN)/ruff check hub connectors tests
	$(BIN)/mypy hub connectors

clean:
	rm -rf $(VENV) $(BROWSER)/node_modules *.egg-info .pytest_cache .mypy_cache .ruff_cache
