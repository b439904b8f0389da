# RNN Labs: the commands. `make lab` to study, `make test` to check everything.
PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
JUPYTER_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=
STAMP_INSTALL := $(VENV)/.stamp-install
STAMP_DATA := data/generated/.stamp-data

.PHONY: lab test data release grade bench check setup clean-data

setup: $(STAMP_INSTALL) $(STAMP_DATA)

$(VENV)/bin/python:
	$(PYTHON_SYSTEM) -m venv $(VENV)

# Installs the helper package (editable) with every extra, pinned by constraints.txt.
$(STAMP_INSTALL): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[keras,grader,dev]'
	touch $@

# Builds the embedded datasets (shapes scenes and what the labs derive from them).
$(STAMP_DATA): $(STAMP_INSTALL) $(wildcard rnnlab/*.py rnnlab/datasets/*.py)
	$(PY) -m rnnlab.build
	touch $@

data: $(STAMP_INSTALL)
	$(PY) -m rnnlab.build
	touch $(STAMP_DATA)

lab: setup
	mkdir -p labs
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=labs $(ROOT_FLAG) $(JUPYTER_ARGS)

test: setup
	RNNLAB_PROFILE=test $(PY) -m pytest $(PYTEST_ARGS)

release: $(STAMP_INSTALL)
	$(PY) -m grader release

grade: setup
	$(PY) -m grader grade

bench: setup
	$(PY) -m bench

check: $(STAMP_INSTALL)
	$(VENV)/bin/ruff check rnnlab grader tests bench
	$(VENV)/bin/nbqa ruff solutions labs --ignore=E402,F401,F811,F821
	$(PY) -m grader check-outputs

clean-data:
	rm -rf data/generated
