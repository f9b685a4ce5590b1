# The two commands of README.md: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: book test lint env lab lock parameters refresh-outputs refresh-golden mutation clean

# One BLAS thread per process unless the caller says otherwise: with OpenBLAS's default
# threads, a loaded 2-core machine (or the test suite's own worker processes) spent up to
# 10x the CPU time spinning (benchmarks/README.md); on an idle machine it costs at most
# about 1.5x at the smallest sizes.
export OPENBLAS_NUM_THREADS ?= 1

book: $(STAMP)
	@# --all: Sphinx would otherwise skip notebooks whose source did not change, leaving
	@# outputs that predate a change in src/ (notebooks are executed for the pages it reads).
	$(BIN)/jupyter-book build . --all --builder html -W -n --keep-going
	@echo "Book built: open file://$(CURDIR)/_build/html/index.html"

# One worker per core (pytest-xdist). The book is built once per run, by the first worker that
# needs it, and read by every worker; tests/conftest.py orders the queue, longest work first.
# Python's bytecode cache stays on even where the environment turns it off
# (PYTHONDONTWRITEBYTECODE, which some containers set): the suite starts a few hundred Python
# processes (kernels, the command line, pytest's workers), and without the cache each one
# compiles the package's modules and pytest's rewritten tests again.
test: export PYTHONDONTWRITEBYTECODE :=
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

env: $(STAMP)

# Re-created whenever the pins or the package metadata change. Every file pip takes must
# match a sha256 of the lock (--require-hashes); the package itself is the checkout.
PIP := python -m pip install --quiet --disable-pip-version-check
$(STAMP): requirements.txt tools/cffconvert.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# pip itself first, at the lock's version: the pip a new venv starts with (23.2 on Python
	@# 3.11.7) resolves the base of a package pinned with an extra, jsonschema[format-nongpl],
	@# apart from it, to a newer release than the lock's, and refuses that unhashed file.
	sed -n '/^pip==/,/# via/p' requirements.txt > $(VENV)/pip-lock.txt
	$(BIN)/$(PIP) --require-hashes -r $(VENV)/pip-lock.txt
	$(BIN)/$(PIP) --require-hashes -r requirements.txt
	$(BIN)/$(PIP) --no-deps --no-build-isolation -e .
	test -x $(VENV)/cffconvert/bin/python || $(PYTHON) -m venv $(VENV)/cffconvert
	$(VENV)/cffconvert/bin/$(PIP) --require-hashes -r tools/cffconvert.txt
	touch $@

# JupyterLab on the notebooks, with the kernel of .venv (which has the package); no news feed
# and no update check (nothing is fetched from elsewhere). Jupyter refuses to run as root
# unless told: containers often run as root.
LAB_OPTIONS := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(LAB_OPTIONS) $(if $(filter 0,$(shell id -u)),--allow-root)

# Re-resolve the full locks (with the sha256 of every file) from requirements.in and
# tools/cffconvert.in; pins already in a lock are kept unless the .in file asks otherwise.
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	--no-emit-find-links --no-strip-extras
lock: $(STAMP)
	$(COMPILE) --output-file requirements.txt requirements.in
	$(COMPILE) --output-file tools/cffconvert.txt tools/cffconvert.in
	$(BIN)/python tools/sync_environment.py

# Rewrite each claim notebook's parameters cell and notebooks/params/*_paper.yaml from the
# declarations of the experiments' parameters (tests/test_parameters_sync.py checks them).
parameters: $(STAMP)
	$(BIN)/python tools/sync_parameters.py

# Re-execute the notebooks and keep only the verdict outputs that nbval compares; the golden
# values of their claims (tests/golden/claims_ci.json) are rewritten from the same runs.
refresh-outputs: $(STAMP)
	$(BIN)/python tools/refresh_outputs.py

# Rewrite every golden value from a fresh build of the book (then review the file's diff).
refresh-golden: book
	$(BIN)/python tools/refresh_golden.py --build _build/jupyter_execute

# Mutation testing of the core numerics against the fast tests ([tool.mutmut] in
# pyproject.toml; mutants/ holds the copy and the results). Long: not part of `make test`.
mutation: $(STAMP)
	$(BIN)/mutmut run
	$(BIN)/mutmut results

clean:
	rm -rf _build .pytest_cache .ruff_cache mutants
