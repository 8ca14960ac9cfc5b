# OneCity — see README.md. `make demo` runs the demo city; `make test` runs every check.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT ?= 8000
export ONECITY_TEST_SQLITE ?=

.PHONY: install demo test lint contracts pytest pytest-pg bench assets messages system-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json
	@$(MAKE) --no-print-directory system-deps
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(MAKE) --no-print-directory assets messages
	@rm -f $(VENV)/.installed-* && touch $@

# Debian packages the build and the browser tests need (Python 3.11 with venv, npm for the
# front-end assets, gettext for catalogs, Chromium and CJK fonts).
system-deps:
	@missing=""; \
	{ command -v $(PY) >/dev/null && $(PY) -c "import ensurepip" 2>/dev/null; } || missing="$$missing python3.11 python3.11-venv"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Front-end assets come from the npm registry at build time and are served locally.
assets:
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m onecity.core.assets

messages:
	cd onecity && ../$(BIN)/python ../manage.py compilemessages --ignore=.venv -v 0

demo: install
	$(BIN)/onecity demo --port $(PORT)

lint: install
	$(BIN)/ruff check .

contracts: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

pytest-pg: install
	@if $(BIN)/python -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then \
	  echo "PostgreSQL answers on 127.0.0.1:5432: running the database tests against it"; \
	  DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not browser" \
	    --ignore=onecity/hotline/classifier; \
	else echo "PostgreSQL is not answering on 127.0.0.1:5432: database tests ran on SQLite only"; fi

test: lint contracts pytest pytest-pg

bench: install
	@for m in bench/[a-z]*.py; do n=$$(basename $$m .py); echo "# bench.$$n"; $(BIN)/python -m bench.$$n || exit 1; done

clean:
	rm -rf $(VENV) node_modules onecity/static/vendor
