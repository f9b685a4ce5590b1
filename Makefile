# The two commands of README.md: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: book test lint env lab lock refresh-outputs clean

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

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

env: $(STAMP)

# Re-created whenever the pins or the package metadata change. Every file pip takes must
# match a sha256 of the lock (--require-hashes); the package itself is the checkout.
PIP := python -m pip install --quiet --disable-pip-version-check
$(STAMP): requirements.txt tools/cffconvert.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP) --require-hashes -r requirements.txt
	$(BIN)/$(PIP) --no-deps --no-build-isolation -e .
	test -x $(VENV)/cffconvert/bin/python || $(PYTHON) -m venv $(VENV)/cffconvert
	$(VENV)/cffconvert/bin/$(PIP) --require-hashes -r tools/cffconvert.txt
	touch $@

# JupyterLab on the notebooks, with the kernel of .venv (which has the package).
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Re-resolve the full locks (with the sha256 of every file) from requirements.in and
# tools/cffconvert.in; pins already in a lock are kept unless the .in file asks otherwise.
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	--no-emit-find-links --strip-extras
lock: $(STAMP)
	$(COMPILE) --output-file requirements.txt requirements.in
	$(COMPILE) --output-file tools/cffconvert.txt tools/cffconvert.in
	$(BIN)/python tools/sync_environment.py

# Re-execute the notebooks and keep only the verdict outputs that nbval compares.
refresh-outputs: $(STAMP)
	$(BIN)/python tools/refresh_outputs.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
