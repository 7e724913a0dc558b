# devenv: `make up` starts the shipped demo, `make test` runs the tests.
# Both do every set-up step a fresh machine needs (system packages when missing, a venv, the package).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install deps deps-test up down test lint bench picture clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q devenv >/dev/null
	touch $(STAMP)

install: $(STAMP)

deps:            ## tmux (devenv drives it)
	@./scripts/sysdeps tmux

deps-test: deps  ## tmux, PostgreSQL server binaries and sqlite3 for the tests
	@./scripts/sysdeps tmux postgresql sqlite3

up: deps install
	$(BIN)/devenv -p default up

down: install
	$(BIN)/devenv -p default down

test: deps-test install
	$(BIN)/python -m pytest -q

lint: install    ## ruff on everything, mypy --strict on the package
	$(BIN)/ruff check devenv tests
	$(BIN)/mypy

bench: deps install   ## its own venv (devenv installed as users do, tmuxp); tmuxinator from the OS if it can be had
	-@./scripts/sysdeps tmuxinator
	$(BIN)/python tests/bench.py

picture: deps install  ## docs/devenv.svg, the README's picture, from a real run of the demo
	$(BIN)/python scripts/screenshot

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
