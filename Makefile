# rnnlab: `make train` sets up .venv from requirements.lock (if needed) and runs the default
# experiment; `make test` runs the test suite. ARGS=... passes Hydra overrides to train.
PYTHON ?= python3
# requirements.lock pins torch's CPU build (2.13.0+cpu). pip takes it from this machine's wheel
# cache when there is one; elsewhere it is fetched from PyTorch's CPU index (about 200 MB,
# never the multi-GB CUDA build).
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: venv train test test-slow bench lint format clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock \
	  || $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	     --extra-index-url $(TORCH_CPU_INDEX) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/rnnlab-train $(ARGS)

# Two test workers on two cores, one torch thread each (two processes with torch's default
# threads on 2 cores spin against each other). TEST_WORKERS=0 runs the tests in one process.
# `make test` leaves out the tests marked slow (long end-to-end runs: DDP spawn, spawn workers,
# SIGKILL resumes, a study stopped and resumed, a requeued job); `make test-slow` runs only those.
# CI (.ci/run) runs both. Tests in an xdist_group (those sharing a costly module or session
# fixture) stay on one worker; the others go to whichever worker is free.
TEST_WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup
test: $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

# pytest exits with 5 when it collects no test (none marked slow, or all deselected): not a failure.
test-slow: $(STAMP)
	$(PYTEST) -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]

# BENCH_ARGS=--quick: the speed, start-up and data benchmarks in brief (about 2 minutes);
# Keras joins the speed benchmark when the bench extra is installed (pip install -e '.[bench]').
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
