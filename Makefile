# RNN Labs: the commands. `make lab` to study, `make test` to check everything.
PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
JUPYTER_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?= --durations=15
GRADE_ARGS ?=
STAMP_INSTALL := $(VENV)/.stamp-install
STAMP_DATA := data/generated/.stamp-data
STAMP_SYSTEM := $(VENV)/.stamp-system

.PHONY: lab test data release publish grade bench check setup clean-data

setup: $(STAMP_SYSTEM) $(STAMP_INSTALL) $(STAMP_DATA)

# The grading sandbox's system tool: bubblewrap (Debian/Ubuntu package). Installed with apt-get
# when we are root and have it; elsewhere (macOS, no root) a warning says what is not protected.
$(STAMP_SYSTEM):
	@if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	fi
	@if command -v bwrap >/dev/null 2>&1; then mkdir -p $(@D) && touch $@; else \
	  echo "WARNING: bubblewrap (bwrap) is not installed: the grader will run student code" \
	       "without filesystem and network isolation. Install it (Debian/Ubuntu:" \
	       "sudo apt-get install bubblewrap); see docs/instructors.md."; fi

$(VENV)/bin/python:
	$(PYTHON_SYSTEM) -m venv $(VENV)

# Installs the helper package (editable) with every extra, pinned by constraints.txt.
$(STAMP_INSTALL): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[lab,keras,grader,dev]'
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

# A students' edition for its own repository: make publish DEST=../rnn-labs [EDITION=self-study]
EDITION ?= class
publish: $(STAMP_INSTALL)
	@test -n "$(DEST)" || { echo "say where: make publish DEST=<checkout of the students' repository>"; exit 2; }
	$(PY) -m grader publish $(DEST) --edition $(EDITION)

# e.g. make grade GRADE_ARGS="submissions.zip --jobs 2" (default: the bundled examples)
grade: setup
	$(PY) -m grader grade $(GRADE_ARGS)

bench: setup
	$(PY) -m bench

check: $(STAMP_INSTALL)
	$(VENV)/bin/ruff check rnnlab grader tests bench
	$(VENV)/bin/nbqa ruff solutions labs --ignore=E402,F401,F811,F821
	$(PY) -m grader check-outputs

clean-data:
	rm -rf data/generated
