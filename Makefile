# RNN Labs, the instructors' repository: `make lab` to study, `make test` to check everything.
# The set-up and `make lab` are the students' editions' Makefile, included here.
EXTRAS := lab,keras,grader,dev,scale
# The instructors' JupyterLab keeps nbgrader's instructor tools (create assignment, formgrader); the
# editions' shows students only theirs (grader/edition/jupyter/): make lab LAB_CONFIG=grader/edition/jupyter
LAB_CONFIG :=
include grader/edition/Makefile
PYTEST_ARGS ?= --durations=15
GRADE_ARGS ?=
STAMP_SYSTEM := $(VENV)/.stamp-system
# The hub's proxy (grader/hub/, tests/test_hub.py), from npm into the environment's node_modules/
PROXY_VERSION := 5.3.0
STAMP_PROXY := $(VENV)/.stamp-proxy-$(PROXY_VERSION)

.PHONY: test release publish grade formgrade bench lint clean-data

setup: $(STAMP_SYSTEM) $(STAMP_PROXY)

# The grader's system tools, from Debian/Ubuntu packages: bubblewrap (the grading sandbox),
# PostgreSQL's server (a gradebook several graders share; its tests start a throw-away one),
# Chromium with its driver (tests/test_formgrader_browser.py opens formgrader in it, headless) and
# npm (the JupyterHub proxy's installer).
# Installed with apt-get when we are root and have it; elsewhere a warning says what is missing.
$(STAMP_SYSTEM):
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing="bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
	  || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  echo "WARNING: PostgreSQL's server is not installed: the gradebook stays SQLite and its" \
	       "PostgreSQL tests are skipped (Debian/Ubuntu: sudo apt-get install postgresql)."; fi
	@if ! test -x /usr/bin/chromium || ! test -x /usr/bin/chromedriver; then \
	  echo "WARNING: Chromium or its driver is not installed: formgrader's browser tests are" \
	       "skipped (Debian: sudo apt-get install chromium chromium-driver)."; fi
	@if command -v bwrap >/dev/null 2>&1; then mkdir -p $(@D) && touch $@; else \
	  echo "WARNING: bubblewrap (bwrap) is not installed: the grader will run student code" \
	       "without filesystem and network isolation. Install it (Debian/Ubuntu:" \
	       "sudo apt-get install bubblewrap); see docs/instructors.md."; fi

# configurable-http-proxy for the class's JupyterHub: .venv/node_modules/.bin/ (settings.venv_program)
$(STAMP_PROXY): $(VENV)/bin/python | $(STAMP_SYSTEM)
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix $(VENV) --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
	    configurable-http-proxy@$(PROXY_VERSION) && touch $@; \
	else echo "WARNING: npm is not installed: no JupyterHub proxy, the hub's test is skipped" \
	  "(Debian/Ubuntu: sudo apt-get install npm)"; fi

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

# Written answers in nbgrader's formgrader: make formgrade [FORMGRADE_ARGS="--port 8890"]
formgrade: $(STAMP_INSTALL)
	$(PY) -m grader formgrade $(FORMGRADE_ARGS)

bench: setup
	$(PY) -m bench

lint: $(STAMP_INSTALL)
	$(VENV)/bin/ruff check rnnlab grader tests bench
	$(VENV)/bin/nbqa ruff solutions labs --ignore=E402,F401,F811,F821
	$(PY) -m grader check-outputs

clean-data:
	rm -rf data/generated
