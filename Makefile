# `make demo` builds the bundled default corpus offline; `make test` runs the suite.
# Both create .venv with the system python3 and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_SPEC := corpora/alignment-faking-helpful-only
DEMO_OUT := out/alignment-faking-helpful-only
# tests/test_report.py drives Debian's chromium; a fresh CI machine may not have it yet.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast bench bench-quick rehearse-real-model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the packaging changes.
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/sdfgen build $(DEMO_SPEC) -o $(DEMO_OUT)
	$(BIN)/sdfgen verify $(DEMO_OUT)
	$(BIN)/sdfgen stats $(DEMO_OUT) --plots $(DEMO_OUT)/plots
	$(BIN)/sdfgen sample $(DEMO_OUT) -n 1 --kind fact
	$(BIN)/sdfgen report $(DEMO_OUT)

# A file target: installed once, skipped whenever the browser is already there.
$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: $(VENV)/.installed-test $(CHROMIUM)
	$(BIN)/python -m pytest

# Everything but the tests marked slow (kills, Ray, browser, batch polling): the loop to run while
# editing, on two workers.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist load

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

bench-quick: $(VENV)/.installed-test
	$(BIN)/python -m bench --quick

# A real model (Gemma 3 270M under llama.cpp's server) through --backend openai; a few minutes, not in `make test`.
rehearse-real-model: $(VENV)/.installed-test
	$(BIN)/python -m bench.real_model

clean:
	rm -rf $(VENV) out build *.egg-info
