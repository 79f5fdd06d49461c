# Set-up, the main job, tests and benchmarks. Every target creates .venv and installs
# what it needs from this repo's own files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests and benchmarks pin their thread count (the machines have 2 cores).
THREADS ?= 2
export NUMBA_NUM_THREADS := $(THREADS)

# The main job: the paper's BFF soup (2^17 programs of 64 bytes, mutation 1/4096)
# with a seed that transitions early, run until replicators have taken over.
RUN_DIR ?= runs/main
RUN_SEED ?= 8
RUN_FLAGS := --lang bff_noheads --num 131072 --seed $(RUN_SEED) \
	--mutation-prob 0.000244140625 --stopping-entropy 3 --out $(RUN_DIR)

.PHONY: install run test lint format bench clean

install: $(STAMP)

$(STAMP): Makefile requirements-dev.txt packages/complife/pyproject.toml \
		packages/mlayer/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --disable-pip-version-check -r requirements-dev.txt \
		-e 'packages/complife[test]' -e 'packages/mlayer[test]'
	touch $@

run: $(STAMP)
	@if [ -f $(RUN_DIR)/config.json ]; then \
		echo "continuing $(RUN_DIR) (remove it to start over)"; \
		$(BIN)/complife run --out $(RUN_DIR) --resume; \
	else \
		$(BIN)/complife run $(RUN_FLAGS); \
	fi

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest -q packages/complife/tests
	$(BIN)/pytest -q packages/mlayer/tests

bench: $(STAMP)
	$(BIN)/python -m complife.bench
	$(BIN)/python -m mlayer.bench

clean:
	rm -rf $(VENV)
