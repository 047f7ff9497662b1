# Downhill: every command a reader, a learner or CI needs. Each target creates .venv
# on first use and installs the versions pinned in requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TIMER := $(BIN)/python tests/timings.py
# Built and tested notebooks have no one watching: progress bars stay quiet there, and every
# claim that does not hold stops the run (DOWNHILL_STRICT=1, see gdlab.claims).

.PHONY: book test lab bench clean help exercises grade autograder

help:
	@echo "make book   build the HTML book into _build/html (warnings are errors; notebooks whose code"
	@echo "           is unchanged come from the execution cache, _build/.jupyter_cache)"
	@echo "make test   run the whole test suite (units, notebooks, full book build, lint, types)"
	@echo "make lab    open the course in JupyterLab"
	@echo "make bench  measure the speed targets into _build/bench.json"
	@echo "make clean  remove _build (keeps .venv)"
	@echo "make exercises [FORCE=1]             regenerate exercises/ from the masters in solutions/"
	@echo "make grade SUBMISSIONS=dir [OUT=f]   grade a folder of submitted notebooks into a CSV"
	@echo "make autograder [STEMS=\"01_loss_shapes ...\"]  otter's autograder zips (Gradescope, otter run) under _build/grading/"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Browser assets the book serves itself (require.js, the widget manager, MathJax), pinned
# in package-lock.json.
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The execution cache (_config.yml) keys a notebook on its code cells alone: a change to gdlab
# or to a pinned version empties it, and Sphinx's saved pages with it, so all is run again.
# A page that prints a failed claim (cached by a build without DOWNHILL_STRICT) fails the build.
BOOK_CACHE := _build/.jupyter_cache
$(BOOK_CACHE).stamp: $(shell find shared/gdlab -name '*.py' -o -name '*.js') requirements.txt
	rm -rf $(BOOK_CACHE) _build/.doctrees
	@mkdir -p _build && touch $@

book: $(STAMP) $(NODE_STAMP) $(BOOK_CACHE).stamp
	@$(TIMER) start book
	DOWNHILL_STRICT=1 GDLAB_QUIET=1 $(BIN)/jupyter-book build . --warningiserror --keep-going
	@if grep -rl "Claim not met" _build/html --include='*.html'; then \
	  echo "these pages show claims that do not hold: rm -rf $(BOOK_CACHE) and run make book"; exit 1; fi
	@$(TIMER) stop book

test: $(STAMP) $(NODE_STAMP)
	@$(TIMER) start test
	DOWNHILL_STRICT=1 GDLAB_QUIET=1 $(BIN)/python -m pytest
	@$(TIMER) stop test

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=.

# The peers gdlab is raced against, for the benchmark only (pinned in requirements-bench.txt;
# --no-deps: what they import is already pinned in requirements.txt).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(NODE_STAMP) $(BENCH_STAMP)
	DOWNHILL_STRICT=1 GDLAB_QUIET=1 $(BIN)/python tests/bench.py

# Learner notebooks from their otter masters; a notebook a learner changed is kept unless FORCE=1.
exercises: $(STAMP)
	$(BIN)/python exercises/generate.py $(if $(FORCE),--force)

# Public and hidden tests, no Docker, two notebooks at a time, each in a process and folder of its own;
# CSV defaults to SUBMISSIONS/grades.csv.
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder-of-notebooks [OUT=grades.csv]"; exit 2; }
	GDLAB_QUIET=1 $(BIN)/python exercises/grade.py "$(SUBMISSIONS)" $(if $(OUT),--out "$(OUT)")

# otter's autograder zip of every exercise (or of STEMS), for Gradescope or `otter run`/`otter grade`:
# hidden tests inside, the course's requirements pinned; written to _build/grading/NN_topic/autograder.zip.
autograder: $(STAMP)
	GDLAB_QUIET=1 $(BIN)/python exercises/grade.py --autograders $(STEMS)

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
