# The two commands of README.md: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: book test lint env lock refresh-outputs clean

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

# Re-created whenever the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Re-resolve the full lock from requirements.in in a scratch environment.
lock:
	rm -rf /tmp/ms-lock-venv && $(PYTHON) -m venv /tmp/ms-lock-venv
	/tmp/ms-lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ echo "# Full lock made by 'make lock' from requirements.in (Python 3.11). Do not edit by hand."; \
	  /tmp/ms-lock-venv/bin/python -m pip freeze --exclude-editable | sort -f; } > requirements.txt
	$(PYTHON) tools/sync_environment.py

# Re-execute the notebooks and keep only the verdict outputs that nbval compares.
refresh-outputs: $(STAMP)
	$(BIN)/python tools/refresh_outputs.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
